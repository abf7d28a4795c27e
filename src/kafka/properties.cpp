#include "kafka/properties.hpp"

#include <stdexcept>

#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_properties(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find_first_of(";\n", start);
        if (end == std::string::npos) end = text.size();
        std::string item = trim(text.substr(start, end - start));
        if (!item.empty()) {
            size_t eq = item.find('=');
            if (eq == std::string::npos || trim(item.substr(0, eq)).empty())
                throw std::invalid_argument("kafka property \"" + item +
                                            "\" is not of the form key=value");
            out.emplace_back(trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
        }
        start = end + 1;
    }
    return out;
}

}  // namespace dionysus::kafka
