#include "pg/boundary.hpp"
#include "publisher/sideloads.hpp"
#include "publisher/model_record.hpp"
#include "util/pg_array_literal.hpp"

#include <algorithm>
#include <cstdlib>

namespace dionysus::publisher {

Children load_children(const Model& model, const std::vector<std::string>& parent_ids) {
    Children out(model.has_many.size());
    if (parent_ids.empty()) return out;
    const std::string ids = util::text_array_literal(parent_ids);
    std::vector<Attribute> attrs, links;
    for (size_t h = 0; h < model.has_many.size(); h++) {
        const auto& rel = model.has_many[h];
        const Model& child = *rel.child;
        auto rows = fetch_rows(rel.fetch, ids);
        // Children in primary-key order (numeric for integer keys), keys
        // parsed once rather than in every comparison.
        const size_t pk = child.pk_index;
        const bool numeric = child.columns[pk].kind == json::Kind::Integer;
        std::vector<std::pair<long long, size_t>> by_number;
        std::vector<std::pair<std::string_view, size_t>> by_text;
        for (size_t i = 0; i < rows.size(); i++) {
            const auto key = rows[i][pk];
            if (numeric && key) by_number.emplace_back(std::strtoll(std::string(*key).c_str(), nullptr, 10), i);
            else by_text.emplace_back(key.value_or(std::string_view()), i);
        }
        std::sort(by_number.begin(), by_number.end());
        std::sort(by_text.begin(), by_text.end());
        std::vector<size_t> order;
        order.reserve(rows.size());
        for (const auto& [key, i] : by_number) order.push_back(i);
        for (const auto& [key, i] : by_text) order.push_back(i);
        std::string parent;
        for (size_t i : order) {
            const pg::RowSet::RowRef row = rows[i];
            const auto fk = row[rel.fk_index];
            if (!fk) continue;
            parent.assign(*fk);
            auto& [id_list, records] = out[h][parent];
            if (records.empty()) records.reserve(1024);  // grows child by child
            // links: child primary keys in a PG array literal, rendered by append_array
            id_list += id_list.empty() ? "{" : ",";
            util::append_quoted_element(id_list, row[child.pk_index].value_or(std::string_view()));
            records += records.empty() ? "[" : ",";
            append_model_record(records, child, row, attrs, links, {}, {});
        }
    }
    for (auto& per_parent : out)
        for (auto& [parent, value] : per_parent) {
            value.first += '}';
            value.second += ']';
        }
    return out;
}

Related load_related_records(const Model& model, const std::vector<pg::RowSet::RowRef>& parents) {
    Related out(model.has_one.size());
    std::vector<Attribute> attrs, links;
    for (size_t h = 0; h < model.has_one.size(); h++) {
        const auto& rel = model.has_one[h];
        std::vector<std::string> ids;
        for (const auto& row : parents)
            if (const auto fk = row[rel.fk_index]) ids.emplace_back(*fk);
        if (ids.empty()) continue;
        const pg::RowSet rows = fetch_rows(rel.target->fetch, util::text_array_literal(ids));
        for (size_t i = 0; i < rows.size(); i++) {
            std::string record;
            append_model_record(record, *rel.target, rows[i], attrs, links, {}, {});
            out[h].emplace(rows[i][rel.target->pk_index].value_or(std::string_view()), std::move(record));
        }
    }
    return out;
}

}  // namespace dionysus::publisher
