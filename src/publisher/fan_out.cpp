#include "pg/boundary.hpp"
#include "pg/user_context.hpp"
#include "publisher/fan_out.hpp"
#include "util/pg_array_literal.hpp"

#include <algorithm>
#include <stdexcept>
#include <map>

namespace dionysus::publisher {

namespace {

// How an outbox row finds its target rows.
enum class Finding { ByPrimaryKey, ByColumn, ByQuery };

Finding finding(const Model& model, const OutboxRow& r) {
    if (r.observer && !r.resource_column) return Finding::ByQuery;
    if (!r.resource_column || *r.resource_column == model.primary_key) return Finding::ByPrimaryKey;
    return Finding::ByColumn;
}

// The model ids an observer's association query returns for the observed
// row's key, run as the model table's owner (as every read of the model),
// read-only. Empty when the observer is no longer declared.
std::vector<std::string> query_ids(const Model& model, int64_t observer, const std::string& key) {
    std::vector<std::string> ids;
    auto found = model.observers.find(observer);
    if (found == model.observers.end() || found->second.query.empty()) return ids;
    if (!found->second.refused.empty()) throw std::runtime_error(found->second.refused);
    const auto rows = pg::as_user(model.table_owner, [&] {
        return pg::query_cached(found->second.query, {key}, {found->second.key_type}, false, true);
    });
    for (const auto& r : rows)
        if (!r.empty() && r[0]) ids.push_back(*r[0]);
    return ids;
}

}  // namespace

TargetRows::TargetRows(const Model& model, const std::vector<const OutboxRow*>& outbox_rows) {
    // Which rows to fetch: by primary key; by a foreign key for dependency
    // changes that fan out (has_one) and observed changes; by the ids an
    // observer's query returns.
    std::vector<std::string> ids;
    std::map<std::string, std::vector<std::string>> fan_out_values;  // column -> values
    std::vector<std::vector<std::string>> queried(outbox_rows.size());  // per outbox row: ids of ByQuery rows
    for (size_t k = 0; k < outbox_rows.size(); k++) {
        const OutboxRow* r = outbox_rows[k];
        if (!r->resource_id) continue;
        switch (finding(model, *r)) {
        case Finding::ByPrimaryKey: ids.push_back(*r->resource_id); break;
        case Finding::ByColumn: fan_out_values[*r->resource_column].push_back(*r->resource_id); break;
        case Finding::ByQuery:
            queried[k] = query_ids(model, *r->observer, *r->resource_id);
            ids.insert(ids.end(), queried[k].begin(), queried[k].end());
            break;
        }
    }
    results_.push_back(fetch_rows(model.fetch, util::text_array_literal(ids)));
    for (size_t i = 0; i < results_.back().size(); i++) {
        rows_.push_back(results_.back()[i]);
        if (const auto pk = rows_[i][model.pk_index]) row_of_.emplace(*pk, i);
    }
    // column -> value -> rows having it
    std::map<std::string, std::unordered_map<std::string, std::vector<size_t>>> rows_by_value;
    for (const auto& [column, values] : fan_out_values) {
        auto fetch = model.fetch_by_column.find(column);
        if (fetch == model.fetch_by_column.end()) continue;  // declaration changed since
        const size_t col = *model.index_of(column);
        results_.push_back(fetch_rows(fetch->second, util::text_array_literal(values)));
        const pg::RowSet& fetched = results_.back();
        for (size_t i = 0; i < fetched.size(); i++) {
            const auto pk = fetched[i][model.pk_index];
            const auto value = fetched[i][col];
            if (!pk || !value) continue;
            auto [it, fresh] = row_of_.emplace(*pk, rows_.size());
            if (fresh) rows_.push_back(fetched[i]);
            rows_by_value[column][std::string(*value)].push_back(it->second);
        }
    }
    targets_.resize(outbox_rows.size());
    for (size_t k = 0; k < outbox_rows.size(); k++) {
        const OutboxRow* r = outbox_rows[k];
        std::vector<size_t>& targets = targets_[k];
        if (!r->resource_id) continue;
        switch (finding(model, *r)) {
        case Finding::ByPrimaryKey: {
            auto found = row_of_.find(*r->resource_id);
            if (found != row_of_.end()) targets.push_back(found->second);
            break;
        }
        case Finding::ByColumn: {
            auto column = rows_by_value.find(*r->resource_column);
            if (column != rows_by_value.end()) {
                auto found = column->second.find(*r->resource_id);
                if (found != column->second.end()) targets = found->second;
            }
            break;
        }
        case Finding::ByQuery:
            for (const auto& id : queried[k]) {
                auto found = row_of_.find(id);
                if (found != row_of_.end()) targets.push_back(found->second);
            }
            break;
        }
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    }
}

std::vector<std::string> fan_out_target_ids(const Model& model, const OutboxRow& row) {
    std::vector<std::string> ids;
    if (!row.resource_id) return ids;
    if (finding(model, row) == Finding::ByQuery) {
        ids = query_ids(model, *row.observer, *row.resource_id);
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        return ids;
    }
    if (!row.resource_column) return ids;
    auto fetch = model.ids_by_column.find(*row.resource_column);
    if (fetch == model.ids_by_column.end()) return ids;  // declaration changed since
    const pg::RowSet found = fetch_rows(fetch->second, util::text_array_literal({*row.resource_id}));
    for (size_t i = 0; i < found.size(); i++)
        if (const auto id = found[i][0]) ids.emplace_back(*id);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::vector<std::string> TargetRows::primary_keys() const {
    std::vector<std::string> out;
    out.reserve(row_of_.size());
    for (const auto& [pk, index] : row_of_) out.push_back(pk);
    return out;
}

}  // namespace dionysus::publisher
