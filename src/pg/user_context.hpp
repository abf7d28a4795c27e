// Running a piece of work as another role, in a restricted security context
// (as PostgreSQL does for maintenance commands and SECURITY DEFINER-like
// switches): the capture trigger reads the private catalog as the bootstrap
// superuser; the publisher runs user-supplied functions as their owner.
#pragma once

#include "pg/boundary.hpp"

extern "C" {
#include "miscadmin.h"
}

namespace dionysus::pg {

// Opens a settings level (NewGUCNestLevel) with search_path pinned to
// pg_catalog, pg_temp and row_security off (a query that policies would
// filter fails instead of silently losing rows); returns the level.
int open_restricted_settings();
// Closes it, undoing every setting changed inside, even a plain SET or
// set_config(…, false) made by user code, as PostgreSQL does after running
// index expressions.
void close_restricted_settings(int level);

// Runs fn() as `role` with SECURITY_LOCAL_USERID_CHANGE and
// SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary objects), inside
// its own settings level (user code cannot change the session's
// search_path, DateStyle, …), and restores the caller's identity and
// settings afterwards, also when fn throws. fn is C++: it may own objects
// with destructors.
template <typename Fn>
auto as_user(Oid role, Fn&& fn) -> decltype(fn()) {
    Oid saved_user;
    int saved_context;
    const int level = open_restricted_settings();
    guard([&] {
        GetUserIdAndSecContext(&saved_user, &saved_context);
        SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    });
    auto restore = [&] {
        guard([&] { SetUserIdAndSecContext(saved_user, saved_context); });
        close_restricted_settings(level);
    };
    if constexpr (std::is_void_v<decltype(fn())>) {
        try {
            fn();
        } catch (...) {
            restore();
            throw;
        }
        restore();
    } else {
        try {
            auto result = fn();
            restore();
            return result;
        } catch (...) {
            restore();
            throw;
        }
    }
}

}  // namespace dionysus::pg
