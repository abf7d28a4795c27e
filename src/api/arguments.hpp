// Arguments of the SQL-callable functions, and the checks they share. Errors
// are pg::Error with the SQLSTATE the README documents.
#pragma once

#include "pg/boundary.hpp"
#include "pg/spi.hpp"

#include <string>
#include <vector>

namespace dionysus::api {

// text argument; NULL -> 22004 "<what> must not be NULL".
std::string text_arg(FunctionCallInfo fcinfo, int n, const char* what);
// Same, and empty -> 22023 "<what> must not be empty".
std::string nonempty_text_arg(FunctionCallInfo fcinfo, int n, const char* what);
// text argument, NULL allowed.
pg::Value optional_text_arg(FunctionCallInfo fcinfo, int n);
// regclass (or any oid) argument; NULL -> 22004.
Oid regclass_arg(FunctionCallInfo fcinfo, int n, const char* what);
// jsonb argument as its text, NULL allowed.
pg::Value optional_jsonb_arg(FunctionCallInfo fcinfo, int n);
// boolean argument with a default: NULL -> 22004 "<what> must not be NULL".
bool bool_arg(FunctionCallInfo fcinfo, int n, const char* what);
// regclass[] argument; NULL -> empty, a NULL element -> 22004 "<what> must not contain NULL".
std::vector<Oid> regclass_array_arg(FunctionCallInfo fcinfo, int n, const char* what);
// Any argument as its type's text output (timestamptz, interval: as the
// session prints them, read back the same in this session), NULL allowed.
pg::Value optional_arg_as_text(FunctionCallInfo fcinfo, int n, Oid type);
// text[] argument as its text output ('{a,b}'), NULL allowed.
pg::Value optional_text_array_arg(FunctionCallInfo fcinfo, int n);

}  // namespace dionysus::api
