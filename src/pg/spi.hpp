// Guarded SPI for C++ callers: every call runs through pg::guard, results are
// copied into C++ values, parameters are always passed as text (cast in SQL),
// so user input never becomes SQL text.
#pragma once

#include "pg/boundary.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dionysus::pg {

using Value = std::optional<std::string>;  // nullopt: SQL NULL
using Row = std::vector<Value>;

// SPI_connect on construction, SPI_finish on destruction (skipped while an
// exception unwinds: the transaction abort cleans SPI up).
class SpiConnection {
public:
    SpiConnection();
    ~SpiConnection();
    SpiConnection(const SpiConnection&) = delete;
    SpiConnection& operator=(const SpiConnection&) = delete;
};

// Runs `sql` with text parameters $1..$n; returns all rows as text.
std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {},
                       bool read_only = false);
// Runs `sql`; returns the number of rows processed.
uint64_t execute(const std::string& sql, const std::vector<Value>& params = {});
// Same, through a plan prepared once per process (hot paths of the worker).
// `types` may give parameter types other than text (parsed once, by the
// type's input function).
std::vector<Row> query_cached(const std::string& sql, const std::vector<Value>& params = {},
                              const std::vector<Oid>& types = {});
uint64_t execute_cached(const std::string& sql, const std::vector<Value>& params = {},
                        const std::vector<Oid>& types = {});
// Drops every cached plan (e.g. after the extension was dropped).
void forget_cached_plans();
// First column of the first row, or nullopt when no row / NULL.
Value query_value(const std::string& sql, const std::vector<Value>& params = {});

}  // namespace dionysus::pg
