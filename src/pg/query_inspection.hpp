// What a user's query would do, from parsing, analysing and rewriting it
// (it does not run): for a query the worker stores and runs later (an
// observer's association query), so that it can be refused when it is not
// one plain SELECT or uses objects of other roles.
#pragma once

#include "pg/boundary.hpp"

#include <vector>

namespace dionysus::pg {

struct QueryInspection {
    bool plain_select = false;     // one SELECT: no data-modifying CTE, no FOR UPDATE/SHARE
    std::vector<Oid> result_types;  // of its columns
    std::vector<Oid> relations;     // it reads (views expanded: their tables too)
    std::vector<Oid> functions;     // it calls (operators', casts' and type I/O functions included)
};

// `sql` with one parameter $1 of type `param_type`. Syntax errors and unknown
// names raise the Postgres error (as pg::Error). Needs an SPI connection.
QueryInspection inspect_query(const std::string& sql, Oid param_type);

// Whether `sql`, "SELECT FROM <table> t WHERE (<condition>)" built around a
// user's condition, parses as exactly that: one SELECT with one FROM item, a
// WHERE clause and nothing else, and no parameter ($1). A condition that closes the parenthesis to
// add clauses of its own (ORDER BY, LIMIT, UNION, a second statement) parses
// as something else. Syntax errors raise the Postgres error (as pg::Error).
bool is_plain_where_condition(const std::string& sql);

}  // namespace dionysus::pg
