// dionysus-rb records and message envelopes, byte for byte (no whitespace).
// Pure C++ (no Postgres), unit-tested in test/unit/record_writer_test.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wire/json_render.hpp"

namespace dionysus {

// One column value as PostgreSQL text output (see json_render.hpp).
struct Attribute {
    std::string_view name;
    json::Kind kind;        // of the element type when is_array
    bool is_array;
    bool is_null;
    std::string_view text;  // ignored when is_null
};

// A relationship rendered after "links": its name and its already-rendered
// JSON (a record for has_one, an array of records for has_many).
struct Sideload {
    std::string_view name;
    std::string_view json;
};

// {"a":…,"b":…,"links":{"rental":1,"bookings_fees":[1,2]},"bookings_fees":[…]}
// Attributes in the given order, NULL as null; "links" always present ({}
// when empty; a has_many link is an array Attribute); sideloads last.
void append_record(std::string& out, const std::vector<Attribute>& attrs,
                   const std::vector<Attribute>& has_one_links,
                   const std::vector<Sideload>& sideloads = {});

// dionysus-rb's DeletedRecordSerializer: {"links":{},"id":<id>}. The key is
// always "id" (record.id in Ruby), whatever id.name says.
void append_deleted_record(std::string& out, const Attribute& id);

// {"message":[{"event":"<event>","model_name":"<model>","data":[<record_json>]}]}
// record_json may hold several comma-separated records.
std::string envelope(std::string_view event, std::string_view model_name, std::string_view record_json);
// The same in two parts, for rendering the record straight into the value:
// head, then the record(s), then tail.
void append_envelope_head(std::string& out, std::string_view event, std::string_view model_name);
void append_envelope_tail(std::string& out);

// A hand-built message {"message":[{…}, …]} (stored as jsonb, which sorts
// keys) re-rendered in dionysus-rb's key order: "message" first, and in each
// event "event", "model_name", "data", then any other keys; values re-encoded
// as Rails would. Text that is not such an object is re-encoded as it is.
std::string hand_built_value(std::string_view json_text);

}  // namespace dionysus
