// dionysus.genesis and dionysus.cancel_genesis (README "genesis"): a run
// re-streams a published model's existing rows on its topic. Validated
// here and stored in dionysus.genesis_run; the publisher worker streams it
// (src/publisher/genesis_stream.cpp).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/arguments.hpp"
#include "capture/commit_wakeup.hpp"
#include "catalog/declarations.hpp"
#include "catalog/relations.hpp"
#include "publisher/genesis_query.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/errcodes.h"
}

#include <string>

using namespace dionysus;
using pg::Error;
using pg::Value;

namespace {

constexpr const char* kReplicaSuffix = "_genesis";

// The declared topic a genesis names, and whether it names its replica.
struct Destination {
    std::string topic;
    bool replica_only = false;
};

Destination destination_of(const std::string& name) {
    if (pg::query_value("SELECT 1 FROM " + catalog::topics_table() + " WHERE name = $1", {name})) return {name, false};
    const std::string suffix = kReplicaSuffix;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string base = name.substr(0, name.size() - suffix.size());
        const Value replica = pg::query_value("SELECT genesis_replica::text FROM " + catalog::topics_table() + " WHERE name = $1", {base});
        if (replica && *replica == "true") return {base, true};
        if (replica)
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "topic \"" + base + "\" has no genesis replica", "",
                        "Declare it with genesis_replica => true, or stream on \"" + base + "\" itself.");
    }
    catalog::require_topic(name);  // raises: not declared
    return {name, false};
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_genesis) {
    const std::string topic_arg = api::nonempty_text_arg(fcinfo, 0, "topic");
    const Oid model = api::regclass_arg(fcinfo, 1, "model");
    const Value from = api::optional_arg_as_text(fcinfo, 2, TIMESTAMPTZOID);
    const Value to = api::optional_arg_as_text(fcinfo, 3, TIMESTAMPTZOID);
    const Value duration = api::optional_arg_as_text(fcinfo, 4, INTERVALOID);
    if (!duration) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "duration must not be NULL", "", "Pass '0' to stream as fast as the broker takes it.");
    const bool visible_only = api::bool_arg(fcinfo, 5, "visible_only");
    const Value condition = api::optional_text_arg(fcinfo, 6);

    pg::SpiConnection spi;
    const Destination destination = destination_of(topic_arg);
    const std::string table = catalog::table_name(model);
    const auto declared = pg::query(
        "SELECT m.model_name FROM " + catalog::models_table() + " m WHERE m.topic = $1 AND m.model = $2::pg_catalog.oid",
        {destination.topic, std::to_string(model)});
    if (declared.empty()) {
        if (pg::query_value("SELECT 1 FROM dionysus.dependencies WHERE topic = $1 AND dependency = $2::pg_catalog.oid",
                            {destination.topic, std::to_string(model)}))
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "table " + table + " is a dependency on topic \"" + destination.topic +
                            "\", not a model published on it",
                        "", "A genesis streams published models; their records carry the dependency's rows.");
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "table " + table + " is not published on topic \"" + destination.topic + "\"", "",
                    "dionysus.publish it first.");
    }
    if (*pg::query_value("SELECT ($1::pg_catalog.interval OPERATOR(pg_catalog.<) '0')::pg_catalog.text", {duration}) ==
        "true")
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "duration must not be negative");
    if (from && to &&
        *pg::query_value("SELECT ($1::pg_catalog.timestamptz OPERATOR(pg_catalog.>) $2::pg_catalog.timestamptz)::pg_catalog.text",
                         {from, to}) == "true")
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "\"from\" must not be later than \"to\"");
    if ((from || to) && !catalog::has_column(model, publisher::kGenesisWindowColumn))
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    "table " + table + " has no column \"" + publisher::kGenesisWindowColumn +
                        "\": \"from\" and \"to\" select rows by it");
    if (condition) {
        if (condition->find_first_not_of(" \t\r\n") == std::string::npos)
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "condition must not be empty", "",
                        "Pass NULL to stream every row.");
        // The worker runs it as the table's owner (as every read of the model).
        publisher::check_genesis_condition(model, catalog::relation_owner(model), *condition);
    }
    const Value id = pg::query_value(
        "INSERT INTO dionysus.genesis_run (topic, replica_only, model, model_name, \"from\", \"to\", duration, "
        "visible_only, condition) VALUES ($1, $2::pg_catalog.bool, $3::pg_catalog.oid, $4, $5::pg_catalog.timestamptz, "
        "$6::pg_catalog.timestamptz, $7::pg_catalog.interval, $8::pg_catalog.bool, $9) RETURNING id::pg_catalog.text",
        {destination.topic, std::string(destination.replica_only ? "true" : "false"), std::to_string(model),
         *declared[0][0], from, to, duration, std::string(visible_only ? "true" : "false"), condition});
    capture::note_outbox_write();  // wake the worker at commit
    return Int64GetDatum(std::stoll(*id));
}

DIONYSUS_PG_FUNCTION(dionysus_cancel_genesis) {
    const int64 id = PG_GETARG_INT64(0);
    pg::SpiConnection spi;
    const Value state = pg::query_value("SELECT state FROM dionysus.genesis_run WHERE id = $1::pg_catalog.int8 FOR UPDATE",
                                        {std::to_string(id)});
    if (!state)
        throw Error(ERRCODE_UNDEFINED_OBJECT, "genesis run " + std::to_string(id) + " does not exist", "",
                    "dionysus.genesis_runs lists the runs.");
    if (*state != "running") {
        pg::guard([&] { ereport(NOTICE, (errmsg("genesis run %lld is already %s", static_cast<long long>(id), state->c_str()))); });
        PG_RETURN_BOOL(false);
    }
    pg::execute("UPDATE dionysus.genesis_run SET state = 'canceled', finished_at = pg_catalog.now(), "
                "updated_at = pg_catalog.now() WHERE id = $1::pg_catalog.int8",
                {std::to_string(id)});
    PG_RETURN_BOOL(true);
}
