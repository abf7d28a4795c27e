// Foreign keys between published tables: which single-column foreign keys
// link two tables, and whether a foreign key's values print like the key it
// references (the publisher matches them by their text). Needs SPI.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>
#include <vector>

namespace dionysus::catalog {

// Single-column foreign keys of `from` referencing the primary key of `to`:
// the referencing columns, in column order.
std::vector<std::string> foreign_keys(Oid from, Oid to);

// 42804 unless `from`.`column` and the primary key of `to` print alike:
// the same type and modifier (not date/time, whose text follows session
// settings), or both integers, or both text/varchar.
void check_key_types(Oid from, const std::string& column, Oid to, const std::string& from_table,
                     const std::string& to_table);

// Whether values of the two types (domains: of their base types) print
// alike, so that rows can be matched by the text of their keys: the same
// type, or both integers, or both text/varchar.
bool keys_print_alike(Oid a, Oid b);

// A type's name for messages (format_type).
std::string type_name(Oid type);

}  // namespace dionysus::catalog
