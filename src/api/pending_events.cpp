#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/pending_events.hpp"

extern "C" {
#include "storage/lmgr.h"
}

namespace dionysus::api {

void settle_pending(const std::string& topic, const std::optional<std::string>& model_name, bool discard_pending,
                    const std::vector<Oid>& tables) {
    for (Oid table : tables) pg::guard([table] { LockRelationOid(table, ShareRowExclusiveLock); });
    // $2 NULL: every model of the topic
    const char* condition =
        "FROM dionysus.outbox WHERE topic = $1 AND published_at IS NULL "
        "AND ($2::pg_catalog.text IS NULL OR resource_class = $2)";
    if (discard_pending) {
        pg::execute(std::string("DELETE ") + condition, {topic, model_name});
        return;
    }
    const std::string pending = *pg::query_value(std::string("SELECT count(*)::pg_catalog.text ") + condition +
                                                     " AND message_key IS NULL",
                                                 {topic, model_name});
    if (pending == "0") return;
    throw pg::Error(ERRCODE_OBJECT_IN_USE,
                    pending + " event(s)" + (model_name ? " of model " + *model_name : std::string()) +
                        " on topic \"" + topic + "\" are not published yet",
                    "Events are rendered when published, which needs the declaration.",
                    "Wait until the publisher has sent them, or pass discard_pending => true to drop them "
                    "(with the pending hand-built messages).");
}

}  // namespace dionysus::api
