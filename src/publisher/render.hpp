// Rendering a batch: outbox rows in, Kafka messages out, in dionysus-rb's
// wire format with the current state of each row (snapshot at publish time).
//
// Wording, used across src/publisher:
//   outbox row   a row of dionysus.outbox: one change, captured in the
//                writer's transaction (resource_class = model name,
//                resource_id, event_name), or a hand-built message.
//   message      what goes to Kafka: key, value, partition key, headers.
//                One outbox row gives zero, one or many messages (and each
//                is sent twice with a genesis replica).
//   model        a table published on a topic under a model name (Booking),
//                with how its records are rendered (publisher/model.hpp).
//   dependency   a table whose changes republish the model rows they belong
//                to (a BookingsFee for its Booking), found through a
//                foreign key: has_many (it references the model) or has_one
//                (the model references it).
//   target row   a model row an outbox row's event is published for: the
//                row itself, or every row a changed dependency row belongs to.
//   fan-out      finding the target rows of a dependency change, and
//                rendering one message per target row (publisher/fan_out.hpp).
//   record       the JSON object of one row: attributes, "links", sideloads.
//   sideload     a related record rendered inside its parent's record:
//                children (has_many, an array) or a related record (has_one)
//                (publisher/sideloads.hpp).
#pragma once

#include "kafka/producer.hpp"
#include "publisher/outbox_queue.hpp"

#include <deque>
#include <string>
#include <vector>

namespace dionysus::publisher {

// Appends the messages of `rows` (consecutive outbox rows of `topic`) to
// `out`, in outbox order. Rows with nothing to send — the record of a
// _created/_updated event no longer exists, the model is no longer
// published — are appended to `skipped` (marked published as they are).
// Runs inside a transaction with an SPI connection.
void render(const std::string& topic, const std::vector<OutboxRow>& rows, std::deque<kafka::Message>& out,
            std::vector<int64_t>& skipped);

}  // namespace dionysus::publisher
