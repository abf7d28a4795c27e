#include "pg/boundary.hpp"
#include "publisher/model_record.hpp"

namespace dionysus::publisher {

void append_model_record(std::string& out, const Model& model, const pg::RowSet::RowRef& row,
                         std::vector<Attribute>& attrs, std::vector<Attribute>& links,
                         const std::vector<Attribute>& many_links, const std::vector<Sideload>& sideloads) {
    if (model.custom_function) {
        const auto result = row[*model.custom_function];  // f(t)::text, used as it is
        // an object's text starts with '{' (consumers expect a record)
        const size_t start = result ? result->find_first_not_of(" \t\r\n") : std::string_view::npos;
        if (start == std::string_view::npos || (*result)[start] != '{')
            throw InvalidRecord("the serializer function of " + model.model_name + " returned " +
                                (result ? "\"" + std::string(result->substr(0, 40)) + "\"" : std::string("NULL")) +
                                " for id " + std::string(row[model.pk_index].value_or("NULL")) +
                                ": a record must be a JSON object");
        json::append_value(out, json::Kind::Json, *result);
        return;
    }
    auto attribute = [&row, &model](std::string_view name, size_t c) {
        const Column& col = model.columns[c];
        const auto value = row[c];
        return Attribute{name, col.kind, col.is_array, !value, value.value_or(std::string_view())};
    };
    attrs.clear();
    links.clear();
    for (size_t c : model.attributes) attrs.push_back(attribute(model.columns[c].name, c));
    for (const auto& [name, c] : model.links) links.push_back(attribute(name, c));
    links.insert(links.end(), many_links.begin(), many_links.end());
    append_record(out, attrs, links, sideloads);
}

}  // namespace dionysus::publisher
