// One record of a model, rendered from one fetched row (wording: render.hpp).
#pragma once

#include "publisher/model.hpp"
#include "wire/record_writer.hpp"

#include <string>
#include <vector>

namespace dionysus::publisher {

// The record of `model` for `row`: its attributes, its has_one links then
// `many_links`, then `sideloads`; or its custom function's result as it is.
// `attrs` and `links` are scratch vectors reused across rows.
void append_model_record(std::string& out, const Model& model, const pg::RowSet::RowRef& row,
                         std::vector<Attribute>& attrs, std::vector<Attribute>& links,
                         const std::vector<Attribute>& many_links, const std::vector<Sideload>& sideloads);

}  // namespace dionysus::publisher
