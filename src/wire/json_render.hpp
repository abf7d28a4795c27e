// Renders PostgreSQL text output as Rails' `as_json` renders the same column
// read through ActiveRecord (Rails 7), so a Ruby consumer reads dionysus
// payloads unchanged. The rules are tabled at the top of json_render.cpp.
//
// The text must come from a session with DateStyle=ISO, TimeZone=UTC,
// IntervalStyle=iso_8601, extra_float_digits=1 and bytea_output=hex.
// Pure C++ (no Postgres), unit-tested in test/unit/json_render_test.cpp.
#pragma once

#include <string>
#include <string_view>

namespace dionysus::json {

enum class Kind {
    Integer, Numeric, Float, Boolean, Text, Json, Timestamp, TimestampTz,
    Date, Time, TimeTz, Interval, Bytea, Money, Unknown
};

// Kind of a pg_type row (of the element type, for arrays). Enums
// (typcategory 'E') and every type not listed render as Text.
Kind kind_for_type(std::string_view typname, char typcategory);

// A quoted JSON string with ActiveSupport's escaping (HTML-safe: < > & and
// U+2028/U+2029 escaped). Non-ASCII UTF-8 is copied as is.
void append_string(std::string& out, std::string_view s);

// A non-NULL scalar value.
void append_value(std::string& out, Kind kind, std::string_view pg_text);

// A PostgreSQL array literal ("{1,2,NULL}", "{{1,2},{3,4}}", "{}") as a JSON
// array; NULL elements become null, the others render with element_kind.
void append_array(std::string& out, Kind element_kind, std::string_view pg_array_text);

}  // namespace dionysus::json
