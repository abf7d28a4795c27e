// User functions named in declarations (partition keys, serializers), as
// the catalog stores them and as SQL calls them. Needs an SPI connection.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>
#include <vector>

namespace dionysus::catalog {

// A function as regprocedure text qualified with schemas, its name and its
// argument types ("app.item_key(app.items)"), so that the catalog resolves
// it whatever the search_path of the session reading it (the publisher's
// is not the application's). What declarations store.
std::string qualified_function(Oid function);

// The stored regprocedure text as a quoted, schema-qualified name to call
// in SQL ("app.item_key"), never resolved through the caller's search_path.
std::string function_call_name(const std::string& regprocedure);

// The equality operator of a type, as the type cache finds it (its default
// btree or hash opclass), written "OPERATOR(schema.=)" so that a query names
// it whatever its search_path: "OPERATOR(pg_catalog.=)" for varchar, the
// extension's for citext. 42883 when the type has none.
std::string equality_operator(Oid type);

// The "<" and ">" of a type's default btree opclass, written as
// equality_operator writes "=" (keyset pagination: ORDER BY … USING less
// agrees with "greater than the last key"). 42883 when the type has none.
struct OrderingOperators {
    std::string less, greater;
};
OrderingOperators ordering_operators(Oid type);

// The role owning the function (what its code runs as in capture).
Oid function_owner(const std::string& regprocedure);

// 42501 unless the function (a serializer or partition-key function of
// `table`) is owned by the table's owner: the publisher runs it, and reads
// the table, as the table's owner (README "Security model").
void require_owned_by_table_owner(Oid function, Oid relid, const std::string& table, const std::string& what);

// 42501 unless every relation and function a stored query uses is owned by
// `role` (who the worker runs it as) or by a superuser: the code of another
// role's (a view's functions, a table's index expressions) would run with
// `role`'s privileges. `what` names the query in the message.
void require_objects_owned_by(Oid role, const std::vector<Oid>& relations, const std::vector<Oid>& functions,
                              const std::string& what);

}  // namespace dionysus::catalog
