#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "extension/shared_state.hpp"
#include "publisher/topic_ownership.hpp"

#include <algorithm>

namespace dionysus::publisher {

namespace {

// pg_locks shows these as advisory locks with classid 0x64696f6e ("dion")
// and objid the topic name's hashtext.
constexpr const char* kLockClass = "1684631406";
// A preferred publisher that reported within this long is alive.
constexpr int64_t kPeerAliveMs = 5000;

bool try_lock(const std::string& topic) {
    return pg::query_value("SELECT pg_catalog.pg_try_advisory_lock(" + std::string(kLockClass) +
                               "::pg_catalog.int4, pg_catalog.hashtext($1))::pg_catalog.text",
                           {topic})
               .value_or("false") == "true";
}

void unlock(const std::string& topic) {
    pg::query_value("SELECT pg_catalog.pg_advisory_unlock(" + std::string(kLockClass) +
                        "::pg_catalog.int4, pg_catalog.hashtext($1))::pg_catalog.text",
                    {topic});
}

}  // namespace

int preferred_publisher(const std::string& topic, const std::vector<std::string>& declared_in_order, int count) {
    if (count <= 1) return 0;
    const auto it = std::lower_bound(declared_in_order.begin(), declared_in_order.end(), topic);
    if (it != declared_in_order.end() && *it == topic) return static_cast<int>((it - declared_in_order.begin()) % count);
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : topic) h = (h ^ c) * 16777619u;
    return static_cast<int>(h % static_cast<uint32_t>(count));
}

std::set<std::string> TopicOwnership::claim(const std::set<std::string>& candidates) {
    std::vector<std::string> declared;
    if (count_ > 1) {
        // "C" order: every publisher deals the same way whatever its collation.
        for (auto& r : pg::query("SELECT name FROM " + catalog::topics_table() + " ORDER BY name COLLATE \"C\""))
            declared.push_back(std::move(*r[0]));
        std::sort(declared.begin(), declared.end());
    }
    std::set<std::string> owned;
    for (const auto& topic : candidates) {
        const int preferred = preferred_publisher(topic, declared, count_);
        const bool mine = preferred == index_;
        if (held_.count(topic)) {
            if (!mine && peer_alive(preferred, kPeerAliveMs)) {
                unlock(topic);
                held_.erase(topic);
                continue;
            }
            owned.insert(topic);
        } else if ((mine || !peer_alive(preferred, kPeerAliveMs)) && try_lock(topic)) {
            held_.insert(topic);
            owned.insert(topic);
        }
    }
    return owned;
}

}  // namespace dionysus::publisher
