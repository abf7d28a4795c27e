#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "extension/shared_state.hpp"
#include "publisher/topic_ownership.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/lock.h"
}

#include <algorithm>

namespace dionysus::publisher {

namespace {

// A topic's lock: an advisory lock tag SQL cannot take (pg_advisory_lock
// and friends use objsubid 1 and 2; ours is kLockKind), so no role that
// can connect can hold a topic hostage. pg_locks shows it as locktype
// 'advisory', database = this database, classid/objid = the two halves of
// a 64-bit FNV-1a hash of the topic name, objsubid 7.
constexpr uint16 kLockKind = 7;
// A preferred publisher that reported within this long is alive.
constexpr int64_t kPeerAliveMs = 5000;

LOCKTAG lock_tag(const std::string& topic) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : topic) h = (h ^ c) * 1099511628211ull;
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h), kLockKind);
    return tag;
}

bool try_lock(const std::string& topic) {
    const LOCKTAG tag = lock_tag(topic);
    // session lock (kept across transactions, released when the process exits), no wait
    return pg::guard([&] { return LockAcquire(&tag, ExclusiveLock, true, true); }) != LOCKACQUIRE_NOT_AVAIL;
}

void unlock(const std::string& topic) {
    const LOCKTAG tag = lock_tag(topic);
    pg::guard([&] { (void)LockRelease(&tag, ExclusiveLock, true); });
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

bool TopicOwnership::holds(const std::string& topic) const { return held_.count(topic) > 0; }

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
