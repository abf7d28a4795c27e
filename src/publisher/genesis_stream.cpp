#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/user_context.hpp"
#include "publisher/genesis_stream.hpp"
#include "publisher/genesis_query.hpp"
#include "wire/event_names.hpp"
#include "wire/naming.hpp"

namespace dionysus::publisher {

namespace {

GenesisFilter filter_of(const GenesisRun& run, const Model& model) {
    GenesisFilter f;
    f.model = run.model;
    f.from = run.from;
    f.to = run.to;
    if (run.visible_only && model.soft_delete_index) f.soft_delete_column = model.columns[*model.soft_delete_index].name;
    f.condition = run.condition;
    return f;
}

// Runs a statement of the run as the table's owner (the condition is that
// role's code, as every read of the model), read-only.
std::vector<pg::Row> run_as_owner(const Model& model, const GenesisStatement& s) {
    return pg::as_user(model.table_owner, [&] { return pg::query_cached(s.sql, s.params, s.types, false, true); });
}

}  // namespace

std::vector<GenesisRun> running_genesis_runs() {
    enum { kId, kTopic, kReplicaOnly, kModelName, kModel, kFrom, kTo, kCondition, kDuration, kVisibleOnly,
           kRowsTotal, kRowsDone, kCursor, kRunning };
    const auto rows = pg::query_cached(
        "SELECT g.id::pg_catalog.text, g.topic, g.replica_only::pg_catalog.text, g.model_name, "
        "g.model::pg_catalog.oid::pg_catalog.text, g.\"from\"::pg_catalog.text, g.\"to\"::pg_catalog.text, g.condition, "
        "pg_catalog.date_part('epoch', g.duration)::pg_catalog.text, g.visible_only::pg_catalog.text, "
        "g.rows_total::pg_catalog.text, g.rows_done::pg_catalog.text, g.cursor, "
        "COALESCE(pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) g.started_at), 0)::pg_catalog.text "
        "FROM dionysus.genesis_run g WHERE g.state = 'running' ORDER BY g.id");
    std::vector<GenesisRun> runs;
    for (const auto& r : rows) {
        GenesisRun run;
        run.id = std::stoll(*r[kId]);
        run.topic = *r[kTopic];
        run.replica_only = *r[kReplicaOnly] == "true";
        run.model_name = *r[kModelName];
        run.model = static_cast<Oid>(std::stoul(*r[kModel]));
        run.from = r[kFrom];
        run.to = r[kTo];
        run.condition = r[kCondition];
        run.duration_s = std::stod(*r[kDuration]);
        run.visible_only = *r[kVisibleOnly] == "true";
        if (r[kRowsTotal]) run.rows_total = std::stoll(*r[kRowsTotal]);
        run.rows_done = std::stoll(*r[kRowsDone]);
        run.cursor = r[kCursor];
        run.seconds_running = std::stod(*r[kRunning]);
        runs.push_back(std::move(run));
    }
    return runs;
}

void check_genesis_condition(const GenesisRun& run, const Model& model) {
    if (run.condition) check_genesis_condition(run.model, model.table_owner, *run.condition);
}

void start_genesis_run(GenesisRun& run, const Model& model) {
    check_genesis_condition(run, model);
    const auto count = run_as_owner(model, genesis_count(filter_of(run, model)));
    run.rows_total = std::stoll(*count.at(0).at(0));
    run.seconds_running = 0;
    pg::execute_cached(
        "UPDATE dionysus.genesis_run SET rows_total = $2::pg_catalog.int8, started_at = pg_catalog.now(), "
        "updated_at = pg_catalog.now() WHERE id = $1::pg_catalog.int8",
        {std::to_string(run.id), std::to_string(*run.rows_total)});
}

GenesisChunk read_genesis_chunk(const GenesisRun& run, const Model& model, const std::optional<std::string>& after,
                                int limit) {
    GenesisChunk chunk;
    const std::string updated = events::event_name(run.model_name, events::Event::Updated);
    for (const auto& r : run_as_owner(model, genesis_chunk(filter_of(run, model), after, limit))) {
        if (!r[0]) continue;
        OutboxRow row;
        row.id = static_cast<int64_t>(chunk.rows.size()) + 1;
        row.resource_class = run.model_name;
        row.resource_id = *r[0];
        row.event_name = updated;  // _destroyed when rendered soft-deleted (render.cpp)
        row.key = naming::message_key(run.model_name, *r[0]);
        row.genesis_run = run.id;
        row.genesis_replica_only = run.replica_only;
        row.genesis_visible_only = run.visible_only;
        chunk.last_key = *r[0];
        chunk.rows.push_back(std::move(row));
    }
    return chunk;
}

bool record_genesis_chunk(int64_t run_id, const std::string& last_key, int64_t rows) {
    // Durable at commit (the worker's session commits asynchronously): a run
    // resumes where genesis_runs said it was, not up to a WAL writer delay
    // (at 50,000 rows/s, some 10,000 rows) earlier. One WAL flush per chunk.
    pg::query_cached("SELECT pg_catalog.set_config('synchronous_commit', 'on', true)");
    return pg::execute_cached("UPDATE dionysus.genesis_run SET cursor = $2, rows_done = rows_done "
                              "OPERATOR(pg_catalog.+) $3::pg_catalog.int8, updated_at = pg_catalog.now() "
                              "WHERE id = $1::pg_catalog.int8 AND state = 'running'",
                              {std::to_string(run_id), last_key, std::to_string(rows)}) > 0;
}

void finish_genesis_run(const GenesisRun& run, const std::optional<std::string>& error) {
    const uint64_t ended = pg::execute_cached(
        "UPDATE dionysus.genesis_run SET state = CASE WHEN $2 IS NULL THEN 'finished' ELSE 'failed' END, error = $2, "
        "finished_at = pg_catalog.now(), updated_at = pg_catalog.now() WHERE id = $1::pg_catalog.int8 AND state = 'running'",
        {std::to_string(run.id), error});
    if (ended == 0 || error) return;
    // dionysus-rb's Genesis::Performed: who streamed what, for listeners.
    pg::query_cached(
        "SELECT pg_catalog.pg_notify('dionysus_genesis', pg_catalog.json_build_object("
        "'run_id', g.id, 'topic', CASE WHEN g.replica_only THEN g.topic OPERATOR(pg_catalog.||) '_genesis' "
        "ELSE g.topic END, 'model', g.model_name, 'table', g.model::pg_catalog.text, 'from', g.\"from\", "
        "'to', g.\"to\", 'rows', g.rows_done)::pg_catalog.text) FROM dionysus.genesis_run g WHERE g.id = $1::pg_catalog.int8",
        {std::to_string(run.id)});
}

}  // namespace dionysus::publisher
