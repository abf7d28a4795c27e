// Guarded SPI for C++ callers: every call runs through pg::guard, results are
// copied into C++ values, parameters are always passed as text (cast in SQL),
// so user input never becomes SQL text.
#pragma once

#include "pg/boundary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dionysus::pg {

using Value = std::optional<std::string>;  // nullopt: SQL NULL
using Row = std::vector<Value>;

// SPI_connect on construction, SPI_finish on destruction (skipped while an
// exception unwinds: the transaction abort cleans SPI up).
//
// While it is open, search_path is "pg_catalog, pg_temp" (as for a
// function declared SET search_path): every internal query resolves
// operators, functions and types from pg_catalog only, whatever the
// caller's search_path, and names the extension's own objects with their
// schema. Names a user gave are resolved with query_value_as_caller.
class SpiConnection {
public:
    SpiConnection();
    ~SpiConnection();
    SpiConnection(const SpiConnection&) = delete;
    SpiConnection& operator=(const SpiConnection&) = delete;

private:
    int guc_nest_level_ = 0;
};

// query_value with the search_path of whoever opened the outermost
// SpiConnection: for resolving names a caller wrote (to_regclass of a
// "table.column" string, to_regproc of a partition key function). Keep its
// SQL to qualified calls: nothing else in it may depend on the path.
Value query_value_as_caller(const std::string& sql, const std::vector<Value>& params = {});

// Runs `sql` with text parameters $1..$n; returns all rows as text.
std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {},
                       bool read_only = false);
// Runs `sql`; returns the number of rows processed.
uint64_t execute(const std::string& sql, const std::vector<Value>& params = {});
// Same, through a plan prepared once per process (hot paths of the worker).
// `types` may give parameter types other than text (parsed once, by the
// type's input function).
// `generic_plan`: plan once and reuse (for statements whose typed
// parameters an index scan can use as they are, e.g. "id = ANY ($1)").
// `read_only`: SPI's read-only mode (a statement that would modify data fails).
std::vector<Row> query_cached(const std::string& sql, const std::vector<Value>& params = {},
                              const std::vector<Oid>& types = {}, bool generic_plan = false, bool read_only = false);
uint64_t execute_cached(const std::string& sql, const std::vector<Value>& params = {},
                        const std::vector<Oid>& types = {});
// A query's rows as views into one buffer: the worker's hot path reads
// thousands of cells per batch, one allocation each would dominate.
class RowSet {
public:
    class RowRef {
    public:
        // nullopt: SQL NULL. Valid as long as the RowSet lives (and is not moved).
        std::optional<std::string_view> operator[](size_t col) const {
            const size_t cell = row_ * set_->ncols_ + col;
            if (set_->length_[cell] == kNull) return std::nullopt;
            return std::string_view(set_->arena_.data() + set_->start_[cell], set_->length_[cell]);
        }

    private:
        friend class RowSet;
        RowRef(const RowSet* set, size_t row) : set_(set), row_(row) {}
        const RowSet* set_;
        size_t row_;
    };
    size_t size() const { return nrows_; }
    RowRef operator[](size_t row) const { return RowRef(this, row); }

private:
    friend RowSet query_cached_rows(const std::string&, const std::vector<Value>&,
                                    const std::vector<Oid>&, bool);
    static constexpr uint32_t kNull = UINT32_MAX;
    std::string arena_;
    std::vector<uint32_t> start_, length_;  // per cell, row-major
    size_t nrows_ = 0, ncols_ = 0;
};
// query_cached, as a RowSet. timestamp and timestamptz cells are printed as
// with DateStyle ISO and TimeZone UTC (the publisher's session settings)
// without calling their output functions (format_utc_timestamp).
RowSet query_cached_rows(const std::string& sql, const std::vector<Value>& params = {},
                         const std::vector<Oid>& types = {}, bool generic_plan = false);

// Drops every cached plan (e.g. after the extension was dropped).
void forget_cached_plans();
// First column of the first row, or nullopt when no row / NULL.
Value query_value(const std::string& sql, const std::vector<Value>& params = {});

}  // namespace dionysus::pg
