#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "consumer/targets.hpp"
#include "extension/guc.hpp"
#include "wire/naming.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_cast.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/errcodes.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace dionysus::consumer {

const TargetColumn* Target::column(const std::string& name) const {
    for (const auto& c : columns)
        if (c.name == name) return &c;
    return nullptr;
}

const TargetColumn* Target::destination(const std::string& attribute) const {
    auto it = remote_to_local.find(attribute);
    return column(it == remote_to_local.end() ? attribute : it->second);
}

namespace {

bool is_json(Oid type) { return type == JSONOID || type == JSONBOID; }

// Types whose typmod a cast from text applies as their input function does
// (rounding, or an error); for the others (varchar(n), char(n), bit(n),
// interval with fields, which its input function reads by them) an
// explicit cast does something else.
bool typmod_cast_is_input(Oid base, int32 mod) {
    if (base == INTERVALOID) return INTERVAL_RANGE(mod) == INTERVAL_FULL_RANGE;
    return base == NUMERICOID || base == TIMESTAMPOID || base == TIMESTAMPTZOID || base == TIMEOID ||
           base == TIMETZOID;
}

// What the catalogs say of a column's type (plain values: read under the guard).
struct TypeFacts {
    enum Kind { None, Scalar, Json, Array } kind = None;
    Oid read_as = InvalidOid;  // VARCHAROID/BPCHAROID: read without the length; else the column's type
    int32 max_chars = -1;      // varchar(n): n
};

TypeFacts type_facts(Oid type, int32 typmod) {
    return pg::guard([&] {
        TypeFacts f;
        int32 base_typmod = -1;
        const Oid base = getBaseTypeAndTypmod(type, &base_typmod);
        const int32 mod = typmod != -1 ? typmod : base_typmod;
        if (is_json(base)) {
            f.kind = TypeFacts::Json;
            return f;
        }
        // A cast from text through a function (regclass, name, xml, an
        // extension's CREATE CAST) is not the type's input function.
        HeapTuple cast = SearchSysCache2(CASTSOURCETARGET, ObjectIdGetDatum(TEXTOID), ObjectIdGetDatum(base));
        if (HeapTupleIsValid(cast)) {
            const bool by_function = ((Form_pg_cast)GETSTRUCT(cast))->castmethod == COERCION_METHOD_FUNCTION;
            ReleaseSysCache(cast);
            if (by_function) return f;
        }
        const Oid element = get_element_type(base);
        const Oid scalar = OidIsValid(element) ? getBaseType(element) : base;
        if (is_json(scalar) || type_is_rowtype(scalar) || get_typtype(scalar) == TYPTYPE_PSEUDO) return f;
        if (OidIsValid(element)) {
            int16 len;
            bool byval;
            char align, delim;
            Oid ioparam, input;
            get_type_io_data(element, IOFunc_input, &len, &byval, &align, &delim, &ioparam, &input);
            if (delim != ',') return f;  // box[]: ';' between elements
        }
        if (mod != -1 && !typmod_cast_is_input(scalar, mod)) {
            // A plain varchar(n)/char(n) column: read without its length,
            // which the assignment then checks as the input function would.
            if (type != base || OidIsValid(element) || (base != VARCHAROID && base != BPCHAROID)) return f;
            // the applier counts varchar(n)'s characters as UTF-8
            if (base == VARCHAROID && GetDatabaseEncoding() != PG_UTF8) return f;
            f.read_as = base;
            if (base == VARCHAROID) f.max_chars = mod - VARHDRSZ;
        }
        f.kind = OidIsValid(element) ? TypeFacts::Array : TypeFacts::Scalar;
        return f;
    });
}

// How a column's values reach SQL as text, if they can (TargetColumn::text).
void choose_text_transport(TargetColumn& c, Oid type, int32 typmod) {
    const TypeFacts f = type_facts(type, typmod);
    switch (f.kind) {
        case TypeFacts::None: return;
        case TypeFacts::Json:
            c.text = wire::ColumnText::Json;
            c.text_cast = "::pg_catalog.jsonb::" + c.type_sql;
            return;
        case TypeFacts::Scalar: c.text = wire::ColumnText::Scalar; break;
        case TypeFacts::Array: c.text = wire::ColumnText::Array; break;
    }
    c.text_cast = f.read_as == VARCHAROID ? "::pg_catalog.varchar"
                  : f.read_as == BPCHAROID ? "::pg_catalog.bpchar"
                                           : "::" + c.type_sql;
    c.max_chars = f.max_chars;
}

std::unique_ptr<Target> load(const std::string& model_name) {
    auto t = std::make_unique<Target>();
    pg::Value oid;
    // The declaration, one row per mapping entry (or one row without).
    const auto declared = pg::query_cached(
        "SELECT m.target::pg_catalog.oid::pg_catalog.text, m.soft_delete_strategy, m.remove_unlisted::pg_catalog.text, "
        "m.destroy_with_parent::pg_catalog.text, e.key, e.value FROM dionysus.consumed_models m "
        "LEFT JOIN LATERAL pg_catalog.jsonb_each_text(m.mapping) e ON true WHERE m.model_name = $1",
        {model_name});
    if (!declared.empty()) {
        oid = declared[0][0];
        // stored as regprocedure text ("s.f(s.t)"): called by its qualified name
        if (declared[0][1]) {
            t->soft_delete_strategy = pg::query_value(
                "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p "
                "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.oid = pg_catalog.to_regprocedure($1) AND p.proowner = (SELECT c.relowner "
                "FROM pg_catalog.pg_class c WHERE c.oid = $2::pg_catalog.oid)",
                {declared[0][1], declared[0][0]});
            // Dropped, renamed or no longer the owner's: the message fails
            // (dead letter) rather than becoming a hard delete.
            if (!t->soft_delete_strategy)
                t->strategy_problem = "soft_delete_strategy " + *declared[0][1] + " of model " + model_name +
                                      " is gone or no longer owned by the target's owner";
        }
        t->remove_unlisted = declared[0][2] == std::string("true");
        t->destroy_with_parent = declared[0][3] == std::string("true");
    } else {
        const std::string schema = dionysus_consumer_schema ? dionysus_consumer_schema : "public";
        oid = pg::query_value("SELECT c.oid::pg_catalog.text FROM pg_catalog.pg_class c "
                              "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                              {schema, naming::table_name_for_model(model_name)});
    }
    if (!oid) return nullptr;
    const auto rel = pg::query_cached(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relowner::pg_catalog.text "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = $1::pg_catalog.oid",
        {oid});
    if (rel.empty()) return nullptr;  // dropped since it was declared
    t->relid = static_cast<Oid>(std::stoul(*oid));
    t->qualified = *rel[0][0];
    t->owner = static_cast<Oid>(std::stoul(*rel[0][1]));
    for (const auto& row : pg::query_cached(
             "SELECT a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, a.atttypmod), "
             "a.atttypid::pg_catalog.text, a.atttypmod::pg_catalog.text "
             "FROM pg_catalog.pg_attribute a "
             "WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped "
             "AND a.attgenerated = '' ORDER BY a.attnum",
             {oid})) {
        TargetColumn c;
        c.name = *row[0];
        c.type_sql = *row[1];
        choose_text_transport(c, static_cast<Oid>(std::stoul(*row[2])), std::stoi(*row[3]));
        t->columns.push_back(std::move(c));
    }
    if (!t->has("synced_id")) return nullptr;  // a table of that name, but not a synchronizable one
    for (const auto& row : declared)
        if (row[4] && row[5]) t->remote_to_local[*row[5]] = *row[4];
    t->synced_at = t->has("synced_updated_at") ? "synced_updated_at" : t->has("synced_created_at") ? "synced_created_at" : "";
    return t;
}

}  // namespace

const Target* Targets::for_model(const std::string& model_name) {
    auto it = cache_.find(model_name);
    if (it == cache_.end()) it = cache_.emplace(model_name, load(model_name)).first;
    return it->second.get();
}

}  // namespace dionysus::consumer
