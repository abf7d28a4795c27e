// The SQL of a genesis run (README "genesis"): the rows it streams, a
// chunk at a time in primary-key order, restricted by its window, its
// visible_only and its condition. Built in one place for dionysus.genesis,
// which checks a condition inside the very text the worker later runs, and
// for the worker. Needs an SPI connection.
#pragma once

#include "pg/boundary.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dionysus::publisher {

// "from"/"to" select rows by this column (dionysus-rb's genesis window).
constexpr const char* kGenesisWindowColumn = "updated_at";

// What restricts a run's rows.
struct GenesisFilter {
    Oid model = InvalidOid;
    std::optional<std::string> from, to;  // timestamptz text
    std::optional<std::string> soft_delete_column;  // set with visible_only: skip rows where it is set
    std::optional<std::string> condition;
};

// "SELECT <select_list> FROM <table> t WHERE (\n<condition>\n)": the
// user's condition on lines of its own (a trailing -- comment ends with its
// line). With the select list "t.*" it is the subquery the worker's
// statements read from; genesis() checks it with an empty select list.
std::string genesis_condition_check_sql(Oid model, const std::string& condition, const std::string& select_list = "");

// Raises unless `condition` may be a run's condition over `model`, read
// as `owner` (the table's owner, who the worker runs it as): one boolean
// expression without clauses or parameters of its own (42601), neither
// locking nor writing (22023), everything it uses owned by `owner` or a
// superuser (42501). dionysus.genesis checks it, and the worker again while
// the run goes on.
void check_genesis_condition(Oid model, Oid owner, const std::string& condition);

// A statement with its text parameters and their types.
struct GenesisStatement {
    std::string sql;
    std::vector<std::optional<std::string>> params;
    std::vector<Oid> types;
};

// SELECT count(*) of the run's rows.
GenesisStatement genesis_count(const GenesisFilter& filter);
// The primary keys (as text, from the type's output function) of the next
// `limit` rows after `after` (nullopt: from the first), in key order.
GenesisStatement genesis_chunk(const GenesisFilter& filter, const std::optional<std::string>& after, int limit);

}  // namespace dionysus::publisher
