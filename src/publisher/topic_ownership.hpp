// Which topics this publisher drains, with several publishers per database
// (dionysus.workers): each topic is held by one publisher at a time through
// a session lock of its own (an advisory lock tag SQL functions cannot
// take; released by the server when its process dies,
// so a dead publisher's topics are taken over at the next cycle of another);
// the declared topics, in name order, are dealt round robin so that each
// publisher prefers its share, and a publisher hands a topic back to the
// one that prefers it once that one is alive again. Between two drain
// cycles nothing of a topic is in flight, so a handover never reorders a key.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace dionysus::publisher {

class TopicOwnership {
public:
    TopicOwnership(int index, int count) : index_(index), count_(count) {}
    // Of `candidates` (topics with work), those this publisher drains in the
    // coming cycle. Needs an SPI connection.
    std::set<std::string> claim(const std::set<std::string>& candidates);
    // Whether it holds the topic now (within a cycle: claim runs between cycles).
    bool holds(const std::string& topic) const;

private:
    int index_, count_;
    std::set<std::string> held_;
};

// The publisher that prefers a topic: its position among the declared
// topics in name order, modulo count; an undeclared one (dropped while
// rows were pending) by a hash of its name.
int preferred_publisher(const std::string& topic, const std::vector<std::string>& declared_in_order, int count);

}  // namespace dionysus::publisher
