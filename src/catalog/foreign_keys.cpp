#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/foreign_keys.hpp"
#include "catalog/relations.hpp"

extern "C" {
#include "utils/lsyscache.h"
#include "catalog/pg_type.h"
#include "utils/errcodes.h"
}

namespace dionysus::catalog {

using pg::Error;

// Single-column foreign keys of `from` referencing the primary key of `to`:
// the names of the referencing columns.
std::vector<std::string> foreign_keys(Oid from, Oid to) {
    std::vector<std::string> out;
    const auto key = primary_key_columns(to);
    if (key.size() != 1) return out;
    for (const auto& r : pg::query(
             "SELECT a.attname::text FROM pg_catalog.pg_constraint c "
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
             "JOIN pg_catalog.pg_attribute k ON k.attrelid = c.confrelid AND k.attnum = c.confkey[1] "
             "WHERE c.contype = 'f' AND c.conrelid = $1::pg_catalog.oid AND c.confrelid = $2::pg_catalog.oid "
             "AND pg_catalog.cardinality(c.conkey) = 1 AND k.attname OPERATOR(pg_catalog.=) $3 ORDER BY a.attnum",
             {std::to_string(from), std::to_string(to), key[0]}))
        out.push_back(*r[0]);
    return out;
}

// The publisher matches a foreign key's values with the referenced key's by
// their text, so the two must print alike: the same type and modifier (not
// a date/time type, whose text follows session settings), or both integers,
// or both text/varchar. numeric(10,2) against numeric would print 1.00 and 1.
bool keys_print_alike(Oid a, Oid b) {
    pg::guard([&] {
        a = getBaseType(a);
        b = getBaseType(b);
    });
    auto family = [](Oid t) {
        if (t == INT2OID || t == INT4OID || t == INT8OID) return 1;
        if (t == TEXTOID || t == VARCHAROID) return 2;
        return 0;
    };
    return a == b || (family(a) != 0 && family(a) == family(b));
}

std::string type_name(Oid type) {
    return *pg::query_value("SELECT pg_catalog.format_type($1::pg_catalog.oid, NULL)", {std::to_string(type)});
}

void check_key_types(Oid from, const std::string& column, Oid to, const std::string& from_table,
                     const std::string& to_table) {
    const auto key = primary_key_columns(to);  // its first column, as the publisher matches it
    if (key.empty()) return;
    auto rows = pg::query(
        "SELECT fa.atttypid::pg_catalog.oid::text, fa.atttypmod::text, "
        "pg_catalog.format_type(fa.atttypid, fa.atttypmod), ka.atttypid::pg_catalog.oid::text, "
        "ka.atttypmod::text, pg_catalog.format_type(ka.atttypid, ka.atttypmod), ka.attname::text, "
        "ft.typcategory::text "
        "FROM pg_catalog.pg_attribute fa JOIN pg_catalog.pg_type ft ON ft.oid = fa.atttypid, "
        "pg_catalog.pg_attribute ka "
        "WHERE fa.attrelid = $1::pg_catalog.oid AND fa.attname OPERATOR(pg_catalog.=) $2 "
        "AND ka.attrelid = $3::pg_catalog.oid AND ka.attname OPERATOR(pg_catalog.=) $4",
        {std::to_string(from), column, std::to_string(to), key[0]});
    if (rows.empty()) return;
    const auto& r = rows[0];
    auto family = [](const std::string& type) -> int {
        const unsigned long oid = std::stoul(type);
        if (oid == INT2OID || oid == INT4OID || oid == INT8OID) return 1;
        if (oid == TEXTOID || oid == VARCHAROID) return 2;
        return 0;
    };
    const bool same = *r[0] == *r[3] && *r[1] == *r[4] && *r[7] != "D" && *r[7] != "T";
    const int f = family(*r[0]);
    if (same || (f != 0 && f == family(*r[3]))) return;
    throw Error(ERRCODE_DATATYPE_MISMATCH,
                "foreign key " + from_table + "." + column + " (" + *r[2] + ") and the key it references, " +
                    to_table + "." + *r[6] + " (" + *r[5] + "), differ in type",
                "Related rows are matched by the text of their keys: use the referenced key's type "
                "(integer types of any size, or text and varchar, go together), and no date/time key.");
}

}  // namespace dionysus::catalog
