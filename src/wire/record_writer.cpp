// dionysus-rb wire format: records and the message envelope. Key order and
// the absence of whitespace match what dionysus-rb produces, so messages from
// either side are byte-identical for the same data.
#include "wire/record_writer.hpp"

#include <simdjson.h>

#include "util/cpp_only_file.hpp"

namespace dionysus {
namespace {

void append_attribute(std::string& out, const Attribute& a) {
    json::append_string(out, a.name);
    out += ':';
    if (a.is_null)
        out += "null";
    else if (a.is_array)
        json::append_array(out, a.kind, a.text);
    else
        json::append_value(out, a.kind, a.text);
}

}  // namespace

void append_record(std::string& out, const std::vector<Attribute>& attrs,
                   const std::vector<Attribute>& has_one_links, const std::vector<Sideload>& sideloads) {
    out += '{';
    for (const Attribute& a : attrs) {
        append_attribute(out, a);
        out += ',';
    }
    out += "\"links\":{";
    for (size_t i = 0; i < has_one_links.size(); ++i) {
        if (i) out += ',';
        append_attribute(out, has_one_links[i]);
    }
    out += '}';
    for (const Sideload& s : sideloads) {
        out += ',';
        json::append_string(out, s.name);
        out += ':';
        out += s.json;
    }
    out += '}';
}

void append_deleted_record(std::string& out, const Attribute& id) {
    out += "{\"links\":{},";
    Attribute named = id;
    named.name = "id";
    append_attribute(out, named);
    out += '}';
}

void append_envelope_head(std::string& out, std::string_view event, std::string_view model_name) {
    out += "{\"message\":[{\"event\":";
    json::append_string(out, event);
    out += ",\"model_name\":";
    json::append_string(out, model_name);
    out += ",\"data\":[";
}

void append_envelope_tail(std::string& out) { out += "]}]}"; }

std::string envelope(std::string_view event, std::string_view model_name, std::string_view record_json) {
    std::string out;
    out.reserve(record_json.size() + event.size() + model_name.size() + 64);
    append_envelope_head(out, event, model_name);
    out += record_json;
    append_envelope_tail(out);
    return out;
}


std::string hand_built_value(std::string_view json_text) {
    std::string out;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::padded_string padded(json_text);
    simdjson::dom::array events;
    if (parser.parse(padded).get(root) || root["message"].get_array().get(events)) {
        json::append_value(out, json::Kind::Json, json_text);
        return out;
    }
    // Re-encodes one value with Rails' rules (escaping, floats).
    auto value = [&out](simdjson::dom::element e) {
        json::append_value(out, json::Kind::Json, simdjson::minify(e));
    };
    out += "{\"message\":[";
    bool first_event = true;
    for (simdjson::dom::element event : events) {
        if (!first_event) out += ',';
        first_event = false;
        simdjson::dom::object fields;
        if (event.get_object().get(fields)) {
            value(event);
            continue;
        }
        out += '{';
        bool first = true;
        auto field = [&](std::string_view key, simdjson::dom::element e) {
            if (!first) out += ',';
            first = false;
            json::append_string(out, key);
            out += ':';
            value(e);
        };
        static const std::string_view kOrder[] = {"event", "model_name", "data"};
        for (std::string_view key : kOrder) {
            simdjson::dom::element e;
            if (!fields[key].get(e)) field(key, e);
        }
        for (auto kv : fields) {
            if (kv.key == "event" || kv.key == "model_name" || kv.key == "data") continue;
            field(kv.key, kv.value);
        }
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace dionysus
