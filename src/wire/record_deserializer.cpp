#include "wire/record_deserializer.hpp"
#include "wire/message_reader.hpp"
#include "wire/naming.hpp"
#include "util/cpp_only_file.hpp"

#include <simdjson.h>

#include <set>

namespace dionysus::wire {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

void assign(DeserializedRecord& r, const std::string& name, std::string json) {
    for (auto& [n, v] : r.attributes)
        if (n == name) {
            v = std::move(json);
            return;
        }
    r.attributes.emplace_back(name, std::move(json));
}

// Sideloads nested deeper than this are not a dionysus aggregate (the
// applier recurses as deep): a poison message.
constexpr int kMaxSideloadDepth = 16;

DeserializedRecord deserialize(object record, int depth = 0) {
    if (depth > kMaxSideloadDepth)
        throw MalformedMessage("sideloaded records nested deeper than " + std::to_string(kMaxSideloadDepth) + " levels");
    DeserializedRecord out;
    out.source = simdjson::minify(record);
    element id;
    if (record["id"].get(id) != simdjson::SUCCESS) throw MalformedMessage("a record without \"id\"");

    object links;
    const bool has_links = record["links"].get_object().get(links) == simdjson::SUCCESS;
    std::set<std::string> relationships;
    if (has_links) {
        for (auto [key, value] : links) {
            const std::string name(key);
            relationships.insert(name);
            if (value.is_object()) {  // polymorphic {"id", "type"}
                element v;
                assign(out, "synced_" + name + "_id", value["id"].get(v) == simdjson::SUCCESS ? simdjson::minify(v) : "null");
                assign(out, "synced_" + name + "_type",
                       value["type"].get(v) == simdjson::SUCCESS ? simdjson::minify(v) : "null");
            } else if (value.is_array()) {
                assign(out, "synced_" + naming::singular_of(name) + "_ids", simdjson::minify(value));
            } else {
                assign(out, "synced_" + name + "_id", simdjson::minify(value));
            }
        }
    }
    assign(out, "synced_id", simdjson::minify(id));
    for (const char* t : {"created_at", "updated_at", "canceled_at"}) {
        element v;
        if (record[t].get(v) == simdjson::SUCCESS) assign(out, std::string("synced_") + t, simdjson::minify(v));
    }
    static const std::set<std::string> reserved{"links", "id", "created_at", "updated_at", "canceled_at"};
    for (auto [key, value] : record) {
        const std::string name(key);
        if (reserved.count(name) || relationships.count(name)) continue;
        assign(out, name, simdjson::minify(value));
    }
    if (!has_links) return out;
    // to-many first, then to-one, each in links order (dionysus-rb's order)
    for (auto [key, link] : links) {
        if (!link.is_array()) continue;
        DeserializedRecord::HasMany hm;
        hm.model_name = std::string(key);
        simdjson::dom::array items;
        if (record[key].get_array().get(items) == simdjson::SUCCESS) {
            hm.sideloaded = true;
            for (element item : items) {
                object o;
                if (item.get_object().get(o) != simdjson::SUCCESS)
                    throw MalformedMessage("sideloaded " + hm.model_name + " holds a value that is not a record");
                hm.records.push_back(deserialize(o, depth + 1));
            }
        }
        out.has_many.push_back(std::move(hm));
    }
    for (auto [key, link] : links) {
        if (link.is_array()) continue;
        DeserializedRecord::HasOne ho;
        ho.model_name = std::string(key);
        std::string_view type;
        if (link.is_object() && link["type"].get_string().get(type) == simdjson::SUCCESS) ho.model_name = std::string(type);
        object o;
        element sideloaded;
        if (record[key].get(sideloaded) == simdjson::SUCCESS && !sideloaded.is_null()) {
            simdjson::dom::array arr;
            if (sideloaded.get_object().get(o) == simdjson::SUCCESS) {
                ho.record.push_back(deserialize(o, depth + 1));
            } else if (sideloaded.get_array().get(arr) == simdjson::SUCCESS) {  // Array.wrap: the first
                for (element item : arr) {
                    if (item.get_object().get(o) != simdjson::SUCCESS)
                        throw MalformedMessage("sideloaded " + ho.model_name + " holds a value that is not a record");
                    ho.record.push_back(deserialize(o, depth + 1));
                    break;
                }
            } else {
                throw MalformedMessage("sideloaded " + ho.model_name + " is not a record");
            }
        }
        out.has_one.push_back(std::move(ho));
    }
    return out;
}

}  // namespace

const std::string* DeserializedRecord::find(std::string_view name) const {
    for (const auto& [n, v] : attributes)
        if (n == name) return &v;
    return nullptr;
}

DeserializedRecord deserialize_record(std::string_view record_json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(record_json.data(), record_json.size());
    element root;
    if (auto error = parser.parse(padded).get(root))
        throw MalformedMessage(std::string("a record that is not JSON: ") + simdjson::error_message(error));
    object o;
    if (root.get_object().get(o) != simdjson::SUCCESS) throw MalformedMessage("a record that is not an object");
    return deserialize(o);
}

}  // namespace dionysus::wire
