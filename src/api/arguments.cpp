#include "pg/boundary.hpp"
#include "api/arguments.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/errcodes.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace dionysus::api {

using pg::Error;

std::string text_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    if (PG_ARGISNULL(n))
        throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string(what) + " must not be NULL");
    return pg::guard([&] { return text_to_cstring(PG_GETARG_TEXT_PP(n)); });
}

std::string nonempty_text_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    std::string value = text_arg(fcinfo, n, what);
    if (value.empty())
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, std::string(what) + " must not be empty");
    return value;
}

pg::Value optional_text_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) return std::nullopt;
    return std::string(pg::guard([&] { return text_to_cstring(PG_GETARG_TEXT_PP(n)); }));
}

pg::Value optional_arg_as_text(FunctionCallInfo fcinfo, int n, Oid type) {
    if (PG_ARGISNULL(n)) return std::nullopt;
    return std::string(pg::guard([&] {
        Oid output;
        bool varlena;
        getTypeOutputInfo(type, &output, &varlena);
        return OidOutputFunctionCall(output, PG_GETARG_DATUM(n));
    }));
}

Oid regclass_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    if (PG_ARGISNULL(n))
        throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string(what) + " must not be NULL");
    return PG_GETARG_OID(n);
}

pg::Value optional_jsonb_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) return std::nullopt;
    return std::string(pg::guard([&] {
        Jsonb* jb = PG_GETARG_JSONB_P(n);
        return JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
    }));
}

bool bool_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    if (PG_ARGISNULL(n)) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string(what) + " must not be NULL");
    return PG_GETARG_BOOL(n);
}

std::vector<Oid> regclass_array_arg(FunctionCallInfo fcinfo, int n, const char* what) {
    std::vector<Oid> out;
    if (PG_ARGISNULL(n)) return out;
    // Postgres data inside the guard, C++ containers outside it.
    Datum* items = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    pg::guard([&] {
        ArrayType* arr = PG_GETARG_ARRAYTYPE_P(n);
        deconstruct_array(arr, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &items, &nulls, &count);
    });
    for (int i = 0; i < count; i++) {
        if (nulls[i]) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, std::string(what) + " must not contain NULL");
        out.push_back(DatumGetObjectId(items[i]));
    }
    return out;
}

pg::Value optional_text_array_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) return std::nullopt;
    return std::string(pg::guard([&] { return OidOutputFunctionCall(F_ARRAY_OUT, PG_GETARG_DATUM(n)); }));
}

}  // namespace dionysus::api
