#include "util/name_list.hpp"
#include "util/cpp_only_file.hpp"

#include <algorithm>

namespace dionysus::util {

std::vector<std::string> split_name_list(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        size_t b = start, e = end;
        while (b < e && (list[b] == ' ' || list[b] == '\t')) b++;
        while (e > b && (list[e - 1] == ' ' || list[e - 1] == '\t')) e--;
        std::string name = list.substr(b, e - b);
        if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
        start = end + 1;
    }
    return out;
}

}  // namespace dionysus::util
