// Rendering a batch, step by step: group the outbox rows by model, load
// each model's target rows (fan_out.cpp) and their sideloads
// (sideloads.cpp), render one message per target row, and put the messages
// back in outbox order.
#include "pg/boundary.hpp"
#include "publisher/render.hpp"
#include "catalog/declarations.hpp"
#include "extension/guc.hpp"
#include "publisher/fan_out.hpp"
#include "publisher/fault_injection.hpp"
#include "publisher/model_cache.hpp"
#include "publisher/model_record.hpp"
#include "publisher/sideloads.hpp"
#include "wire/event_names.hpp"
#include "wire/naming.hpp"
#include "wire/partitioning.hpp"
#include "wire/record_writer.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace dionysus::publisher {

namespace {

using RowRef = pg::RowSet::RowRef;

// One rendered message: key, value (nullopt: tombstone), partition key.
struct Rendered {
    std::string key;
    std::optional<std::string> value;
    std::optional<std::string> partition_key;
    std::string event;  // when not its outbox row's (a genesis row rendered soft-deleted)
};
// (position of its outbox row in the batch, message): sorted by position at the end.
using Positioned = std::vector<std::pair<size_t, Rendered>>;

// The message values of one model's target rows. A record published once
// is rendered straight into its message; one published several times in
// the batch is rendered once and kept.
class RecordRenderer {
public:
    RecordRenderer(const Model& model, const TargetRows& targets, size_t outbox_rows)
        : model_(model),
          rows_(targets.rows()),
          children_(load_children(model, targets.primary_keys())),
          related_(load_related_records(model, targets.rows())),
          uses_(rows_.size(), 0) {
        for (size_t k = 0; k < outbox_rows; k++)
            for (size_t index : targets.targets_of(k)) uses_[index]++;
    }

    // The envelope of `event` around the record of target row `index`.
    std::string value(const std::string& event, size_t index) {
        auto cached = record_of_.find(index);
        if (cached != record_of_.end()) return envelope(event, model_.model_name, cached->second);
        const RowRef row = rows_[index];
        const std::string id(*row[model_.pk_index]);
        collect_relations(row, id);
        size_t size = 512 + event.size() + model_.model_name.size();
        for (const auto& sideload : sideloads_) size += sideload.json.size() + sideload.name.size() + 4;
        std::string out;
        out.reserve(size);
        if (uses_[index] > 1) {
            append_model_record(out, model_, row, attrs_, links_, many_links_, sideloads_);
            return envelope(event, model_.model_name, record_of_.emplace(index, std::move(out)).first->second);
        }
        append_envelope_head(out, event, model_.model_name);
        append_model_record(out, model_, row, attrs_, links_, many_links_, sideloads_);
        append_envelope_tail(out);
        return out;
    }

private:
    // has_many: child ids in links, records sideloaded under the relation
    // name; has_one: the related record (or null). In dependency order.
    void collect_relations(const RowRef& row, const std::string& id) {
        many_links_.clear();
        sideloads_.clear();
        kids_of_.clear();
        for (size_t h = 0; h < model_.has_many.size(); h++) {
            const auto& rel = model_.has_many[h];
            auto kids = children_[h].find(id);
            kids_of_.push_back(kids == children_[h].end() ? nullptr : &kids->second);
            // string_views into `children_` (a ternary with a literal would
            // make a temporary std::string)
            const std::string_view ids =
                kids_of_[h] ? std::string_view(kids_of_[h]->first) : std::string_view("{}");
            many_links_.push_back(
                Attribute{rel.name, rel.child->columns[rel.child->pk_index].kind, true, false, ids});
        }
        for (const auto& [kind, h] : model_.sideloads) {
            if (kind == catalog::DependencyKind::HasMany) {
                sideloads_.push_back(Sideload{model_.has_many[h].name, kids_of_[h] ? std::string_view(kids_of_[h]->second)
                                                                                  : std::string_view("[]")});
            } else {
                const auto& rel = model_.has_one[h];
                const auto fk = row[rel.fk_index];
                auto target = fk ? related_[h].find(std::string(*fk)) : related_[h].end();
                sideloads_.push_back(Sideload{rel.name, target == related_[h].end() ? std::string_view("null")
                                                                                     : std::string_view(target->second)});
            }
        }
    }

    const Model& model_;
    const std::vector<RowRef>& rows_;
    const Children children_;
    const Related related_;
    std::vector<int> uses_;                           // per target row: outbox rows publishing it
    std::unordered_map<size_t, std::string> record_of_;  // records of rows used more than once
    // Scratch, reused for every row:
    std::vector<Attribute> attrs_, links_, many_links_;
    std::vector<Sideload> sideloads_;
    std::vector<const std::pair<std::string, std::string>*> kids_of_;  // per has_many: ids, records
};

// The partition key of a model row's message, from the row as fetched
// (events whose key is not captured: fan-out, genesis).
std::optional<std::string> partition_key_of(const Model& model, const RowRef& row) {
    if (model.partition_key_kind == catalog::PartitionKeyKind::None) return std::nullopt;
    return std::string(partitioning::partition_key_text(row[model.partition_key_index]));
}

// The messages of one model's outbox rows.
void render_model_events(const Model& model, const std::vector<const OutboxRow*>& model_rows,
                         const OutboxRow* batch_start, Positioned& rendered, std::vector<int64_t>& skipped) {
    const TargetRows targets(model, model_rows);
    RecordRenderer records(model, targets, model_rows.size());
    for (size_t k = 0; k < model_rows.size(); k++) {
        const OutboxRow* r = model_rows[k];
        const size_t position = r - batch_start;
        const std::vector<size_t>& target_rows = targets.targets_of(k);
        if (r->resource_column || r->observer) {
            // A dependency changed: `_updated` of every model row it
            // belongs to that still exists and is visible, with that row's
            // key and partition key. An observed change: of every row its
            // association finds, soft-deleted ones too (dionysus-rb's
            // observers republish them, canceled_at set).
            const size_t before = rendered.size();
            for (size_t index : target_rows) {
                const RowRef row = targets.rows()[index];
                if (!r->observer && model.soft_delete_index && row[*model.soft_delete_index] && !model.after_soft_delete)
                    continue;
                rendered.emplace_back(position, Rendered{naming::message_key(r->resource_class, *row[model.pk_index]),
                                                         records.value(r->event_name, index), partition_key_of(model, row)});
            }
            if (rendered.size() == before) skipped.push_back(r->id);
            continue;
        }
        if (r->genesis_run) {
            // A genesis row, as it is now: gone since its chunk was read
            // (its _destroyed event follows in the live stream), or
            // soft-deleted (_destroyed with its snapshot, unless visible_only).
            if (target_rows.empty()) {
                skipped.push_back(r->id);
                continue;
            }
            const RowRef row = targets.rows()[target_rows[0]];
            const bool soft_deleted = model.soft_delete_index && row[*model.soft_delete_index];
            if (soft_deleted && r->genesis_visible_only) {
                skipped.push_back(r->id);
                continue;
            }
            const std::string event =
                soft_deleted ? events::event_name(model.model_name, events::Event::Destroyed) : r->event_name;
            rendered.emplace_back(position, Rendered{*r->key, records.value(event, target_rows[0]),
                                                     partition_key_of(model, row), event});
            continue;
        }
        std::string value;
        if (!target_rows.empty()) {  // the row itself
            value = records.value(r->event_name, target_rows[0]);
        } else if (events::event_of(r->event_name) != events::Event::Destroyed) {
            skipped.push_back(r->id);  // deleted since; its _destroyed event follows
            continue;
        } else {
            const Column& pk = model.columns[model.pk_index];
            Attribute id{"id", pk.kind, false, !r->resource_id,
                         r->resource_id ? std::string_view(*r->resource_id) : std::string_view()};
            std::string record;
            append_deleted_record(record, id);
            value = envelope(r->event_name, model.model_name, record);
        }
        rendered.emplace_back(position, Rendered{naming::message_key(r->resource_class, r->resource_id.value_or("")),
                                                 std::move(value), r->partition_key});
    }
}

// Messages in outbox order; the messages of one outbox row stay together
// (in the order they were rendered). With a genesis replica each goes to
// <topic>_genesis too.
void emit_messages(const std::string& topic, const std::vector<OutboxRow>& rows, Positioned& rendered,
                   std::deque<kafka::Message>& out) {
    const bool replica = catalog::has_genesis_replica(topic);
    std::stable_sort(rendered.begin(), rendered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [position, one] : rendered) {
        const OutboxRow& r = rows[position];
        kafka::Message m;
        m.topic = topic;
        m.key = std::move(one.key);
        m.value = std::move(one.value);
        m.partition_key = std::move(one.partition_key);
        m.outbox_id = r.id;
        const std::string& event = one.event.empty() ? r.event_name : one.event;
        if (r.genesis_run) {
            m.headers = {{"event", event}, {"model", r.resource_class}, {"genesis_run", std::to_string(r.genesis_run)}};
            if (r.genesis_replica_only) m.topic = topic + "_genesis";
        } else {
            m.headers = {{"event", event}, {"model", r.resource_class}, {"outbox_id", std::to_string(r.id)}};
        }
        if (replica && !r.genesis_replica_only) {
            kafka::Message copy = m;
            copy.topic = topic + "_genesis";
            out.push_back(std::move(m));
            out.push_back(std::move(copy));
        } else {
            out.push_back(std::move(m));
        }
    }
}

}  // namespace

void render(const std::string& topic, const std::vector<OutboxRow>& rows, std::deque<kafka::Message>& out,
            std::vector<int64_t>& skipped) {
    // Hand-built messages as they are; model events grouped by model, so
    // that each model's target rows are loaded with one query.
    std::map<std::string, std::vector<const OutboxRow*>> by_model;
    Positioned rendered;
    rendered.reserve(rows.size());
    for (const auto& r : rows) {
        if (!r.message_key) {
            by_model[r.resource_class].push_back(&r);
        } else {
            rendered.emplace_back(&r - rows.data(),
                                  Rendered{*r.message_key,
                                           r.message ? std::optional<std::string>(hand_built_value(*r.message))
                                                     : std::nullopt,
                                           r.partition_key});
        }
    }
    for (const auto& [model_name, model_rows] : by_model) {
        const auto& model = cached_model(topic, model_name);
        if (!model) {  // unpublished since: nothing to serialize it with
            for (const OutboxRow* r : model_rows) skipped.push_back(r->id);
            continue;
        }
        render_model_events(*model, model_rows, rows.data(), rendered, skipped);
    }
    emit_messages(topic, rows, rendered, out);
    crash_if_injected(out, "crash_rendering=");
}

}  // namespace dionysus::publisher
