// Applying consumed events to their targets (README "Consumer"), with
// dionysus-rb's Persistor and SynchronizableModel semantics, set-wise:
// consecutive records of one model that are applied the same way become
// one statement (jsonb_to_recordset of their attributes), whatever
// `import` says; a batch that fails is applied again message by message
// by the worker, so the set-wise path never decides what a poison message
// does to the others.
//
// Per record: id -> synced_id, the other deserialized attributes into the
// columns of their name (mapping applied), the whole set of attributes in
// synced_data; stale events (older than the row's synced_updated_at, else
// synced_created_at) are skipped; created/updated upsert and restore a
// soft-deleted row; destroyed soft-deletes (canceled_at in the payload and
// synced_canceled_at in the target), else calls the soft-delete strategy,
// else deletes. Sideloaded relationships are applied after their parents,
// recursively; local children a to-many relationship no longer lists are
// deleted. Every statement on a target runs as the target's owner.
#pragma once

#include "consumer/targets.hpp"
#include "pg/spi.hpp"
#include "wire/message_reader.hpp"
#include "wire/record_deserializer.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace dionysus::consumer {

class Applier {
public:
    // `notify`: dionysus.consumer_notify (kConsumerNotify*): collect a NOTIFY
    // payload per changed row, with its changed values or column names.
    Applier(Targets& targets, std::string topic, int notify);
    // Applies the events of one message, or of several messages in order
    // (set-wise where it can). Throws pg::Error or wire::MalformedMessage.
    void apply(const std::vector<const std::vector<wire::ConsumedEvent>*>& messages);
    // NOTIFY payloads of the rows changed so far, in order.
    std::vector<std::string>& notifications() { return notifications_; }
    uint64_t rows_changed() const { return rows_changed_; }

private:
    enum class Mode { Upsert, Strategy, Delete };
    struct Op {
        const Target* target = nullptr;
        std::string model_name, event;
        wire::EventKind kind = wire::EventKind::Other;
        bool aggregate_root = true;
        const wire::DeserializedRecord* record = nullptr;
        Mode mode = Mode::Upsert;
        // the columns assigned, in the target's order, with their JSON values
        std::vector<std::pair<const TargetColumn*, std::string>> values;
        std::string synced_id;  // JSON text
        std::string event_at;   // JSON text of synced_updated_at, else synced_created_at ("null")
        bool stale = false;     // older than the local row: skipped, with its sideloads
    };
    Op make_op(const Target* target, const std::string& model_name, const std::string& event, wire::EventKind kind,
               bool aggregate_root, const wire::DeserializedRecord* record) const;
    void apply_ops(std::vector<Op>& ops);
    struct RecordSource {
        std::string sql;
        std::vector<pg::Value> params;
    };
    RecordSource record_source(const std::vector<Op*>& run) const;
    void apply_run(const std::vector<Op*>& run);
    void upsert(const std::vector<Op*>& run);
    void remove(const std::vector<Op*>& run);
    void call_strategy(const std::vector<Op*>& run);
    void apply_sideloads(const std::vector<Op*>& run);
    // Rows a statement returned: (what, ordinal in the run, before, after, synced id); marks stale ops.
    void take_results(const std::vector<Op*>& run, const std::vector<pg::Row>& rows);
    // A changed row: counted, and its NOTIFY payload when notifying.
    void notify_row(const std::string& event, const std::string& model, const pg::Value& synced_id,
                    const std::string& action, const std::string& changes);

    Targets& targets_;
    std::string topic_;
    bool notify_;         // payloads at all
    bool notify_values_;  // with the values
    std::deque<wire::DeserializedRecord> records_;
    std::vector<std::string> notifications_;
    uint64_t rows_changed_ = 0;
    const std::string search_path_;  // for the targets' owners (default_search_path)
};

}  // namespace dionysus::consumer
