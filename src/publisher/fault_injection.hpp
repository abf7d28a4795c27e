// Test-only fault injection points, in the spirit of PostgreSQL's injection
// points: the hidden GUC dionysus.fault_injection = '<point>=<message key>'
// makes the worker die (SIGSEGV) when a batch holding that key reaches the
// point, as a segfaulting serializer would. Points: crash_rendering= (once
// the batch is rendered), crash_producing= (once it was handed to
// librdkafka). Used by test_crash_protection.py; empty in production.
#pragma once

#include "kafka/producer.hpp"

#include <deque>
#include <string_view>

namespace dionysus::publisher {

void crash_if_injected(const std::deque<kafka::Message>& batch, std::string_view point);

}  // namespace dionysus::publisher
