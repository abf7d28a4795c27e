// A deserialized attribute (JSON text) as the text a target column's type
// input function reads: what the consumer binds as a parameter
// ($n::<column type>), so Postgres itself converts "50.0" to numeric,
// "2024-05-01T10:00:00.000Z" to timestamptz, and so on — and a value that
// does not fit fails there, as a poison message.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dionysus::wire {

enum class ColumnKind {
    Scalar,  // text, numeric, integers, booleans, timestamps, uuid, enums…: a JSON string's content, a number or boolean as written
    Json,    // json, jsonb: the JSON text itself
    Array,   // an array type: a JSON array as an array literal of scalars (nested arrays as nested literals)
};

// What does not fit a column whatever its type (an object for a scalar
// column, a non-array for an array column).
struct ValueDoesNotFit : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// nullopt for JSON null (SQL NULL, also inside an array: NULL).
std::optional<std::string> column_text(std::string_view json, ColumnKind kind);

}  // namespace dionysus::wire
