// dionysus.database's value: database names separated by commas, spaces
// around a name ignored, empty names and repeats dropped, order kept.
#pragma once

#include <string>
#include <vector>

namespace dionysus::util {

std::vector<std::string> split_name_list(const std::string& list);

}  // namespace dionysus::util
