// Target rows of a batch (wording: render.hpp): for each outbox row of one
// model, the model rows its event is published for, in their current state
// (snapshot at publish time). That is the row itself, found by primary key;
// or, for a dependency change (resource_column set), every model row whose
// column has the changed value: the fan-out; for an observed change, the
// rows its observer's association finds (a foreign-key column, or the ids
// its query returns). One query per model, plus one per fan-out column and
// one per observed change with a query.
#pragma once

#include "publisher/model.hpp"
#include "publisher/outbox_queue.hpp"

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace dionysus::publisher {

class TargetRows {
public:
    // Loads the target rows of `outbox_rows`, all of them events of `model`.
    TargetRows(const Model& model, const std::vector<const OutboxRow*>& outbox_rows);
    TargetRows(const TargetRows&) = delete;
    TargetRows& operator=(const TargetRows&) = delete;

    // Every target row once, in no particular order; rows deleted since
    // their event are missing.
    const std::vector<pg::RowSet::RowRef>& rows() const { return rows_; }
    // The target rows of outbox_rows[k]: indexes into rows(), ascending.
    const std::vector<size_t>& targets_of(size_t k) const { return targets_[k]; }
    // Primary keys of rows(), for loading their children.
    std::vector<std::string> primary_keys() const;

private:
    std::deque<pg::RowSet> results_;  // owns the rows `rows_` refers to (deque: never moved)
    std::vector<pg::RowSet::RowRef> rows_;
    std::unordered_map<std::string, size_t> row_of_;  // primary key text -> index in rows_
    std::vector<std::vector<size_t>> targets_;
};

// The primary keys (as text) of the model rows a has_one dependency change
// or an observed change `row` fans out to now, read as the table's owner
// (no serializer runs): what a failed fan-out is split into
// (outbox_queue.hpp, split_fan_out).
std::vector<std::string> fan_out_target_ids(const Model& model, const OutboxRow& row);

}  // namespace dionysus::publisher
