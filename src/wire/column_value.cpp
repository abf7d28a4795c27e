#include "wire/column_value.hpp"
#include "util/pg_array_literal.hpp"
#include "util/cpp_only_file.hpp"

#include <simdjson.h>

namespace dionysus::wire {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::optional<std::string> scalar_text(element e) {
    switch (e.type()) {
        case element_type::NULL_VALUE:
            return std::nullopt;
        case element_type::STRING:
            return std::string(std::string_view(e.get_string()));
        case element_type::BOOL:
            return std::string(bool(e.get_bool()) ? "true" : "false");
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE:
            return simdjson::minify(e);  // as written (minified): 1, 2.5, 1e+20
        default:
            throw ValueDoesNotFit("a JSON " + std::string(e.is_array() ? "array" : "object") +
                                  " for a column that holds one value");
    }
}

void append_array(std::string& out, element e) {
    out += '{';
    bool first = true;
    for (element item : simdjson::dom::array(e)) {
        if (!first) out += ',';
        first = false;
        if (item.is_array()) {
            append_array(out, item);
        } else if (auto text = scalar_text(item)) {
            util::append_quoted_element(out, *text);
        } else {
            out += "NULL";
        }
    }
    out += '}';
}

}  // namespace

std::optional<std::string> column_text(std::string_view json, ColumnKind kind) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json.data(), json.size());
    element e;
    if (auto error = parser.parse(padded).get(e))
        throw ValueDoesNotFit(std::string("not JSON: ") + simdjson::error_message(error));
    if (e.is_null()) return std::nullopt;
    switch (kind) {
        case ColumnKind::Json:
            return simdjson::minify(e);
        case ColumnKind::Array: {
            if (!e.is_array()) throw ValueDoesNotFit("a JSON value that is not an array for an array column");
            std::string out;
            append_array(out, e);
            return out;
        }
        case ColumnKind::Scalar:
        default:
            return scalar_text(e);
    }
}

}  // namespace dionysus::wire
