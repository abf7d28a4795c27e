#include "wire/event_names.hpp"
#include "wire/naming.hpp"
#include "util/cpp_only_file.hpp"

namespace dionysus::events {

namespace {

constexpr std::string_view suffix(Event event) {
    switch (event) {
        case Event::Created: return "_created";
        case Event::Updated: return "_updated";
        case Event::Destroyed: return "_destroyed";
    }
    return "";
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string event_name(std::string_view model_name, Event event) {
    return naming::underscore(model_name) + std::string(suffix(event));
}

std::optional<Event> event_of(std::string_view event_name) {
    for (Event e : {Event::Created, Event::Updated, Event::Destroyed})
        if (ends_with(event_name, suffix(e))) return e;
    return std::nullopt;
}

}  // namespace dionysus::events
