#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "api/capture_triggers.hpp"

#include <string>

namespace dionysus::api {

namespace {

const char* const kTriggers[][2] = {
    {"dionysus_capture_insert",
     "CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS dionysus_new "
     "FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
    {"dionysus_capture_update",
     "CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS dionysus_old "
     "NEW TABLE AS dionysus_new FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
    {"dionysus_capture_delete",
     "CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS dionysus_old "
     "FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
    // refuses TRUNCATE (while capture is on): it would drop events silently
    {"dionysus_capture_truncate",
     "CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
};

}  // namespace

void install_capture(Oid relid) {
    for (const auto& trig : kTriggers) {
        if (pg::query_value("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = "
                             "$1::pg_catalog.oid AND tgname = $2",
                             {std::to_string(relid), std::string(trig[0])}))
            continue;
        auto ddl = pg::query_value(
            "SELECT pg_catalog.format($1, $2, $3::pg_catalog.oid::pg_catalog.regclass)",
            {std::string(trig[1]), std::string(trig[0]), std::to_string(relid)});
        pg::execute(*ddl);
    }
}

void remove_capture_if_unused(Oid relid) {
    if (pg::query_value("SELECT 1 FROM " + catalog::models_table() + " WHERE model = $1::pg_catalog.oid "
                         "UNION ALL SELECT 1 FROM dionysus.dependencies WHERE dependency = "
                         "$1::pg_catalog.oid "
                         "UNION ALL SELECT 1 FROM dionysus.observers WHERE observed = $1::pg_catalog.oid",
                         {std::to_string(relid)}))
        return;
    // A table dropped since it was declared has no triggers left to drop.
    if (!pg::query_value("SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
                          {std::to_string(relid)}))
        return;
    for (const auto& trig : kTriggers) {
        auto ddl = pg::query_value(
            "SELECT pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', $1, "
            "$2::pg_catalog.oid::pg_catalog.regclass)",
            {std::string(trig[0]), std::to_string(relid)});
        pg::execute(*ddl);
    }
}

}  // namespace dionysus::api
