// Sideloads of a batch's target rows (wording: render.hpp): their children
// (has_many) and related records (has_one), each rendered once per batch
// with one query per relation, however many target rows share them.
#pragma once

#include "publisher/model.hpp"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dionysus::publisher {

// Per has_many relation (index in Model::has_many): parent primary key ->
// (child primary keys as a PostgreSQL array literal, for the links;
//  child records as a JSON array, for the sideload). Children in primary-key order.
using Children = std::vector<std::unordered_map<std::string, std::pair<std::string, std::string>>>;
Children load_children(const Model& model, const std::vector<std::string>& parent_ids);

// Per has_one relation (index in Model::has_one): related primary key ->
// rendered record, for the related rows the `parents` reference.
using Related = std::vector<std::unordered_map<std::string, std::string>>;
Related load_related_records(const Model& model, const std::vector<pg::RowSet::RowRef>& parents);

}  // namespace dionysus::publisher
