#include "wire/timestamp_text.hpp"

#include "util/cpp_only_file.hpp"

namespace dionysus {

namespace {

constexpr int64_t kUsecsPerDay = 86400LL * 1000000;

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
// civil_from_days).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y += 1;
}

char* two(char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
}

}  // namespace

size_t format_utc_timestamp(int64_t usecs, bool with_time_zone, char* out) {
    // Infinite timestamps are INT64_MIN/INT64_MAX: far outside 1..9999 below.
    int64_t days = usecs / kUsecsPerDay;
    int64_t time = usecs % kUsecsPerDay;
    if (time < 0) {
        time += kUsecsPerDay;
        days -= 1;
    }
    int64_t year;
    unsigned month, day;
    civil_from_days(days + 10957, year, month, day);  // 2000-01-01 is day 10957 of the Unix epoch
    if (year < 1 || year > 9999) return 0;
    char* p = out;
    p = two(p, static_cast<unsigned>(year / 100));
    p = two(p, static_cast<unsigned>(year % 100));
    *p++ = '-';
    p = two(p, month);
    *p++ = '-';
    p = two(p, day);
    *p++ = ' ';
    const int64_t seconds = time / 1000000;
    unsigned fraction = static_cast<unsigned>(time % 1000000);
    p = two(p, static_cast<unsigned>(seconds / 3600));
    *p++ = ':';
    p = two(p, static_cast<unsigned>(seconds / 60 % 60));
    *p++ = ':';
    p = two(p, static_cast<unsigned>(seconds % 60));
    if (fraction != 0) {
        *p++ = '.';
        char digits[6];
        for (int i = 5; i >= 0; i--, fraction /= 10) digits[i] = static_cast<char>('0' + fraction % 10);
        int n = 6;
        while (digits[n - 1] == '0') n--;
        for (int i = 0; i < n; i++) *p++ = digits[i];
    }
    if (with_time_zone) {
        *p++ = '+';
        *p++ = '0';
        *p++ = '0';
    }
    return static_cast<size_t>(p - out);
}

}  // namespace dionysus
