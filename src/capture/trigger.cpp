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

extern "C" {
#include "commands/trigger.h"
}

using namespace dionysus;
using capture::CaptureEvent;
using pg::Error;

DIONYSUS_PG_FUNCTION(dionysus_capture) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be called as a trigger");
    auto* trigdata = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be an AFTER … FOR EACH STATEMENT trigger");
    if (!dionysus_capture_enabled) return PointerGetDatum(nullptr);

    CaptureEvent ev;
    if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event)) ev = CaptureEvent::Insert;
    else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) ev = CaptureEvent::Update;
    else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)) ev = CaptureEvent::Delete;
    else return PointerGetDatum(nullptr);  // TRUNCATE is not captured
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
