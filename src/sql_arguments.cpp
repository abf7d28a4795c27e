#include "sql_arguments.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/errcodes.h"
#include "utils/jsonb.h"
}

namespace dionysus {

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

void require_topic(const std::string& topic) {
    if (!pg::query_value("SELECT 1 FROM dionysus.topics WHERE name = $1", {topic}))
        throw Error(ERRCODE_UNDEFINED_OBJECT, "topic \"" + topic + "\" is not declared", "",
                    "Declare it first with dionysus.declare_topic(namespace, name).");
}

}  // namespace dionysus
