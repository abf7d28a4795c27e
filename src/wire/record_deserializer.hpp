// dionysus-rb's Dionysus::Consumer::Deserializer, in C++: a record of an
// event (JSON text) as the attributes a local (synced_*) row gets and the
// sideloaded relationships to persist with it.
//   id -> synced_id; created_at, updated_at, canceled_at -> synced_* (when
//   the record has them); links.x: a scalar -> synced_x_id, an array ->
//   synced_<singular x>_ids, {"id", "type"} (polymorphic) -> synced_x_id and
//   synced_x_type; every other attribute under its own name, except the
//   sideloaded relationships (the keys links names), which become has_many
//   (links value an array) and has_one (otherwise) entries, deserialized
//   the same way. Values stay JSON text; the consumer converts them to the
//   target columns' types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dionysus::wire {

struct DeserializedRecord {
    // name -> JSON text, in dionysus-rb's order: link attributes, synced_id,
    // synced_created_at/updated_at/canceled_at, then the plain attributes
    // in record order (a name assigned twice keeps its first place).
    std::vector<std::pair<std::string, std::string>> attributes;
    struct HasMany {
        std::string model_name;  // the relationship name ("bookings_fees")
        bool sideloaded = false;  // false: only linked, the records are not in the message
        std::vector<DeserializedRecord> records;
    };
    struct HasOne {
        std::string model_name;  // the relationship name, or the polymorphic link's type
        std::vector<DeserializedRecord> record;  // empty: not sideloaded (or null); else one
    };
    std::vector<HasMany> has_many;
    std::vector<HasOne> has_one;

    // The attribute's JSON text, nullptr when absent.
    const std::string* find(std::string_view name) const;
    // The whole record, as dionysus-rb stores it in synced_data.
    std::string source;
};

// Throws MalformedMessage (message_reader.hpp) for a record that is not a
// JSON object or has no "id", or sideloads nested more than 16 levels deep.
DeserializedRecord deserialize_record(std::string_view record_json);

}  // namespace dionysus::wire
