// An SQL identifier as a quoted name ("Name", with " doubled): dynamic SQL
// built from catalog names (a consumer target's columns) never lets a name
// become SQL text. Always quoted: a catalog name is exact, so quoting never
// changes which object it means.
#pragma once

#include <string>
#include <string_view>

namespace dionysus::util {

std::string quote_identifier(std::string_view name);

}  // namespace dionysus::util
