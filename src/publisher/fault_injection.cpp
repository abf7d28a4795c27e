#include "publisher/fault_injection.hpp"
#include "extension/guc.hpp"

#include <csignal>

namespace dionysus::publisher {

void crash_if_injected(const std::deque<kafka::Message>& batch, std::string_view point) {
    const std::string_view fault = dionysus_fault_injection ? dionysus_fault_injection : "";
    if (fault.substr(0, point.size()) != point) return;
    const std::string_view key = fault.substr(point.size());
    for (const auto& m : batch)
        if (m.key == key) std::raise(SIGSEGV);
}

}  // namespace dionysus::publisher
