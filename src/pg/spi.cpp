#include "pg/spi.hpp"
#include "pg/user_context.hpp"
#include "wire/timestamp_text.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

#include <cstring>
#include <exception>
#include <stdexcept>
#include <unordered_map>

namespace dionysus::pg {

namespace {

struct CResult {  // palloc'd copy of an SPI result, built inside the guard
    uint64 nrows = 0;
    int ncols = 0;
    char** cells = nullptr;  // nrows*ncols, NULL for SQL NULL
    int ret = 0;
};

std::unordered_map<std::string, SPIPlanPtr> cached_plans;

CResult run(const std::string& sql, const std::vector<Value>& params, bool read_only,
            bool want_rows, bool cached = false, const std::vector<Oid>& param_types = {},
            bool generic_plan = false, bool utc_timestamps = false) {
    const int n = static_cast<int>(params.size());
    // Plain arrays built before entering the guard; palloc'd datums inside.
    std::vector<Oid> types(n, TEXTOID);
    for (int i = 0; i < n && i < static_cast<int>(param_types.size()); i++) types[i] = param_types[i];
    std::vector<const char*> cstrs(n, nullptr);
    std::vector<char> nulls(n, ' ');
    for (int i = 0; i < n; i++) {
        if (params[i]) cstrs[i] = params[i]->c_str();
        else nulls[i] = 'n';
    }
    const char* sql_c = sql.c_str();
    SPIPlanPtr plan = nullptr;
    // A plan keeps the parameter types it was prepared with: the same text
    // with other types is another plan (a Datum of the wrong type would be
    // read as the plan's).
    std::string plan_key;
    if (cached) {
        plan_key = sql;
        for (Oid t : types) plan_key += "\x1f" + std::to_string(t);
    }
    if (cached) {
        auto it = cached_plans.find(plan_key);
        if (it == cached_plans.end()) {
            Oid* tp = types.data();
            plan = guard([&]() -> SPIPlanPtr {
                // Parsed once, planned per execution unless asked otherwise:
                // parameters cast in SQL (e.g. '{1,2}'::int8[]) are folded
                // into constants an index scan can use only by a custom plan.
                SPIPlanPtr p = SPI_prepare_cursor(sql_c, n, tp,
                                                  generic_plan ? CURSOR_OPT_GENERIC_PLAN : CURSOR_OPT_CUSTOM_PLAN);
                if (p == nullptr)
                    elog(ERROR, "dionysus: could not prepare: %s", SPI_result_code_string(SPI_result));
                SPI_keepplan(p);
                return p;
            });
            cached_plans.emplace(plan_key, plan);
        } else {
            plan = it->second;
        }
    }
    Oid* types_p = types.data();
    const char** cstrs_p = cstrs.data();
    char* nulls_p = nulls.data();
    return guard([&]() -> CResult {
        CResult r;
        Datum* values = static_cast<Datum*>(palloc0(sizeof(Datum) * (n > 0 ? n : 1)));
        for (int i = 0; i < n; i++) {
            if (!cstrs_p[i]) continue;
            if (types_p[i] == TEXTOID) {
                values[i] = CStringGetTextDatum(cstrs_p[i]);
            } else {  // typed parameter: parsed once here, not per row by a cast
                Oid input, ioparam;
                getTypeInputInfo(types_p[i], &input, &ioparam);
                values[i] = OidInputFunctionCall(input, const_cast<char*>(cstrs_p[i]), ioparam, -1);
            }
        }
        r.ret = plan ? SPI_execute_plan(plan, values, nulls_p, read_only, 0)
                     : SPI_execute_with_args(sql_c, n, types_p, values, nulls_p, read_only, 0);
        if (r.ret < 0) elog(ERROR, "dionysus: SPI failed (%d) running: %s", r.ret, sql_c);
        r.nrows = SPI_processed;
        if (want_rows && SPI_tuptable != nullptr) {
            // Output functions looked up once per column and each row deformed
            // once (SPI_getvalue would do both per cell).
            TupleDesc desc = SPI_tuptable->tupdesc;
            const int nc = desc->natts;
            r.ncols = nc;
            r.cells = static_cast<char**>(palloc0(sizeof(char*) * (r.nrows * nc + 1)));
            FmgrInfo* out = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (nc + 1)));
            Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * (nc + 1)));
            bool* isnull = static_cast<bool*>(palloc(sizeof(bool) * (nc + 1)));
            // 't': timestamptz, 's': timestamp, printed by format_utc_timestamp
            char* timestamp_kind = static_cast<char*>(palloc0(nc + 1));
            for (int col = 0; col < nc; col++) {
                Oid type = TupleDescAttr(desc, col)->atttypid;
                Oid fn;
                bool varlena;
                getTypeOutputInfo(type, &fn, &varlena);
                fmgr_info(fn, &out[col]);
                if (utc_timestamps && type == TIMESTAMPTZOID) timestamp_kind[col] = 't';
                if (utc_timestamps && type == TIMESTAMPOID) timestamp_kind[col] = 's';
            }
            for (uint64 row = 0; row < r.nrows; row++) {
                heap_deform_tuple(SPI_tuptable->vals[row], desc, values, isnull);
                for (int col = 0; col < nc; col++) {
                    if (isnull[col] || TupleDescAttr(desc, col)->attisdropped) continue;
                    char*& cell = r.cells[row * nc + col];
                    if (timestamp_kind[col]) {
                        cell = static_cast<char*>(palloc(32));
                        size_t n = format_utc_timestamp(DatumGetInt64(values[col]), timestamp_kind[col] == 't', cell);
                        if (n > 0) {
                            cell[n] = '\0';
                            continue;
                        }
                        pfree(cell);
                    }
                    cell = OutputFunctionCall(&out[col], values[col]);
                }
            }
        }
        return r;
    });
}

std::vector<Row> to_rows(const CResult& r) {
    std::vector<Row> rows;
    rows.reserve(r.nrows);
    for (uint64 row = 0; row < r.nrows; row++) {
        Row out;
        out.reserve(r.ncols);
        for (int col = 0; col < r.ncols; col++) {
            const char* cell = r.cells[row * r.ncols + col];
            out.push_back(cell ? Value(cell) : std::nullopt);
        }
        rows.push_back(std::move(out));
    }
    return rows;
}

}  // namespace

namespace {

constexpr const char* kInternalSearchPath = "pg_catalog, pg_temp";
int open_connections = 0;
// The search_path of the caller of the outermost open SpiConnection.
std::string caller_search_path;

// Sets search_path for the current GUC nest level (like a function's SET
// clause); the level is popped by AtEOXact_GUC, or by the transaction's
// (or subtransaction's) abort.
void set_search_path(const char* path) {
    (void)set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

}  // namespace

SpiConnection::SpiConnection() {
    if (open_connections == 0) {
        const char* path = guard([] { return namespace_search_path; });
        caller_search_path = path ? path : "";
    }
    guc_nest_level_ = guard([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "dionysus: SPI_connect failed");
        const int level = NewGUCNestLevel();
        set_search_path(kInternalSearchPath);
        return level;
    });
    open_connections++;
}

void enter_user_context(Oid role, UserContext& saved) {
    GetUserIdAndSecContext(&saved.saved_user, &saved.saved_context);
    saved.guc_level = NewGUCNestLevel();
    set_search_path(kInternalSearchPath);
    SetUserIdAndSecContext(role, saved.saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

void leave_user_context(const UserContext& saved) {
    SetUserIdAndSecContext(saved.saved_user, saved.saved_context);
    AtEOXact_GUC(false, saved.guc_level);
}

SpiConnection::~SpiConnection() {
    open_connections--;
    if (std::uncaught_exceptions() > 0) return;  // the abort pops the GUC level and SPI
    try {
        const int level = guc_nest_level_;
        guard([level] {
            AtEOXact_GUC(true, level);
            SPI_finish();
        });
    } catch (...) {
        // The enclosing transaction's abort releases SPI.
    }
}

Value query_value_as_caller(const std::string& sql, const std::vector<Value>& params) {
    const int level = guard([] {
        const int l = NewGUCNestLevel();
        set_search_path(caller_search_path.c_str());
        return l;
    });
    Value v = query_value(sql, params);
    guard([level] { AtEOXact_GUC(true, level); });
    return v;
}

std::vector<Row> query(const std::string& sql, const std::vector<Value>& params, bool read_only) {
    return to_rows(run(sql, params, read_only, true));
}

uint64_t execute(const std::string& sql, const std::vector<Value>& params) {
    return run(sql, params, false, false).nrows;
}

RowSet query_cached_rows(const std::string& sql, const std::vector<Value>& params,
                         const std::vector<Oid>& types, bool generic_plan) {
    CResult r = run(sql, params, false, true, true, types, generic_plan, true);
    RowSet out;
    out.nrows_ = r.nrows;
    out.ncols_ = static_cast<size_t>(r.ncols);
    const size_t cells = r.nrows * out.ncols_;
    out.start_.resize(cells);
    out.length_.resize(cells);
    size_t total = 0;
    for (size_t i = 0; i < cells; i++) {
        out.length_[i] = r.cells[i] ? static_cast<uint32_t>(strlen(r.cells[i])) : RowSet::kNull;
        if (r.cells[i]) total += out.length_[i];
    }
    if (total >= RowSet::kNull)
        throw std::runtime_error("dionysus: a query result of " + std::to_string(total) +
                                 " bytes exceeds what one RowSet holds (4 GiB)");
    out.arena_.reserve(total);
    for (size_t i = 0; i < cells; i++) {
        out.start_[i] = static_cast<uint32_t>(out.arena_.size());
        if (r.cells[i]) out.arena_.append(r.cells[i], out.length_[i]);
    }
    return out;
}

std::vector<Row> query_cached(const std::string& sql, const std::vector<Value>& params,
                              const std::vector<Oid>& types, bool generic_plan, bool read_only) {
    return to_rows(run(sql, params, read_only, true, true, types, generic_plan));
}

uint64_t execute_cached(const std::string& sql, const std::vector<Value>& params,
                        const std::vector<Oid>& types) {
    return run(sql, params, false, false, true, types).nrows;
}

void forget_cached_plans() {
    for (auto& [sql, plan] : cached_plans) {
        SPIPlanPtr p = plan;
        try {
            guard([&] { SPI_freeplan(p); });
        } catch (...) {
        }
    }
    cached_plans.clear();
}

Value query_value(const std::string& sql, const std::vector<Value>& params) {
    auto rows = query(sql, params, false);
    if (rows.empty() || rows[0].empty()) return std::nullopt;
    return rows[0][0];
}

}  // namespace dionysus::pg
