// PostgreSQL text output -> JSON, as Rails 7 renders the same column read by
// ActiveRecord (ActiveRecord type cast, then `as_json`, then ActiveSupport's
// JSON encoder). dionysus-rb consumers compare and store these values, so
// each rule follows that Ruby code path rather than a generic JSON mapping.
//
// Input: text output of a session with DateStyle=ISO, TimeZone=UTC,
// IntervalStyle=iso_8601, extra_float_digits=1, bytea_output=hex.
//
// | Kind (pg types)                | PostgreSQL text                | JSON                                  |
// |--------------------------------|--------------------------------|---------------------------------------|
// | Integer (int2 int4 int8 oid)   | `42`                           | `42`                                  |
// | Numeric (numeric)              | `50.00`, `100`, `-0.50`        | `"50.0"`, `"100.0"`, `"-0.5"` (BigDecimal#to_s("F")) |
// |                                | `NaN`, `Infinity`, `-Infinity` | `null` (BigDecimal#as_json: nil unless finite) |
// | Float (float4 float8)          | `100`, `1.5`, `1e+20`, `1.5e-07` | `100.0`, `1.5`, `1.0e+20`, `1.5e-07` (Ruby Float#to_s) |
// |                                | `0.0001`, `1e-05`, `1e+15`, `1e+16` | `0.0001`, `1.0e-05`, `1000000000000000.0`, `1.0e+16` (scientific when exponent < -4 or >= 16) |
// |                                | `NaN`, `Infinity`, `-Infinity` | `null`                                |
// | Boolean (bool)                 | `t`, `f`                       | `true`, `false`                       |
// | Json (json jsonb)              | `{"b": 1, "a": [1.0, "x"]}`    | `{"b":1,"a":[1.0,"x"]}`: key order kept; a repeated key keeps its first place and its last value (Ruby Hash); numbers with a fraction or exponent as Float#to_s |
// |                                | text simdjson rejects          | the text as a JSON string             |
// | Timestamp (timestamp)          | `2024-05-01 10:00:00.123456`   | `"2024-05-01T10:00:00.123Z"` (UTC, 3 digits, truncated) |
// | TimestampTz (timestamptz)      | `2024-05-01 12:00:00.5+02`     | `"2024-05-01T10:00:00.500Z"`          |
// |                                | `0044-03-15 10:00:00 BC`       | `"-0043-03-15T10:00:00.000Z"` (astronomical year) |
// |                                | `infinity`, `-infinity`        | `null` (Float::INFINITY#as_json)      |
// | Date (date)                    | `2024-05-01`                   | `"2024-05-01"`                        |
// |                                | `0044-03-15 BC`, `infinity`    | `"-0043-03-15"`, `null`               |
// | Time (time)                    | `10:00:00.5`                   | `"2000-01-01T10:00:00.500Z"`          |
// | TimeTz (timetz)                | `10:00:00+02`                  | `"2000-01-01T08:00:00.000Z"`          |
// | Interval (interval)            | `P1Y2M3DT4H5M6.5S`             | `37090350` (Duration#to_i: year 31556952 s, month 2629746 s, week 604800 s, day 86400 s; truncated toward zero) |
// |                                | `PT0S`, `-P1D`, `P-1DT2H`      | `0`, `-86400`, `-79200`               |
// |                                | not ISO 8601                   | `null` (Rails casts it to nil)        |
// | Bytea (bytea)                  | `\x48656c6c6f`                 | `"Hello"` (the bytes, when valid UTF-8) |
// |                                | `\xff00`                       | `"\\xff00"` (else the hex text)       |
// | Money (money)                  | `$1,000.50`, `-$2.55`, `($2.55)` | `"1000.5"`, `"-2.55"`, `"-2.55"` (OID::Money strips the format, then BigDecimal) |
// | Text, Unknown (text varchar bpchar name uuid citext enums, any other type) | any | JSON string |
// | arrays of any kind             | `{1,NULL,3}`, `{{1,2},{3,4}}`, `{}` | `[1,null,3]`, `[[1,2],[3,4]]`, `[]` |
//
// Strings use ActiveSupport's escaping: \" \\ \n \r \t \b \f, other controls
// as \u00XX (lowercase hex), < > & as \u003c \u003e \u0026, U+2028 and U+2029
// as \u2028 \u2029; all other UTF-8 is copied as is.
#include "wire/json_render.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/cpp_only_file.hpp"

namespace dionysus::json {
namespace {

const char kHex[] = "0123456789abcdef";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ---------------------------------------------------------------- numbers

// Ruby Float#to_s (flo_to_s): shortest round-trip digits; fixed notation
// when the decimal exponent is in [-4, 16), else d.ddde+XX.
void append_ruby_float(std::string& out, double value) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    std::string_view sci(buf, size_t(res.ptr - buf));  // "-1.5e-07", shortest digits
    if (!sci.empty() && sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e))
        if (c != '.') digits += c;
    int exponent = 0;
    std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exponent);
    const int decpt = exponent + 1;  // digits are 0.DDDD x 10^decpt
    const int n = int(digits.size());
    if (decpt > 0 && decpt <= 16) {
        if (n <= decpt) {
            out += digits;
            out.append(size_t(decpt - n), '0');
            out += ".0";
        } else {
            out.append(digits, 0, size_t(decpt));
            out += '.';
            out.append(digits, size_t(decpt), std::string::npos);
        }
    } else if (decpt <= 0 && decpt > -4) {
        out += "0.";
        out.append(size_t(-decpt), '0');
        out += digits;
    } else {
        out += digits[0];
        out += '.';
        out += n > 1 ? digits.substr(1) : "0";
        char ebuf[16];
        int x = decpt - 1;
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
        out += ebuf;
    }
}

// BigDecimal#to_s("F") of a plain decimal "[-]digits[.digits]": integer part
// without leading zeros, fraction without trailing zeros but at least "0".
std::optional<std::string> bigdecimal_f(std::string_view text) {
    std::string out;
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        if (text.front() == '-') out += '-';
        text.remove_prefix(1);
    }
    size_t dot = text.find('.');
    std::string_view int_part = text.substr(0, dot);
    std::string_view frac_part = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (int_part.empty() && frac_part.empty()) return std::nullopt;
    for (char c : int_part)
        if (!is_digit(c)) return std::nullopt;
    for (char c : frac_part)
        if (!is_digit(c)) return std::nullopt;
    while (int_part.size() > 1 && int_part.front() == '0') int_part.remove_prefix(1);
    while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
    out += int_part.empty() ? "0" : std::string(int_part);
    out += '.';
    out += frac_part.empty() ? "0" : std::string(frac_part);
    return out;
}

void append_numeric(std::string& out, std::string_view text) {
    if (auto f = bigdecimal_f(text)) {
        append_string(out, *f);
    } else if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        out += "null";  // BigDecimal#as_json: finite? ? to_s : nil
    } else {
        append_string(out, text);
    }
}

void append_float(std::string& out, std::string_view text) {
    // Float#as_json is nil unless finite.
    if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        out += "null";
        return;
    }
    double value = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(value)) {
        append_string(out, text);  // not PostgreSQL float output: keep the text
        return;
    }
    append_ruby_float(out, value);
}

// ActiveRecord OID::Money strips the currency formatting, then casts like a
// decimal (String#to_d, which reads a leading number and ignores the rest).
void append_money(std::string& out, std::string_view text) {
    static const std::regex parenthesised(R"(^\((.+)\)$)");
    static const std::regex dot_decimals(R"(^-?\D*[\d,]+\.\d{2}$)");
    static const std::regex comma_decimals(R"(^-?\D*[\d.]+,\d{2}$)");
    std::string value = std::regex_replace(std::string(text), parenthesised, "-$1");
    auto keep = [&value](const char* allowed) {
        std::string kept;
        for (char c : value)
            if (is_digit(c) || std::strchr(allowed, c)) kept += c;
        value = kept;
    };
    if (std::regex_match(value, dot_decimals)) {
        keep("-.");
    } else if (std::regex_match(value, comma_decimals)) {
        keep("-,");
        if (size_t comma = value.find(','); comma != std::string::npos) value[comma] = '.';
    }
    // String#to_d: the longest leading [+-]digits[.digits]; no number is 0.
    size_t i = 0;
    if (i < value.size() && (value[i] == '-' || value[i] == '+')) ++i;
    size_t digits_start = i;
    while (i < value.size() && is_digit(value[i])) ++i;
    if (i < value.size() && value[i] == '.' && i + 1 < value.size() && is_digit(value[i + 1])) {
        ++i;
        while (i < value.size() && is_digit(value[i])) ++i;
    }
    auto f = i > digits_start ? bigdecimal_f(std::string_view(value).substr(0, i)) : std::nullopt;
    append_string(out, f ? *f : "0.0");
}

// ------------------------------------------------------------ date / time

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {  // proleptic Gregorian
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + int64_t(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = unsigned(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = int64_t(yoe) + era * 400 + (m <= 2);
}

// Ruby strftime("%Y"): at least 4 digits, negative years as "-0009".
void append_year(std::string& out, int64_t year) {
    char buf[32];
    std::snprintf(buf, sizeof buf, year < 0 ? "-%04lld" : "%04lld", (long long)(year < 0 ? -year : year));
    out += buf;
}

void append_2(std::string& out, unsigned v) {
    out += char('0' + v / 10 % 10);
    out += char('0' + v % 10);
}

// A tiny cursor over PostgreSQL's fixed-layout date/time output.
struct Cursor {
    std::string_view s;
    size_t pos = 0;
    bool done() const { return pos == s.size(); }
    bool eat(char c) {
        if (pos >= s.size() || s[pos] != c) return false;
        ++pos;
        return true;
    }
    bool eat(std::string_view lit) {
        if (s.substr(pos, lit.size()) != lit) return false;
        pos += lit.size();
        return true;
    }
    // -1 for "-", 1 for "+" or no sign
    int sign() {
        if (eat('-')) return -1;
        eat('+');
        return 1;
    }
    // min_len..max_len digits into v
    bool digits(int64_t& v, size_t min_len, size_t max_len) {
        size_t start = pos;
        v = 0;
        while (pos < s.size() && pos - start < max_len && is_digit(s[pos])) v = v * 10 + (s[pos++] - '0');
        return pos - start >= min_len;
    }
};

struct DateTime {
    int64_t year = 2000, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int millis = 0;
    int64_t offset_seconds = 0;  // east of UTC
};

bool parse_date(Cursor& c, DateTime& t) {
    return c.digits(t.year, 4, 9) && c.eat('-') && c.digits(t.month, 2, 2) && c.eat('-') &&
           c.digits(t.day, 2, 2) && t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31;
}

// HH:MM:SS[.ffffff] — fraction truncated to milliseconds (Ruby's %3N).
bool parse_time(Cursor& c, DateTime& t) {
    if (!(c.digits(t.hour, 2, 2) && c.eat(':') && c.digits(t.minute, 2, 2) && c.eat(':') &&
          c.digits(t.second, 2, 2)))
        return false;
    if (c.eat('.')) {
        size_t n = 0;
        t.millis = 0;
        while (!c.done() && is_digit(c.s[c.pos])) {
            if (n++ < 3) t.millis = t.millis * 10 + (c.s[c.pos] - '0');
            ++c.pos;
        }
        if (n == 0) return false;
        for (; n < 3; ++n) t.millis *= 10;
    }
    return true;
}

// [+-]HH[:MM[:SS]] (PostgreSQL prints minutes and seconds only when nonzero).
bool parse_offset(Cursor& c, DateTime& t) {
    if (c.done() || (c.s[c.pos] != '+' && c.s[c.pos] != '-')) return true;
    const int sign = c.sign();
    int64_t h = 0, m = 0, s = 0;
    if (!c.digits(h, 2, 2)) return false;
    if (c.eat(':') && !c.digits(m, 2, 2)) return false;
    if (c.eat(':') && !c.digits(s, 2, 2)) return false;
    t.offset_seconds = sign * (h * 3600 + m * 60 + s);
    return true;
}

// " BC" years: ActiveRecord rewrites year N BC as astronomical year 1 - N.
bool parse_era(Cursor& c, DateTime& t) {
    if (c.eat(" BC")) t.year = 1 - t.year;
    return c.done();
}

// TimeWithZone#as_json in UTC: xmlschema(3).
void append_utc(std::string& out, const DateTime& t) {
    int64_t total = days_from_civil(t.year, unsigned(t.month), unsigned(t.day)) * 86400 + t.hour * 3600 +
                    t.minute * 60 + t.second - t.offset_seconds;
    int64_t days = total >= 0 ? total / 86400 : -((-total + 86399) / 86400);
    int64_t secs = total - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    out += '"';
    append_year(out, y);
    out += '-';
    append_2(out, m);
    out += '-';
    append_2(out, d);
    out += 'T';
    append_2(out, unsigned(secs / 3600));
    out += ':';
    append_2(out, unsigned(secs / 60 % 60));
    out += ':';
    append_2(out, unsigned(secs % 60));
    out += '.';
    out += char('0' + t.millis / 100);
    append_2(out, unsigned(t.millis % 100));
    out += "Z\"";
}

void append_timestamp(std::string& out, std::string_view text) {
    if (text == "infinity" || text == "-infinity") {
        out += "null";  // cast to Float::INFINITY, whose as_json is nil
        return;
    }
    Cursor c{text};
    DateTime t;
    if (parse_date(c, t) && (c.eat(' ') || c.eat('T')) && parse_time(c, t) && parse_offset(c, t) &&
        parse_era(c, t))
        append_utc(out, t);
    else
        append_string(out, text);
}

void append_date(std::string& out, std::string_view text) {
    if (text == "infinity" || text == "-infinity") {
        out += "null";
        return;
    }
    Cursor c{text};
    DateTime t;
    if (!(parse_date(c, t) && parse_era(c, t))) {
        append_string(out, text);
        return;
    }
    out += '"';  // Date#as_json: strftime("%Y-%m-%d")
    append_year(out, t.year);
    out += '-';
    append_2(out, unsigned(t.month));
    out += '-';
    append_2(out, unsigned(t.day));
    out += '"';
}

// Rails reads time columns as times on 2000-01-01 (offset applied for timetz).
void append_time(std::string& out, std::string_view text) {
    Cursor c{text};
    DateTime t;
    if (parse_time(c, t) && parse_offset(c, t) && c.done())
        append_utc(out, t);
    else
        append_string(out, text);
}

// ---------------------------------------------------------------- interval

// ActiveSupport::Duration.parse (ISO 8601) then #to_i. Components may carry
// their own sign ("P-1DT2H"), a leading "-" negates them all.
std::optional<int64_t> interval_seconds(std::string_view text) {
    constexpr int64_t kYear = 31556952, kMonth = 2629746, kWeek = 604800, kDay = 86400;
    Cursor c{text};
    const int sign = c.sign();
    if (!c.eat('P')) return std::nullopt;
    __int128 nanos = 0;  // exact: fractions of years or months stay exact too
    bool in_time = false, any = false;
    while (!c.done()) {
        if (!in_time && c.eat('T')) {
            in_time = true;
            continue;
        }
        const int part_sign = c.sign();
        int64_t whole = 0;
        size_t start = c.pos;
        while (!c.done() && is_digit(c.s[c.pos])) {
            if (whole > INT64_MAX / 10 - 10) return std::nullopt;
            whole = whole * 10 + (c.s[c.pos++] - '0');
        }
        if (c.pos == start) return std::nullopt;
        int64_t frac = 0, frac_scale = 1;  // up to 9 fraction digits kept
        if (c.eat('.') || c.eat(',')) {
            size_t fstart = c.pos;
            while (!c.done() && is_digit(c.s[c.pos])) {
                if (frac_scale < 1000000000) {
                    frac = frac * 10 + (c.s[c.pos] - '0');
                    frac_scale *= 10;
                }
                ++c.pos;
            }
            if (c.pos == fstart) return std::nullopt;
        }
        if (c.done()) return std::nullopt;
        char unit = c.s[c.pos++];
        int64_t unit_seconds = 0;
        if (!in_time) {
            unit_seconds = unit == 'Y' ? kYear : unit == 'M' ? kMonth : unit == 'W' ? kWeek : unit == 'D' ? kDay : 0;
        } else {
            unit_seconds = unit == 'H' ? 3600 : unit == 'M' ? 60 : unit == 'S' ? 1 : 0;
        }
        if (unit_seconds == 0) return std::nullopt;
        __int128 part = __int128(whole) * unit_seconds * 1000000000 +
                        __int128(frac) * unit_seconds * 1000000000 / frac_scale;
        nanos += part_sign * part;
        any = true;
    }
    if (!any) return std::nullopt;  // "P", "PT": Rails raises, the column reads nil
    const __int128 seconds = sign * nanos / 1000000000;  // to_i truncates toward zero
    if (seconds > INT64_MAX || seconds < INT64_MIN) return std::nullopt;
    return int64_t(seconds);
}

// ------------------------------------------------------------------ bytea

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // reject overlong forms, surrogates and code points past U+10FFFF
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// ActiveRecord unescapes bytea to a binary String; the JSON encoder can only
// emit it when the bytes are UTF-8 (it raises otherwise), so other bytes
// keep PostgreSQL's hex text.
void append_bytea(std::string& out, std::string_view text) {
    if (text.substr(0, 2) == "\\x" && text.size() % 2 == 0) {
        std::string bytes;
        bytes.reserve(text.size() / 2 - 1);
        bool ok = true;
        for (size_t i = 2; ok && i < text.size(); i += 2) {
            int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
            ok = hi >= 0 && lo >= 0;
            bytes += char(hi * 16 + lo);
        }
        if (ok && valid_utf8(bytes)) {
            append_string(out, bytes);
            return;
        }
    }
    append_string(out, text);
}

// ------------------------------------------------------------------- json

void append_element(std::string& out, simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::OBJECT: {
        // Ruby's JSON.parse builds a Hash: a repeated key keeps its first
        // position and takes the last value.
        std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
        std::unordered_map<std::string_view, size_t> index;
        for (auto field : simdjson::dom::object(e)) {
            auto [it, inserted] = index.emplace(field.key, fields.size());
            if (inserted)
                fields.emplace_back(field.key, field.value);
            else
                fields[it->second].second = field.value;
        }
        out += '{';
        for (size_t i = 0; i < fields.size(); ++i) {
            if (i) out += ',';
            append_string(out, fields[i].first);
            out += ':';
            append_element(out, fields[i].second);
        }
        out += '}';
        break;
    }
    case element_type::ARRAY: {
        out += '[';
        bool first = true;
        for (auto item : simdjson::dom::array(e)) {
            if (!first) out += ',';
            first = false;
            append_element(out, item);
        }
        out += ']';
        break;
    }
    case element_type::INT64: out += std::to_string(int64_t(e)); break;
    case element_type::UINT64: out += std::to_string(uint64_t(e)); break;
    case element_type::DOUBLE: append_ruby_float(out, double(e)); break;
    case element_type::STRING: append_string(out, std::string_view(e)); break;
    case element_type::BOOL: out += bool(e) ? "true" : "false"; break;
    case element_type::NULL_VALUE: out += "null"; break;
    }
}

// Slow path for what simdjson 3.0 rejects although it is valid JSON:
// integers beyond 64 bits (kept digit for digit, as Ruby's Integer) and
// floats beyond double range (Infinity in Ruby, so null). Same rules as
// append_element otherwise. Returns false on invalid JSON.
class BigNumberJson {
public:
    explicit BigNumberJson(std::string_view text) : t_(text) {}
    bool render(std::string& out) {
        if (!value(out)) return false;
        skip();
        return i_ == t_.size();
    }

private:
    void skip() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
    }
    bool literal(std::string_view word, std::string& out) {
        if (t_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        out += word;
        return true;
    }
    static void put_utf8(std::string& s, uint32_t cp) {
        if (cp < 0x80) s += char(cp);
        else if (cp < 0x800) { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { s += char(0xE0 | (cp >> 12)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
        else { s += char(0xF0 | (cp >> 18)); s += char(0x80 | ((cp >> 12) & 0x3F)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
    }
    bool hex4(uint32_t& v) {
        if (i_ + 4 > t_.size()) return false;
        v = 0;
        for (int k = 0; k < 4; k++) {
            char c = t_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
            else return false;
        }
        return true;
    }
    bool string(std::string& decoded) {
        if (i_ >= t_.size() || t_[i_] != '"') return false;
        ++i_;
        while (i_ < t_.size() && t_[i_] != '"') {
            char c = t_[i_++];
            if (c != '\\') { decoded += c; continue; }
            if (i_ >= t_.size()) return false;
            char e = t_[i_++];
            switch (e) {
            case '"': case '\\': case '/': decoded += e; break;
            case 'b': decoded += '\b'; break;
            case 'f': decoded += '\f'; break;
            case 'n': decoded += '\n'; break;
            case 'r': decoded += '\r'; break;
            case 't': decoded += '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00 && t_.substr(i_, 2) == "\\u") {
                    i_ += 2;
                    uint32_t low;
                    if (!hex4(low)) return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                put_utf8(decoded, cp);
                break;
            }
            default: return false;
            }
        }
        if (i_ >= t_.size()) return false;
        ++i_;
        return true;
    }
    bool number(std::string& out) {
        size_t start = i_;
        if (i_ < t_.size() && t_[i_] == '-') ++i_;
        bool is_float = false;
        while (i_ < t_.size() && (is_digit(t_[i_]) || t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E' ||
                                  t_[i_] == '+' || t_[i_] == '-')) {
            if (!is_digit(t_[i_])) is_float = true;
            ++i_;
        }
        std::string token(t_.substr(start, i_ - start));
        if (token.empty() || token == "-") return false;
        if (!is_float) {
            out += token;  // an Integer of any size
            return true;
        }
        double d = std::strtod(token.c_str(), nullptr);
        if (std::isinf(d)) out += "null";  // Float::INFINITY#as_json
        else append_ruby_float(out, d);
        return true;
    }
    bool value(std::string& out) {
        skip();
        if (i_ >= t_.size()) return false;
        char c = t_[i_];
        if (c == '{') {
            ++i_;
            // Ruby Hash: a repeated key keeps its first position, last value.
            std::vector<std::pair<std::string, std::string>> fields;
            skip();
            if (i_ < t_.size() && t_[i_] == '}') { ++i_; out += "{}"; return true; }
            for (;;) {
                skip();
                std::string key, val;
                if (!string(key)) return false;
                skip();
                if (i_ >= t_.size() || t_[i_++] != ':') return false;
                if (!value(val)) return false;
                auto same = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
                if (same != fields.end()) same->second = std::move(val);
                else fields.emplace_back(std::move(key), std::move(val));
                skip();
                if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
                if (i_ < t_.size() && t_[i_] == '}') { ++i_; break; }
                return false;
            }
            out += '{';
            for (size_t k = 0; k < fields.size(); ++k) {
                if (k) out += ',';
                append_string(out, fields[k].first);
                out += ':';
                out += fields[k].second;
            }
            out += '}';
            return true;
        }
        if (c == '[') {
            ++i_;
            out += '[';
            skip();
            if (i_ < t_.size() && t_[i_] == ']') { ++i_; out += ']'; return true; }
            for (bool first = true;; first = false) {
                if (!first) out += ',';
                if (!value(out)) return false;
                skip();
                if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
                if (i_ < t_.size() && t_[i_] == ']') { ++i_; break; }
                return false;
            }
            out += ']';
            return true;
        }
        if (c == '"') {
            std::string decoded;
            if (!string(decoded)) return false;
            append_string(out, decoded);
            return true;
        }
        if (c == 't') return literal("true", out);
        if (c == 'f') return literal("false", out);
        if (c == 'n') return literal("null", out);
        return number(out);
    }

    std::string_view t_;
    size_t i_ = 0;
};

void append_json(std::string& out, std::string_view text) {
    // One parser per thread: it keeps its buffers between documents.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS) {
        std::string rendered;
        if (BigNumberJson(text).render(rendered)) out += rendered;
        else append_string(out, text);  // not JSON at all
        return;
    }
    append_element(out, doc);
}

// ------------------------------------------------------------------ array

// PostgreSQL array_out syntax: optional "[l:u]=" bounds, braces, elements
// separated by ',', double quotes with backslash escapes, unquoted NULL.
bool parse_array(Cursor& c, Kind kind, std::string& out) {
    if (!c.eat('{')) return false;
    out += '[';
    if (c.eat('}')) {
        out += ']';
        return true;
    }
    for (bool first = true;; first = false) {
        if (!first) out += ',';
        while (c.eat(' ')) {}
        if (!c.done() && c.s[c.pos] == '{') {
            if (!parse_array(c, kind, out)) return false;
        } else if (c.eat('"')) {
            std::string element;
            for (;;) {
                if (c.done()) return false;
                char ch = c.s[c.pos++];
                if (ch == '"') break;
                if (ch == '\\') {
                    if (c.done()) return false;
                    ch = c.s[c.pos++];
                }
                element += ch;
            }
            append_value(out, kind, element);
        } else {
            std::string element;
            bool escaped = false;
            while (!c.done() && c.s[c.pos] != ',' && c.s[c.pos] != '}') {
                char ch = c.s[c.pos++];
                if (ch == '\\' && !c.done()) {
                    ch = c.s[c.pos++];
                    escaped = true;
                }
                element += ch;
            }
            while (!element.empty() && element.back() == ' ') element.pop_back();
            if (element.empty()) return false;
            bool is_null = !escaped && element.size() == 4 && (element[0] | 0x20) == 'n' &&
                           (element[1] | 0x20) == 'u' && (element[2] | 0x20) == 'l' && (element[3] | 0x20) == 'l';
            if (is_null)
                out += "null";
            else
                append_value(out, kind, element);
        }
        while (c.eat(' ')) {}
        if (c.eat('}')) {
            out += ']';
            return true;
        }
        if (!c.eat(',')) return false;
    }
}

}  // namespace

Kind kind_for_type(std::string_view typname, char typcategory) {
    static const std::pair<std::string_view, Kind> known[] = {
        {"int2", Kind::Integer},         {"int4", Kind::Integer},  {"int8", Kind::Integer},
        {"oid", Kind::Integer},          {"numeric", Kind::Numeric}, {"float4", Kind::Float},
        {"float8", Kind::Float},         {"bool", Kind::Boolean},  {"json", Kind::Json},
        {"jsonb", Kind::Json},           {"timestamp", Kind::Timestamp},
        {"timestamptz", Kind::TimestampTz}, {"date", Kind::Date},  {"time", Kind::Time},
        {"timetz", Kind::TimeTz},        {"interval", Kind::Interval}, {"bytea", Kind::Bytea},
        {"money", Kind::Money},
    };
    if (typcategory == 'E') return Kind::Text;
    for (const auto& [name, kind] : known)
        if (name == typname) return kind;
    return Kind::Text;
}

namespace {
// Bytes append_string must look at: quote, backslash, controls, <, >, & and
// the lead byte of U+2028/U+2029. Everything else is copied in runs.
struct EscapeTable {
    bool special[256] = {};
    constexpr EscapeTable() {
        for (int c = 0; c < 0x20; c++) special[c] = true;
        special[static_cast<unsigned char>('"')] = special[static_cast<unsigned char>('\\')] = true;
        special[static_cast<unsigned char>('<')] = special[static_cast<unsigned char>('>')] = true;
        special[static_cast<unsigned char>('&')] = special[0xe2] = true;
    }
};
constexpr EscapeTable kEscape;
}  // namespace

void append_string(std::string& out, std::string_view s) {
    out += '"';
    size_t run = 0;  // start of the pending run of plain bytes
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (!kEscape.special[c]) continue;
        if (c == 0xe2 && !(i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                           (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                            static_cast<unsigned char>(s[i + 2]) == 0xa9)))
            continue;  // another character starting with 0xe2: plain UTF-8
        out.append(s.data() + run, i - run);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        case 0xe2:
            // U+2028 / U+2029: valid JSON, but they end lines in JavaScript.
            out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
            i += 2;
            break;
        default:  // other control characters
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
        run = i + 1;
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

void append_value(std::string& out, Kind kind, std::string_view text) {
    switch (kind) {
    case Kind::Integer: out += text; break;
    case Kind::Numeric: append_numeric(out, text); break;
    case Kind::Float: append_float(out, text); break;
    case Kind::Boolean:
        if (text == "t" || text == "true") out += "true";
        else if (text == "f" || text == "false") out += "false";
        else append_string(out, text);
        break;
    case Kind::Json: append_json(out, text); break;
    case Kind::Timestamp:
    case Kind::TimestampTz: append_timestamp(out, text); break;
    case Kind::Date: append_date(out, text); break;
    case Kind::Time:
    case Kind::TimeTz: append_time(out, text); break;
    case Kind::Interval:
        if (auto seconds = interval_seconds(text)) out += std::to_string(*seconds);
        else out += "null";
        break;
    case Kind::Bytea: append_bytea(out, text); break;
    case Kind::Money: append_money(out, text); break;
    case Kind::Text:
    case Kind::Unknown: append_string(out, text); break;
    }
}

void append_array(std::string& out, Kind element_kind, std::string_view text) {
    Cursor c{text};
    if (c.eat('[')) {  // "[0:2]={...}": bounds other than 1..n, Rails drops them
        size_t eq = text.find('=');
        c.pos = eq == std::string_view::npos ? text.size() : eq + 1;
    }
    std::string rendered;
    if (parse_array(c, element_kind, rendered) && c.done())
        out += rendered;
    else
        append_string(out, text);  // not an array literal: keep the text
}

}  // namespace dionysus::json
