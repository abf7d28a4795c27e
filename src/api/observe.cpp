// dionysus.observe(topic, model, observed, attributes, association) (README
// "observe"): a change of any of `attributes` of an `observed` row
// republishes the related rows of a published model. Validated here against
// the catalog, stored in dionysus.observers; capture writes one outbox row
// per observed change (src/capture/outbox_writer.cpp), the publisher fans it
// out (src/publisher/fan_out.cpp).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/query_inspection.hpp"
#include "pg/user_context.hpp"
#include "api/arguments.hpp"
#include "api/capture_triggers.hpp"
#include "catalog/declarations.hpp"
#include "catalog/foreign_keys.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "util/pg_array_literal.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <algorithm>
#include <string>
#include <vector>

using namespace dionysus;
using pg::Error;
using pg::Value;

namespace {

// A query returning the ids of the model rows for the observed row's id
// ($1), run as the model table's owner (as every read of the model):
// checked by parsing it as that role. Raises what is wrong with it.
void check_association_query(Oid model, Oid observed, const std::string& association) {
    const std::string model_table = catalog::table_name(model);
    const std::string model_key_column = catalog::single_column_primary_key(model, model_table);
    const std::string observed_key = catalog::single_column_primary_key(observed, catalog::table_name(observed));
    const auto key_type = catalog::column_base_type(observed, observed_key);
    const Oid owner = catalog::relation_owner(model);
    const pg::QueryInspection query =
        pg::as_user(owner, [&] { return pg::inspect_query(association, key_type.base); });
    if (!query.plain_select)
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "association must be a foreign-key column of " + model_table +
                        " or one SELECT (without FOR UPDATE or data-modifying WITH) returning its ids for the "
                        "observed row's id $1");
    if (query.result_types.size() != 1)
        throw Error(ERRCODE_DATATYPE_MISMATCH,
                    "association query must return one column, the ids of " + model_table + " (it returns " +
                        std::to_string(query.result_types.size()) + ")",
                    "", "e.g. SELECT r.id FROM rentals r WHERE r.account_id = $1");
    // the ids are matched with the model's key by their text
    const Oid model_key = catalog::column_base_type(model, model_key_column).base;
    if (!catalog::keys_print_alike(query.result_types[0], model_key))
        throw Error(ERRCODE_DATATYPE_MISMATCH,
                    "association query returns " + catalog::type_name(query.result_types[0]) + ", the key of " +
                        model_table + " is " + catalog::type_name(model_key));
    catalog::require_objects_owned_by(owner, query.relations, query.functions, "association query");
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_observe) {
    const std::string topic = api::text_arg(fcinfo, 0, "topic");
    const Oid model = api::regclass_arg(fcinfo, 1, "model");
    const Oid observed = api::regclass_arg(fcinfo, 2, "observed");
    const Value attributes = api::optional_text_array_arg(fcinfo, 3);
    if (!attributes) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "attributes must not be NULL");
    const std::string association = api::nonempty_text_arg(fcinfo, 4, "association");

    pg::SpiConnection spi;
    catalog::require_topic(topic);
    const std::string model_table = catalog::table_name(model);
    const std::string model_key_column = catalog::single_column_primary_key(model, model_table);
    if (!pg::query_value("SELECT 1 FROM " + catalog::models_table() + " WHERE topic = $1 AND model = $2::pg_catalog.oid",
                         {topic, std::to_string(model)}))
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "table " + model_table + " is not published on topic \"" + topic + "\"",
                    "", "dionysus.publish it first: observers republish a published model.");
    const std::string observed_table = catalog::table_name(observed);
    catalog::require_capturable(observed, observed_table);
    const std::string observed_key = catalog::single_column_primary_key(observed, observed_table);
    catalog::require_stable_key_text(observed, observed_key, observed_table);

    // attributes: columns of the observed table, at least one, none NULL
    std::vector<std::string> names;
    bool has_null = false;
    for (const auto& r : pg::query("SELECT pg_catalog.unnest($1::pg_catalog.text[])", {attributes})) {
        if (r[0]) names.push_back(*r[0]);
        else has_null = true;
    }
    if (has_null) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "attributes must not contain NULL");
    if (names.empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "attributes must name at least one column");
    const auto missing = catalog::missing_columns(observed, names);
    if (!missing.empty())
        throw Error(ERRCODE_UNDEFINED_COLUMN, "attributes: table " + observed_table + " has no column \"" +
                                                  missing.front() + "\"");
    if (pg::query_value("SELECT 1 FROM dionysus.observers WHERE topic = $1 AND model = $2::pg_catalog.oid "
                        "AND observed = $3::pg_catalog.oid",
                        {topic, std::to_string(model), std::to_string(observed)}))
        throw Error(ERRCODE_DUPLICATE_OBJECT, "table " + observed_table + " is already observed for " + model_table +
                                                  " on topic \"" + topic + "\"");

    Value association_column, observed_column, association_query;
    if (catalog::has_column(model, association)) {
        // A foreign key of the model referencing the observed table: the
        // model rows whose column has the observed row's key.
        const auto keys = catalog::foreign_keys(model, observed);
        if (std::find(keys.begin(), keys.end(), association) == keys.end())
            throw Error(ERRCODE_INVALID_FOREIGN_KEY,
                        "column \"" + association + "\" of table " + model_table +
                            " is not a foreign key referencing table " + observed_table,
                        "", "Name a single-column foreign key of the model, or give a query returning the "
                            "model's ids for the observed row's id $1.");
        catalog::check_key_types(model, association, observed, model_table, observed_table);
        association_column = association;
        observed_column = observed_key;
    } else {
        check_association_query(model, observed, association);
        association_query = association;
    }
    pg::execute(
        "INSERT INTO dionysus.observers (topic, model, observed, attributes, association_column, observed_column, "
        "association_query) VALUES ($1, $2::pg_catalog.oid, $3::pg_catalog.oid, $4::pg_catalog.text[], $5, $6, $7)",
        {topic, std::to_string(model), std::to_string(observed), util::text_array_literal(names), association_column,
         observed_column, association_query});
    api::install_capture(observed);
    catalog::declarations_changed();
    PG_RETURN_VOID();
}

// dionysus.check_observer_query(observer) (for dionysus.validate): raises
// what observe() would say of the observer's association query now.
DIONYSUS_PG_FUNCTION(dionysus_check_observer_query) {
    const int64 id = PG_GETARG_INT64(0);
    pg::SpiConnection spi;
    const auto rows = pg::query("SELECT model::pg_catalog.oid::pg_catalog.text, observed::pg_catalog.oid::pg_catalog.text, "
                                "association_query FROM dionysus.observers WHERE id = $1::pg_catalog.int8",
                                {std::to_string(id)});
    if (rows.empty()) throw Error(ERRCODE_UNDEFINED_OBJECT, "observer " + std::to_string(id) + " does not exist");
    if (rows[0][2])
        check_association_query(static_cast<Oid>(std::stoul(*rows[0][0])), static_cast<Oid>(std::stoul(*rows[0][1])),
                                *rows[0][2]);
    PG_RETURN_VOID();
}
