// Bytes as bytea's hex text ("\x4a6f") and back: a Kafka value of any
// bytes (a poison message may not be UTF-8) stored in a bytea column
// through a text parameter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dionysus::util {

std::string bytea_hex(std::string_view bytes);
// nullopt when `text` is not "\x" followed by pairs of hex digits.
std::optional<std::string> from_bytea_hex(std::string_view text);

}  // namespace dionysus::util
