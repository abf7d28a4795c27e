// StatsD/DogStatsD over UDP, for dionysus.statsd_address: the lines (gauges
// and counters, DogStatsD tags) and a fire-and-forget sender. A lost
// datagram or an absent listener never blocks or fails the publisher.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dionysus::metrics {

using Tags = std::vector<std::pair<std::string, std::string>>;

// "name:value|g|#k:v,k2:v2" (no tag part without tags). Tag values have
// the characters StatsD gives a meaning to (|,:# and spaces) replaced by '_'.
std::string gauge_line(const std::string& name, double value, const Tags& tags = {});
std::string counter_line(const std::string& name, long long delta, const Tags& tags = {});

// "host:port" ([v6]:port too) -> host and port; false when malformed.
bool parse_address(const std::string& address, std::string* host, std::string* port);

class StatsdSender {
public:
    // Resolves the address once (getaddrinfo); throws std::invalid_argument
    // when it is malformed or does not resolve.
    explicit StatsdSender(const std::string& address);
    ~StatsdSender();
    StatsdSender(const StatsdSender&) = delete;
    StatsdSender& operator=(const StatsdSender&) = delete;
    // Sends the lines, packed into datagrams of at most 1432 bytes (one
    // Ethernet frame). Errors are ignored (UDP: nobody may be listening).
    void send(const std::vector<std::string>& lines);
    const std::string& address() const { return address_; }

private:
    std::string address_;
    int fd_ = -1;
};

}  // namespace dionysus::metrics
