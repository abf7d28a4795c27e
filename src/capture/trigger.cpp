// dionysus.capture(): the statement-level AFTER trigger with transition
// tables that publish installs (README "What a change becomes"): one call
// per statement, whatever its row count. It finds the table's capture
// (table_capture.cpp) and writes the statement's outbox rows natively
// (outbox_writer.cpp), without SPI.
#include "pg/boundary.hpp"
#include "capture/commit_wakeup.hpp"
#include "capture/outbox_writer.hpp"
#include "capture/table_capture.hpp"
#include "extension/guc.hpp"

#include <string>

extern "C" {
#include "commands/trigger.h"
#include "utils/rel.h"
}

using namespace dionysus;
using capture::CaptureEvent;
using pg::Error;

DIONYSUS_PG_FUNCTION(dionysus_capture) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be called as a trigger");
    auto* trigdata = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be a FOR EACH STATEMENT trigger");
    if (!dionysus_capture_enabled) return PointerGetDatum(nullptr);
    if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event)) {
        // TRUNCATE has no transition tables: its rows would vanish without
        // their _destroyed events (and a dependency's without its parents' _updated).
        const std::string table = pg::guard([&] { return RelationGetRelationName(trigdata->tg_relation); });
        throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "TRUNCATE of \"" + table + "\" would drop the events of its rows",
                    "dionysus publishes events for the rows of published tables and their dependencies.",
                    "DELETE the rows to publish their events, or SET dionysus.capture = off to truncate "
                    "without events (superusers, or roles granted SET on it).");
    }
    if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be an AFTER … FOR EACH STATEMENT trigger");

    CaptureEvent ev;
    if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event)) ev = CaptureEvent::Insert;
    else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) ev = CaptureEvent::Update;
    else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)) ev = CaptureEvent::Delete;
    else return PointerGetDatum(nullptr);
    if ((ev != CaptureEvent::Delete && trigdata->tg_newtable == nullptr) ||
        (ev != CaptureEvent::Insert && trigdata->tg_oldtable == nullptr))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() needs the statement's transition tables",
                    "Install capture with dionysus.publish().");

    const capture::TableCapture* capture = capture::table_capture(trigdata->tg_relation);
    uint64 written = pg::guard([&] { return capture::write_outbox_rows(capture, trigdata, ev); });
    if (written > 0) capture::note_outbox_write();
    return PointerGetDatum(nullptr);
}
