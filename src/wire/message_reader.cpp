#include "wire/message_reader.hpp"
#include "util/cpp_only_file.hpp"

#include <simdjson.h>

namespace dionysus::wire {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string_view field_string(simdjson::dom::object o, const char* name) {
    std::string_view out;
    if (o[name].get_string().get(out) != simdjson::SUCCESS)
        throw MalformedMessage(std::string("an event without a string \"") + name + "\"");
    return out;
}

}  // namespace

std::vector<ConsumedEvent> read_message(const std::optional<std::string_view>& value) {
    std::vector<ConsumedEvent> out;
    if (!value) return out;
    // dionysus-rb's tombstone: the JSON text null (whitespace around it allowed)
    simdjson::dom::parser parser;
    simdjson::padded_string padded(value->data(), value->size());
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root))
        throw MalformedMessage(std::string("not JSON: ") + simdjson::error_message(error));
    if (root.is_null()) return out;
    simdjson::dom::array events;
    if (root["message"].get_array().get(events) != simdjson::SUCCESS)
        throw MalformedMessage("a value without a \"message\" array");
    for (simdjson::dom::element e : events) {
        simdjson::dom::object event;
        if (e.get_object().get(event) != simdjson::SUCCESS) throw MalformedMessage("an event that is not an object");
        ConsumedEvent ce;
        ce.event = std::string(field_string(event, "event"));
        ce.model_name = std::string(field_string(event, "model_name"));
        simdjson::dom::array data;
        if (event["data"].get_array().get(data) != simdjson::SUCCESS)
            throw MalformedMessage("event " + ce.event + " without a \"data\" array");
        for (simdjson::dom::element record : data) {
            if (!record.is_object()) throw MalformedMessage("event " + ce.event + " with a record that is not an object");
            ce.records.push_back(simdjson::minify(record));
        }
        out.push_back(std::move(ce));
    }
    return out;
}

EventKind event_kind(std::string_view event) {
    if (ends_with(event, "_created")) return EventKind::Created;
    if (ends_with(event, "_updated")) return EventKind::Updated;
    if (ends_with(event, "_destroyed")) return EventKind::Destroyed;
    return EventKind::Other;
}

}  // namespace dionysus::wire
