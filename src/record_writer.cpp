// dionysus-rb wire format: records and the message envelope. Key order and
// the absence of whitespace match what dionysus-rb produces, so messages from
// either side are byte-identical for the same data.
#include "record_writer.hpp"

#include "cpp_only_file.hpp"

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

std::string envelope(std::string_view event, std::string_view model_name, std::string_view record_json) {
    std::string out;
    out.reserve(record_json.size() + event.size() + model_name.size() + 64);
    out += "{\"message\":[{\"event\":";
    json::append_string(out, event);
    out += ",\"model_name\":";
    json::append_string(out, model_name);
    out += ",\"data\":[";
    out += record_json;
    out += "]}]}";
    return out;
}

}  // namespace dionysus
