#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/functions.hpp"

extern "C" {
#include "utils/typcache.h"
}

namespace dionysus::catalog {

std::string qualified_function(Oid function) {
    auto text = pg::query_value(
        "SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, "
        "  (SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', tn.nspname, t.typname), ',' "
        "                                ORDER BY a.ord) "
        "     FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY a(typ, ord) "
        "     JOIN pg_catalog.pg_type t ON t.oid = a.typ "
        "     JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace)) "
        "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.oid = $1::pg_catalog.oid",
        {std::to_string(function)});
    if (!text)
        throw pg::Error(ERRCODE_UNDEFINED_FUNCTION, "function with OID " + std::to_string(function) + " does not exist");
    return *text;
}

std::string function_call_name(const std::string& regprocedure) {
    auto name = pg::query_value(
        "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p "
        "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = $1::pg_catalog.regprocedure",
        {regprocedure});
    if (!name) throw pg::Error(ERRCODE_UNDEFINED_FUNCTION, "function " + regprocedure + " does not exist");
    return *name;
}

namespace {

// "OPERATOR(schema.op)" of an operator of `type` the type cache found, or
// 42883 naming `what` when it found none.
std::string operator_text(Oid op, Oid type, const char* what) {
    auto text = OidIsValid(op) ? pg::query_value(
                                     "SELECT pg_catalog.format('OPERATOR(%I.%s)', n.nspname, o.oprname) "
                                     "FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace "
                                     "WHERE o.oid = $1::pg_catalog.oid",
                                     {std::to_string(op)})
                               : pg::Value();
    if (!text)
        throw pg::Error(ERRCODE_UNDEFINED_FUNCTION, "type with OID " + std::to_string(type) + " has no " + what + " operator");
    return *text;
}

}  // namespace

std::string equality_operator(Oid type) {
    const Oid op = pg::guard([&] { return lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr; });
    return operator_text(op, type, "equality");
}

OrderingOperators ordering_operators(Oid type) {
    Oid lt = InvalidOid, gt = InvalidOid;
    pg::guard([&] {
        TypeCacheEntry* entry = lookup_type_cache(type, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR);
        lt = entry->lt_opr;
        gt = entry->gt_opr;
    });
    return {operator_text(lt, type, "ordering"), operator_text(gt, type, "ordering")};
}

Oid function_owner(const std::string& regprocedure) {
    auto owner = pg::query_value("SELECT p.proowner::pg_catalog.text FROM pg_catalog.pg_proc p "
                                 "WHERE p.oid = $1::pg_catalog.regprocedure",
                                 {regprocedure});
    if (!owner) throw pg::Error(ERRCODE_UNDEFINED_FUNCTION, "function " + regprocedure + " does not exist");
    return static_cast<Oid>(std::stoul(*owner));
}

void require_owned_by_table_owner(Oid function, Oid relid, const std::string& table, const std::string& what) {
    auto owners = pg::query(
        "SELECT p.proowner OPERATOR(pg_catalog.=) c.relowner, p.oid::pg_catalog.regprocedure::pg_catalog.text, "
        "pg_catalog.pg_get_userbyid(p.proowner)::pg_catalog.text, pg_catalog.pg_get_userbyid(c.relowner)::pg_catalog.text "
        "FROM pg_catalog.pg_proc p, pg_catalog.pg_class c WHERE p.oid = $1::pg_catalog.oid AND c.oid = $2::pg_catalog.oid",
        {std::to_string(function), std::to_string(relid)});
    if (owners.empty() || *owners[0][0] == "t") return;
    throw pg::Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    what + " " + *owners[0][1] + " is owned by " + *owners[0][2] + ", table " + table + " by " +
                        *owners[0][3],
                    "dionysus runs a table's functions as the table's owner (the publisher its serializer and "
                    "partition key, the consumer its soft-delete strategy).",
                    "ALTER FUNCTION " + *owners[0][1] + " OWNER TO " + *owners[0][3] + ";");
}

void require_objects_owned_by(Oid role, const std::vector<Oid>& relations, const std::vector<Oid>& functions,
                              const std::string& what) {
    auto list = [](const std::vector<Oid>& oids) {
        std::string out = "{";
        for (size_t i = 0; i < oids.size(); i++) out += (i ? "," : "") + std::to_string(oids[i]);
        return out + "}";
    };
    auto foreign = pg::query(
        "SELECT x.name, pg_catalog.pg_get_userbyid(x.owner)::pg_catalog.text, "
        "pg_catalog.pg_get_userbyid($3::pg_catalog.oid)::pg_catalog.text FROM ("
        " SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name, c.relowner AS owner FROM pg_catalog.pg_class c"
        "  WHERE c.oid = ANY ($1::pg_catalog.oid[])"
        " UNION ALL SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text, p.proowner FROM pg_catalog.pg_proc p"
        "  WHERE p.oid = ANY ($2::pg_catalog.oid[])) x "
        "JOIN pg_catalog.pg_roles r ON r.oid = x.owner "
        "WHERE x.owner OPERATOR(pg_catalog.<>) $3::pg_catalog.oid AND NOT r.rolsuper ORDER BY 1 LIMIT 1",
        {list(relations), list(functions), std::to_string(role)});
    if (foreign.empty()) return;
    throw pg::Error(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    what + " uses " + *foreign[0][0] + ", owned by " + *foreign[0][1] + ": it runs as " +
                        *foreign[0][2] + ", who would run that role's code",
                    "Everything the query uses must be owned by " + *foreign[0][2] + " (or a superuser).");
}

}  // namespace dionysus::catalog
