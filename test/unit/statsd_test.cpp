#include "metrics/statsd.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace dionysus::metrics;

TEST(Statsd, GaugeAndCounterLines) {
    EXPECT_EQ(gauge_line("dionysus.producer.outbox.latency.maximum", 1.25), "dionysus.producer.outbox.latency.maximum:1.25|g");
    EXPECT_EQ(gauge_line("x", 3, {{"topic", "app_bookings"}}), "x:3|g|#topic:app_bookings");
    EXPECT_EQ(counter_line("dionysus.producer.published", 42, {{"topic", "a"}, {"database", "app"}}),
              "dionysus.producer.published:42|c|#topic:a,database:app");
}

TEST(Statsd, TagValuesCannotBreakTheLine) {
    EXPECT_EQ(gauge_line("x", 1, {{"topic", "a|b,c:d#e f"}}), "x:1|g|#topic:a_b_c_d_e_f");
}

TEST(Statsd, NonFiniteValuesAreZero) { EXPECT_EQ(gauge_line("x", 0.0 / 0.0), "x:0|g"); }

TEST(Statsd, Addresses) {
    std::string host, port;
    EXPECT_TRUE(parse_address("127.0.0.1:8125", &host, &port));
    EXPECT_EQ(host, "127.0.0.1");
    EXPECT_EQ(port, "8125");
    EXPECT_TRUE(parse_address("[::1]:9125", &host, &port));
    EXPECT_EQ(host, "::1");
    EXPECT_FALSE(parse_address("localhost", &host, &port));
    EXPECT_FALSE(parse_address("localhost:", &host, &port));
    EXPECT_FALSE(parse_address(":8125", &host, &port));
    EXPECT_FALSE(parse_address("h:70000", &host, &port));
    EXPECT_FALSE(parse_address("h:81x", &host, &port));
    EXPECT_THROW(StatsdSender("nonsense"), std::invalid_argument);
}

TEST(Statsd, SendsDatagramsToAListener) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    StatsdSender sender("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
    std::vector<std::string> lines(100, std::string(30, 'a') + ":1|g");
    sender.send(lines);
    size_t received = 0, datagrams = 0;
    char buf[2048];
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (received < 100) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        ASSERT_LE(n, 1432);
        datagrams++;
        for (ssize_t i = 0; i < n; i++) received += buf[i] == '|';
    }
    EXPECT_EQ(received, 100u);
    EXPECT_GT(datagrams, 1u);  // 3,500 bytes do not fit one datagram
    close(fd);
}
