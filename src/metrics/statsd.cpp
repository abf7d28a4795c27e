#include "metrics/statsd.hpp"
#include "util/cpp_only_file.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace dionysus::metrics {

namespace {

constexpr size_t kMaxDatagram = 1432;

std::string clean(const std::string& s) {
    std::string out = s;
    for (char& c : out)
        if (c == '|' || c == ',' || c == ':' || c == '#' || c == ' ' || c == '\n' || c == '@') c = '_';
    return out;
}

std::string with_tags(std::string line, const Tags& tags) {
    if (tags.empty()) return line;
    line += "|#";
    for (size_t i = 0; i < tags.size(); i++) {
        if (i) line += ',';
        line += clean(tags[i].first) + ':' + clean(tags[i].second);
    }
    return line;
}

std::string number(double v) {
    if (!std::isfinite(v)) v = 0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

std::string gauge_line(const std::string& name, double value, const Tags& tags) {
    return with_tags(clean(name) + ':' + number(value) + "|g", tags);
}

std::string counter_line(const std::string& name, long long delta, const Tags& tags) {
    return with_tags(clean(name) + ':' + std::to_string(delta) + "|c", tags);
}

bool parse_address(const std::string& address, std::string* host, std::string* port) {
    size_t colon;
    if (!address.empty() && address[0] == '[') {
        const size_t close = address.find(']');
        if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
        *host = address.substr(1, close - 1);
        colon = close + 1;
    } else {
        colon = address.rfind(':');
        if (colon == std::string::npos || address.find(':') != colon) return false;
        *host = address.substr(0, colon);
    }
    *port = address.substr(colon + 1);
    if (host->empty() || port->empty() || port->size() > 5) return false;
    for (char c : *port)
        if (c < '0' || c > '9') return false;
    const long p = std::stol(*port);
    return p > 0 && p < 65536;
}

StatsdSender::StatsdSender(const std::string& address) : address_(address) {
    std::string host, port;
    if (!parse_address(address, &host, &port))
        throw std::invalid_argument("dionysus.statsd_address \"" + address + "\" is not host:port");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr)
        throw std::invalid_argument("dionysus.statsd_address \"" + address + "\": " + gai_strerror(rc));
    fd_ = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // connect() on UDP only fixes the destination: sends are plain send().
    if (fd_ < 0 || connect(fd_, res->ai_addr, res->ai_addrlen) != 0) {
        freeaddrinfo(res);
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        throw std::invalid_argument("dionysus.statsd_address \"" + address + "\": cannot open a UDP socket");
    }
    freeaddrinfo(res);
}

StatsdSender::~StatsdSender() {
    if (fd_ >= 0) close(fd_);
}

void StatsdSender::send(const std::vector<std::string>& lines) {
    std::string datagram;
    auto flush = [&] {
        if (!datagram.empty()) (void)::send(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT);
        datagram.clear();
    };
    for (const auto& line : lines) {
        if (!datagram.empty() && datagram.size() + 1 + line.size() > kMaxDatagram) flush();
        if (!datagram.empty()) datagram += '\n';
        datagram += line;
    }
    flush();
}

}  // namespace dionysus::metrics
