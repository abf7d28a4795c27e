#include "pg/boundary.hpp"

extern "C" {
#include "utils/memutils.h"
}

namespace dionysus::pg {

void rethrow_pg_error(MemoryContext caller_context) {
    // Copy the error out of ErrorContext before flushing it.
    MemoryContextSwitchTo(caller_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    Error err(edata->sqlerrcode, edata->message ? edata->message : "unknown error",
              edata->detail ? edata->detail : "", edata->hint ? edata->hint : "");
    FreeErrorData(edata);
    throw err;
}

void capture_exception(PendingError& out, const std::exception* e) {
    // pstrdup may itself fail only on out-of-memory, which is fatal anyway.
    if (e == nullptr) {
        out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        out.message = pstrdup("dionysus: unknown C++ exception");
        return;
    }
    if (auto* pe = dynamic_cast<const Error*>(e)) {
        out.sqlerrcode = pe->sqlerrcode();
        out.message = pstrdup(pe->what());
        if (!pe->detail().empty()) out.detail = pstrdup(pe->detail().c_str());
        if (!pe->hint().empty()) out.hint = pstrdup(pe->hint().c_str());
        return;
    }
    if (dynamic_cast<const std::bad_alloc*>(e)) {
        out.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        out.message = pstrdup("dionysus: out of memory");
        return;
    }
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message = psprintf("dionysus: %s", e->what());
}

void raise(const PendingError& err) {
    ereport(ERROR, (errcode(err.sqlerrcode), errmsg_internal("%s", err.message),
                    err.detail ? errdetail_internal("%s", err.detail) : 0,
                    err.hint ? errhint("%s", err.hint) : 0));
    pg_unreachable();
}

}  // namespace dionysus::pg
