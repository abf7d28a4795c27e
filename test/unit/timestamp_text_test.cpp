// format_utc_timestamp against what PostgreSQL 15 prints with DateStyle ISO
// and TimeZone UTC (values taken from psql: SELECT ts, ts - '2000-01-01'
// as microseconds since 2000-01-01).
#include "wire/timestamp_text.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <string>

using dionysus::format_utc_timestamp;

namespace {

std::string tstz(int64_t usecs) {
    char buf[32];
    size_t n = format_utc_timestamp(usecs, true, buf);
    return std::string(buf, n);
}

std::string ts(int64_t usecs) {
    char buf[32];
    size_t n = format_utc_timestamp(usecs, false, buf);
    return std::string(buf, n);
}

constexpr int64_t kSec = 1000000;
constexpr int64_t kDay = 86400 * kSec;

}  // namespace

TEST(TimestampText, Epoch) {
    EXPECT_EQ(tstz(0), "2000-01-01 00:00:00+00");
    EXPECT_EQ(ts(0), "2000-01-01 00:00:00");
}

TEST(TimestampText, FractionWithoutTrailingZeros) {
    EXPECT_EQ(tstz(500000), "2000-01-01 00:00:00.5+00");
    EXPECT_EQ(tstz(123456), "2000-01-01 00:00:00.123456+00");
    EXPECT_EQ(tstz(1), "2000-01-01 00:00:00.000001+00");
    EXPECT_EQ(tstz(120000), "2000-01-01 00:00:00.12+00");
}

TEST(TimestampText, KnownDates) {
    EXPECT_EQ(tstz(757425780000000LL), "2024-01-01 12:03:00+00");
    EXPECT_EQ(tstz(762566399999999LL), "2024-02-29 23:59:59.999999+00");  // leap day
    EXPECT_EQ(tstz(3160857600000000LL), "2100-03-01 00:00:00+00");       // 2100 is not a leap year
    EXPECT_EQ(tstz(252455615999999999LL), "9999-12-31 23:59:59.999999+00");
    EXPECT_EQ(ts(757425780000000LL), "2024-01-01 12:03:00");
}

TEST(TimestampText, BeforeTheEpoch) {
    EXPECT_EQ(tstz(-1), "1999-12-31 23:59:59.999999+00");
    EXPECT_EQ(tstz(-kDay), "1999-12-31 00:00:00+00");
    EXPECT_EQ(tstz(-946684800000000LL), "1970-01-01 00:00:00+00");
    EXPECT_EQ(tstz(-63082281600000000LL), "0001-01-01 00:00:00+00");  // the first day covered
}

TEST(TimestampText, LeftToTheOutputFunction) {
    char buf[32];
    EXPECT_EQ(format_utc_timestamp(-63082281600000000LL - 1, true, buf), 0u);  // 1 BC
    EXPECT_EQ(format_utc_timestamp(252455615999999999LL + 1, true, buf), 0u);  // 10000-01-01
    EXPECT_EQ(format_utc_timestamp(INT64_MIN, true, buf), 0u);                 // -infinity
    EXPECT_EQ(format_utc_timestamp(INT64_MAX, true, buf), 0u);                 // infinity
}
