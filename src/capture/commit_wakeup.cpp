#include "pg/boundary.hpp"
#include "capture/commit_wakeup.hpp"
#include "extension/shared_state.hpp"

extern "C" {
#include "access/xact.h"
}

namespace dionysus::capture {

namespace {

bool callback_registered = false;
bool outbox_written_in_xact = false;

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            // Runs after the commit became visible: the worker sees our rows.
            if (outbox_written_in_xact) wake_publisher();
            outbox_written_in_xact = false;
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
            outbox_written_in_xact = false;
            break;
        default:
            break;
    }
}

}  // namespace

void note_outbox_write() {
    if (!callback_registered) {
        pg::guard([] { RegisterXactCallback(xact_callback, nullptr); });
        callback_registered = true;
    }
    outbox_written_in_xact = true;
}

}  // namespace dionysus::capture
