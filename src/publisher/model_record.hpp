// One record of a model, rendered from one fetched row (wording: render.hpp).
#pragma once

#include "publisher/model.hpp"
#include "wire/record_writer.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace dionysus::publisher {

// A custom serializer's result that is no record (NULL, or JSON that is not
// an object): no retry of the same row can fix it (the row is parked at
// once; a later change of the row is a new event).
struct InvalidRecord : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The record of `model` for `row`: its attributes, its has_one links then
// `many_links`, then `sideloads`; or its custom function's result as it is
// (throws InvalidRecord unless that is a JSON object).
// `attrs` and `links` are scratch vectors reused across rows.
void append_model_record(std::string& out, const Model& model, const pg::RowSet::RowRef& row,
                         std::vector<Attribute>& attrs, std::vector<Attribute>& links,
                         const std::vector<Attribute>& many_links, const std::vector<Sideload>& sideloads);

}  // namespace dionysus::publisher
