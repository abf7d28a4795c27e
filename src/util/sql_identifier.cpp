#include "util/sql_identifier.hpp"
#include "util/cpp_only_file.hpp"

namespace dionysus::util {

std::string quote_identifier(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace dionysus::util
