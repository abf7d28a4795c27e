// Genesis runs as the publisher streams them (README "genesis"): which runs
// are running, the next chunk of a run's rows, and what became of it. A
// chunk is read in primary-key order after the run's last key and rendered
// like any batch, as a snapshot at publish time; no outbox row is written
// per streamed row. The run's cursor moves only once the broker
// acknowledged a chunk (and every chunk before it), so a crash or restart
// resumes after the last acknowledged chunk: its later rows are sent again,
// none is lost. Per key, Kafka receives snapshots in the order they were
// rendered, the live events' and the genesis's alike (one producer, one
// thread), so a newer snapshot is never followed by an older one. Runs
// inside a transaction with an SPI connection.
#pragma once

#include "publisher/model.hpp"
#include "publisher/outbox_queue.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dionysus::publisher {

struct GenesisRun {
    int64_t id = 0;
    std::string topic;  // the declared topic
    bool replica_only = false;
    std::string model_name;
    Oid model = InvalidOid;
    std::optional<std::string> from, to, condition;
    double duration_s = 0;  // spread the run over this long (0: as fast as it goes)
    bool visible_only = false;
    std::optional<int64_t> rows_total;  // nullopt until started
    int64_t rows_done = 0;
    std::optional<std::string> cursor;  // the last acknowledged key
    double seconds_running = 0;         // since started_at
};

// Every run in state 'running', oldest first.
std::vector<GenesisRun> running_genesis_runs();

// Raises unless the run's condition still passes genesis()'s checks (one
// expression; everything it uses the table owner's).
void check_genesis_condition(const GenesisRun& run, const Model& model);

// Starts a run that was never started (check_genesis_condition, then counts
// its rows, sets started_at).
void start_genesis_run(GenesisRun& run, const Model& model);

// The next chunk of a run: up to `limit` rows after `after`, as outbox rows
// of their own to render (id: their position, 1..n; genesis_run set).
struct GenesisChunk {
    std::vector<OutboxRow> rows;
    std::optional<std::string> last_key;  // of the chunk (nullopt: no row left)
};
GenesisChunk read_genesis_chunk(const GenesisRun& run, const Model& model, const std::optional<std::string>& after,
                                int limit);

// A chunk was acknowledged: the cursor moves to its last key, rows_done
// grows by its rows. False when the run is no longer running (canceled).
bool record_genesis_chunk(int64_t run_id, const std::string& last_key, int64_t rows);

// The run ended: state 'finished' (and NOTIFY dionysus_genesis with topic,
// model, window and run id, sent at commit) or 'failed' with `error`.
void finish_genesis_run(const GenesisRun& run, const std::optional<std::string>& error = std::nullopt);

}  // namespace dionysus::publisher
