// A consumed record's value (JSON text, as record_deserializer keeps it)
// as the text a target column's type reads, so the consumer applier can
// hand a run of records to SQL as one text array per column (unnest,
// then a cast per column) instead of one JSON document that
// jsonb_to_recordset parses: the same values, a third of the cost.
//
// Each answer is what jsonb_to_recordset would give the column's input
// function. Where that is not certain (objects, exponents, a NUL
// character, nested empty arrays), the answer is "no": the applier then
// takes jsonb_to_recordset for the run, so a value never converts
// differently, and a value that does not fit fails the same way.
#pragma once

#include <string>
#include <string_view>

namespace dionysus::wire {

enum class ColumnText {
    Scalar,  // any type read from text: a JSON string's characters, a number's digits, true/false
    Json,    // json, jsonb (or a domain over them): the JSON text itself
    Array,   // an array type: a JSON array as an array literal ({"a","b"}, {{"1"},{"2"}})
};

// true: *is_null (JSON null: SQL NULL) or *out is the column's text.
// false: only jsonb_to_recordset reads this value as it should be read.
bool column_text(std::string_view json, ColumnText kind, std::string* out, bool* is_null);

}  // namespace dionysus::wire
