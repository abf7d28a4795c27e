#include "wire/local_changes.hpp"
#include "wire/json_render.hpp"
#include "util/cpp_only_file.hpp"

#include <simdjson.h>

#include <map>
#include <vector>

namespace dionysus::wire {

std::string local_changes(std::string_view before, std::string_view after) {
    simdjson::dom::parser before_parser, after_parser;
    std::map<std::string, std::string> old;  // column -> minified JSON
    if (!before.empty()) {
        simdjson::padded_string b(before.data(), before.size());
        simdjson::dom::object o;
        if (before_parser.parse(b).get_object().get(o) == simdjson::SUCCESS)
            for (auto [k, v] : o) old.emplace(std::string(k), simdjson::minify(v));
    }
    simdjson::padded_string a(after.data(), after.size());
    simdjson::dom::object o;
    std::string out = "{";
    if (after_parser.parse(a).get_object().get(o) == simdjson::SUCCESS) {
        bool first = true;
        for (auto [k, v] : o) {
            const std::string now = simdjson::minify(v);
            auto it = old.find(std::string(k));
            const std::string was = it == old.end() ? "null" : it->second;
            if (was == now) continue;
            if (!first) out += ',';
            first = false;
            json::append_string(out, k);
            out += ":[";
            out += was;
            out += ',';
            out += now;
            out += ']';
        }
    }
    out += '}';
    return out;
}

std::string consume_notification(std::string_view topic, std::string_view event, std::string_view model,
                                 std::string_view synced_id_json, std::string_view action,
                                 std::string_view changes_json, size_t limit, bool with_values) {
    std::string head = "{\"topic\":";
    json::append_string(head, topic);
    head += ",\"event\":";
    json::append_string(head, event);
    head += ",\"model\":";
    json::append_string(head, model);
    head += ",\"synced_id\":";
    head += synced_id_json.empty() ? std::string_view("null") : synced_id_json;
    head += ",\"action\":";
    json::append_string(head, action);
    if (with_values) {
        std::string full = head + ",\"changes\":" + std::string(changes_json.empty() ? "{}" : changes_json) + "}";
        if (full.size() <= limit) return full;
    }
    // The column names alone.
    std::string names = head + ",\"changed_columns\":[";
    simdjson::dom::parser parser;
    simdjson::padded_string c(changes_json.data(), changes_json.size());
    simdjson::dom::object o;
    bool first = true;
    if (parser.parse(c).get_object().get(o) == simdjson::SUCCESS)
        for (auto [k, v] : o) {
            (void)v;
            if (!first) names += ',';
            first = false;
            json::append_string(names, k);
        }
    names += with_values ? "],\"changes_omitted\":true}" : "]}";
    if (names.size() <= limit) return names;
    std::string bare = head + ",\"changes_omitted\":true}";
    if (bare.size() <= limit) return bare;
    // An event name or id too long for any payload (NOTIFY would fail the
    // whole batch): the topic alone says where to look.
    std::string minimal = "{\"topic\":";
    json::append_string(minimal, topic.substr(0, 255));
    minimal += ",\"changes_omitted\":true,\"truncated\":true}";
    return minimal;
}

}  // namespace dionysus::wire
