#include "util/pg_array_literal.hpp"
#include "util/cpp_only_file.hpp"

namespace dionysus::util {

void append_quoted_element(std::string& literal, std::string_view element) {
    literal += '"';
    for (char c : element) {
        if (c == '"' || c == '\\') literal += '\\';
        literal += c;
    }
    literal += '"';
}

std::string text_array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); i++) {
        if (i) out += ',';
        append_quoted_element(out, items[i]);
    }
    return out + "}";
}

std::string int_array_literal(const std::vector<int64_t>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); i++) {
        if (i) out += ',';
        out += std::to_string(items[i]);
    }
    return out + "}";
}

}  // namespace dionysus::util
