// The consumer's side of the wire format: a Kafka message value of
// dionysus-rb (or of this extension's publisher) read into its events.
// `{"message":[{"event":"booking_updated","model_name":"Booking","data":[{…}, …]}, …]}`;
// a tombstone (a Kafka null value, or dionysus-rb's 4-byte text `null`)
// holds no events. Records are kept as JSON text for record_deserializer.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dionysus::wire {

struct ConsumedEvent {
    std::string event;       // "booking_updated"
    std::string model_name;  // "Booking"
    std::vector<std::string> records;  // each record's JSON text (minified)
};

// What a value does not say as dionysus-rb writes it: the message is a
// poison message (it will never apply, whatever is retried).
struct MalformedMessage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// nullopt value: a Kafka null (tombstone). Throws MalformedMessage for
// invalid JSON or a value without the "message" array of events with
// "event", "model_name" and "data".
std::vector<ConsumedEvent> read_message(const std::optional<std::string_view>& value);

// The event's kind from its name: "booking_created" -> Created, ….
enum class EventKind { Created, Updated, Destroyed, Other };
EventKind event_kind(std::string_view event);

}  // namespace dionysus::wire
