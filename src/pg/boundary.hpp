// The one guarded crossing between PostgreSQL (C, longjmp errors) and C++
// (exceptions, destructors). Two directions:
//
//  * Postgres -> C++: DIONYSUS_PG_FUNCTION(name) defines a V1 SQL-callable
//    function whose body is C++. Exceptions are caught, the message is copied
//    into palloc'd memory, and ereport(ERROR) is raised only after the catch
//    block has ended, so no C++ frame is ever longjmp'ed over.
//  * C++ -> Postgres: pg::guard(fn) runs fn inside PG_TRY. A Postgres error is
//    copied, the error state flushed, the memory context restored, and the
//    error rethrown as pg::Error. The callable must hold no objects with
//    destructors of its own: a longjmp only ever skips C frames.
//
// Include after postgres.h.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/elog.h"
}

#include <exception>
#include <type_traits>
#include <string>
#include <utility>

namespace dionysus::pg {

// An error raised by Postgres (or meant to become one), with its SQLSTATE.
class Error : public std::exception {
public:
    Error(int sqlerrcode, std::string message, std::string detail = {}, std::string hint = {})
        : sqlerrcode_(sqlerrcode), message_(std::move(message)), detail_(std::move(detail)),
          hint_(std::move(hint)) {}
    const char* what() const noexcept override { return message_.c_str(); }
    int sqlerrcode() const { return sqlerrcode_; }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }

private:
    int sqlerrcode_;
    std::string message_, detail_, hint_;
};

// Captures a Postgres error as pg::Error (implementation in boundary.cpp).
[[noreturn]] void rethrow_pg_error(MemoryContext caller_context);

template <typename Fn>
auto guard(Fn&& fn) -> decltype(fn()) {
    MemoryContext caller_context = CurrentMemoryContext;
    volatile bool failed = false;
    if constexpr (std::is_void_v<decltype(fn())>) {
        PG_TRY();
        { fn(); }
        PG_CATCH();
        { failed = true; }
        PG_END_TRY();
        if (failed) rethrow_pg_error(caller_context);
    } else {
        // Written through a pointer: a local assigned between sigsetjmp and
        // longjmp could be kept in a register and clobbered.
        decltype(fn()) result{};
        decltype(fn())* volatile out = &result;
        PG_TRY();
        { *out = fn(); }
        PG_CATCH();
        { failed = true; }
        PG_END_TRY();
        if (failed) rethrow_pg_error(caller_context);
        return result;
    }
}

// Error data copied out of a C++ catch block, raised after it has ended.
struct PendingError {
    int sqlerrcode = 0;
    char* message = nullptr;
    char* detail = nullptr;
    char* hint = nullptr;
};
void capture_exception(PendingError& out, const std::exception* e);  // e == nullptr: unknown
[[noreturn]] void raise(const PendingError& err);

}  // namespace dionysus::pg

// Defines a SQL-callable function `name` whose C++ body is `name##_impl`.
#define DIONYSUS_PG_FUNCTION(name)                                           \
    static Datum name##_impl(PG_FUNCTION_ARGS);                              \
    extern "C" {                                                             \
    PG_FUNCTION_INFO_V1(name);                                               \
    Datum name(PG_FUNCTION_ARGS) {                                           \
        ::dionysus::pg::PendingError pending_error_;                         \
        try {                                                                \
            return name##_impl(fcinfo);                                      \
        } catch (const std::exception& e) {                                  \
            ::dionysus::pg::capture_exception(pending_error_, &e);           \
        } catch (...) {                                                      \
            ::dionysus::pg::capture_exception(pending_error_, nullptr);      \
        }                                                                    \
        ::dionysus::pg::raise(pending_error_);                               \
    }                                                                        \
    }                                                                        \
    static Datum name##_impl(PG_FUNCTION_ARGS)
