// PostgreSQL array literals built in C++, so that lists of values reach SQL
// as one parameter ($1::int8[], $1::text[]) and never become SQL text.
// Pure C++ (no Postgres), unit-tested in test/unit/pg_array_literal_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dionysus::util {

// Appends `element` double-quoted, with " and \ escaped: any text, including
// NULL, commas or braces, reads back as itself (never as SQL NULL).
void append_quoted_element(std::string& literal, std::string_view element);

// {"a","b"}
std::string text_array_literal(const std::vector<std::string>& items);

// {1,2,3}
std::string int_array_literal(const std::vector<int64_t>& items);

}  // namespace dionysus::util
