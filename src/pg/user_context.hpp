// Running a piece of work as another role, in a restricted security context
// (as PostgreSQL does for maintenance commands and SECURITY DEFINER-like
// switches): the capture trigger reads the private catalog as the bootstrap
// superuser; the publisher runs user-supplied functions as their owner.
#pragma once

#include "pg/boundary.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace dionysus::pg {

// The caller's identity and settings level, while code runs as another role.
struct UserContext {
    Oid saved_user;
    int saved_context;
    int guc_level;
};

// The switch itself, in plain C calls that may raise Postgres errors: for a
// caller already inside a pg::guard region (capture, once per row). Enters a
// settings level of its own (NewGUCNestLevel) with search_path pinned to
// pg_catalog, pg_temp, then becomes `role` with SECURITY_LOCAL_USERID_CHANGE
// and SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary objects).
void enter_user_context(Oid role, UserContext& saved);
// Back to the caller, undoing every setting changed inside, even a plain SET
// or set_config(…, false) made by user code, as PostgreSQL does after running
// index expressions. On an error instead, the (sub)transaction's abort
// restores both.
void leave_user_context(const UserContext& saved);

// Runs fn() as `role` through enter_user_context, with row_security off as
// well (a query that policies would filter fails instead of silently losing
// rows), and restores the caller's identity and settings afterwards, also
// when fn throws. fn is C++: it may own objects with destructors.
// `search_path`: instead of pg_catalog, pg_temp (the consumer writes a
// target with the database's default path, which the owner's triggers
// expect; it runs nothing but the owner's code with the owner's rights).
template <typename Fn>
auto as_user(Oid role, Fn&& fn, const char* search_path = nullptr) -> decltype(fn()) {
    UserContext saved;
    guard([&] {
        enter_user_context(role, saved);
        (void)set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        if (search_path)
            (void)set_config_option("search_path", search_path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                                    false);
    });
    auto restore = [&] { guard([&] { leave_user_context(saved); }); };
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
