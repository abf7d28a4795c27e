// dionysus.kafka_properties: extra librdkafka properties as text. Pure C++
// (no Postgres), unit-tested in test/unit/kafka_properties_test.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dionysus::kafka {

// Parses "k=v;k=v" (also newline-separated) into (key, value) pairs, in
// order; throws std::invalid_argument.
std::vector<std::pair<std::string, std::string>> parse_properties(const std::string& text);

}  // namespace dionysus::kafka
