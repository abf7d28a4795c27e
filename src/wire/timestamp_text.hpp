// PostgreSQL's text of a timestamp as the publisher's session prints it
// (DateStyle ISO, TimeZone UTC), computed without the server's output
// function: timestamptz_out (time zone machinery, generic encoder) was the
// single largest cost of reading aggregates. Pure C++, unit-tested against
// the server's own output in test/unit/timestamp_text_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dionysus {

// Microseconds since 2000-01-01 00:00:00 (PostgreSQL's Timestamp/TimestampTz).
// Writes "YYYY-MM-DD HH:MM:SS[.ffffff]" (fraction without trailing zeros)
// and, for timestamptz, "+00"; returns the length. Returns 0 — the caller
// then uses the output function — for what this does not cover: years
// before 1 AD or after 9999. `out` needs 32 bytes.
size_t format_utc_timestamp(int64_t usecs, bool with_time_zone, char* out);

}  // namespace dionysus
