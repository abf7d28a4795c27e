// PostgreSQL text output -> Rails as_json rendering (json_render.cpp's table).
#include "wire/json_render.hpp"

#include <gtest/gtest.h>

#include <string>

using dionysus::json::Kind;
using namespace dionysus::json;

namespace {

std::string value(Kind kind, std::string_view text) {
    std::string out;
    append_value(out, kind, text);
    return out;
}

std::string str(std::string_view s) {
    std::string out;
    append_string(out, s);
    return out;
}

std::string array(Kind kind, std::string_view text) {
    std::string out;
    append_array(out, kind, text);
    return out;
}

}  // namespace

TEST(KindForType, Mapping) {
    EXPECT_EQ(kind_for_type("int2", 'N'), Kind::Integer);
    EXPECT_EQ(kind_for_type("int4", 'N'), Kind::Integer);
    EXPECT_EQ(kind_for_type("int8", 'N'), Kind::Integer);
    EXPECT_EQ(kind_for_type("oid", 'N'), Kind::Integer);
    EXPECT_EQ(kind_for_type("numeric", 'N'), Kind::Numeric);
    EXPECT_EQ(kind_for_type("float4", 'N'), Kind::Float);
    EXPECT_EQ(kind_for_type("float8", 'N'), Kind::Float);
    EXPECT_EQ(kind_for_type("bool", 'B'), Kind::Boolean);
    EXPECT_EQ(kind_for_type("json", 'U'), Kind::Json);
    EXPECT_EQ(kind_for_type("jsonb", 'U'), Kind::Json);
    EXPECT_EQ(kind_for_type("timestamp", 'D'), Kind::Timestamp);
    EXPECT_EQ(kind_for_type("timestamptz", 'D'), Kind::TimestampTz);
    EXPECT_EQ(kind_for_type("date", 'D'), Kind::Date);
    EXPECT_EQ(kind_for_type("time", 'D'), Kind::Time);
    EXPECT_EQ(kind_for_type("timetz", 'D'), Kind::TimeTz);
    EXPECT_EQ(kind_for_type("interval", 'T'), Kind::Interval);
    EXPECT_EQ(kind_for_type("bytea", 'U'), Kind::Bytea);
    EXPECT_EQ(kind_for_type("money", 'N'), Kind::Money);
    for (const char* t : {"text", "varchar", "bpchar", "name", "uuid", "citext", "inet", "xml", "tsvector"})
        EXPECT_EQ(kind_for_type(t, 'S'), Kind::Text) << t;
    EXPECT_EQ(kind_for_type("booking_state", 'E'), Kind::Text);
    EXPECT_EQ(kind_for_type("int4", 'E'), Kind::Text);  // category wins for enums
}

TEST(AppendString, ActiveSupportEscapes) {
    EXPECT_EQ(str(""), "\"\"");
    EXPECT_EQ(str("plain"), "\"plain\"");
    EXPECT_EQ(str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(str("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
    EXPECT_EQ(str(std::string("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
    EXPECT_EQ(str("\x0b"), "\"\\u000b\"");
    EXPECT_EQ(str("<a href=\"x\">&</a>"), "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
    EXPECT_EQ(str("a\xe2\x80\xa8z\xe2\x80\xa9"), "\"a\\u2028z\\u2029\"");
    EXPECT_EQ(str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    EXPECT_EQ(str("\xe2\x80\xa7"), "\"\xe2\x80\xa7\"");  // U+2027 is not escaped
    EXPECT_EQ(str("/ \x7f"), "\"/ \x7f\"");              // neither "/" nor DEL
}

TEST(AppendValue, IntegerAndBoolean) {
    EXPECT_EQ(value(Kind::Integer, "42"), "42");
    EXPECT_EQ(value(Kind::Integer, "-9223372036854775808"), "-9223372036854775808");
    EXPECT_EQ(value(Kind::Boolean, "t"), "true");
    EXPECT_EQ(value(Kind::Boolean, "f"), "false");
}

TEST(AppendValue, NumericIsBigDecimalToSF) {
    EXPECT_EQ(value(Kind::Numeric, "50.00"), "\"50.0\"");
    EXPECT_EQ(value(Kind::Numeric, "1088.25"), "\"1088.25\"");
    EXPECT_EQ(value(Kind::Numeric, "100"), "\"100.0\"");
    EXPECT_EQ(value(Kind::Numeric, "-0.50"), "\"-0.5\"");
    EXPECT_EQ(value(Kind::Numeric, "0.000001"), "\"0.000001\"");
    EXPECT_EQ(value(Kind::Numeric, "0"), "\"0.0\"");
    EXPECT_EQ(value(Kind::Numeric, "0.00"), "\"0.0\"");
    EXPECT_EQ(value(Kind::Numeric, "12345678901234567890123456789.000000001"),
              "\"12345678901234567890123456789.000000001\"");
    EXPECT_EQ(value(Kind::Numeric, "-100"), "\"-100.0\"");
}

TEST(AppendValue, NumericNonFiniteIsNull) {
    // BigDecimal#as_json is `finite? ? to_s : nil`.
    EXPECT_EQ(value(Kind::Numeric, "NaN"), "null");
    EXPECT_EQ(value(Kind::Numeric, "Infinity"), "null");
    EXPECT_EQ(value(Kind::Numeric, "-Infinity"), "null");
}

TEST(AppendValue, FloatIsRubyFloatToS) {
    EXPECT_EQ(value(Kind::Float, "1.5"), "1.5");
    EXPECT_EQ(value(Kind::Float, "100"), "100.0");
    EXPECT_EQ(value(Kind::Float, "0"), "0.0");
    EXPECT_EQ(value(Kind::Float, "-0"), "-0.0");
    EXPECT_EQ(value(Kind::Float, "-2.5"), "-2.5");
    EXPECT_EQ(value(Kind::Float, "0.1"), "0.1");
    EXPECT_EQ(value(Kind::Float, "1.1"), "1.1");  // float4 output read as a Ruby Float
    EXPECT_EQ(value(Kind::Float, "3.14159"), "3.14159");
    EXPECT_EQ(value(Kind::Float, "1e+20"), "1.0e+20");
    EXPECT_EQ(value(Kind::Float, "1.5e-07"), "1.5e-07");
    EXPECT_EQ(value(Kind::Float, "0.0001"), "0.0001");     // exponent -4: fixed
    EXPECT_EQ(value(Kind::Float, "1e-05"), "1.0e-05");     // exponent -5: scientific
    EXPECT_EQ(value(Kind::Float, "0.00012"), "0.00012");
    EXPECT_EQ(value(Kind::Float, "1e+15"), "1000000000000000.0");  // exponent 15: fixed
    EXPECT_EQ(value(Kind::Float, "1e+16"), "1.0e+16");             // exponent 16: scientific
    EXPECT_EQ(value(Kind::Float, "1234567890123456.7"), "1234567890123456.8");
    EXPECT_EQ(value(Kind::Float, "12345678901234567"), "1.2345678901234568e+16");
    EXPECT_EQ(value(Kind::Float, "1.23e+100"), "1.23e+100");
    EXPECT_EQ(value(Kind::Float, "1.7976931348623157e+308"), "1.7976931348623157e+308");
    EXPECT_EQ(value(Kind::Float, "5e-324"), "5.0e-324");
    EXPECT_EQ(value(Kind::Float, "-1.5e-07"), "-1.5e-07");
}

TEST(AppendValue, FloatNonFiniteIsNull) {
    EXPECT_EQ(value(Kind::Float, "NaN"), "null");
    EXPECT_EQ(value(Kind::Float, "Infinity"), "null");
    EXPECT_EQ(value(Kind::Float, "-Infinity"), "null");
}

TEST(AppendValue, TextUnknownAndUuid) {
    EXPECT_EQ(value(Kind::Text, "Cleaning"), "\"Cleaning\"");
    EXPECT_EQ(value(Kind::Text, "x<y"), "\"x\\u003cy\"");
    EXPECT_EQ(value(Kind::Unknown, "(1,2)"), "\"(1,2)\"");
    EXPECT_EQ(value(Kind::Text, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
}

TEST(AppendValue, JsonIsMinifiedAndReEncoded) {
    EXPECT_EQ(value(Kind::Json, R"({"b": 1, "a": [1.0, "x", null, true, false]})"),
              R"({"b":1,"a":[1.0,"x",null,true,false]})");
    // jsonb output order is kept as given
    EXPECT_EQ(value(Kind::Json, R"({"id": 1, "name": "x", "amount": 2.50})"), R"({"id":1,"name":"x","amount":2.5})");
    EXPECT_EQ(value(Kind::Json, R"([-0, 1e2, 1E-7, 0.1, 123456789012, -5])"), "[0,100.0,1.0e-07,0.1,123456789012,-5]");
    EXPECT_EQ(value(Kind::Json, "18446744073709551615"), "18446744073709551615");
    EXPECT_EQ(value(Kind::Json, R"({"a": {"b": {"c": []}}, "d": {}})"), R"({"a":{"b":{"c":[]}},"d":{}})");
    EXPECT_EQ(value(Kind::Json, " 5 "), "5");
    EXPECT_EQ(value(Kind::Json, R"("x")"), R"("x")");
    EXPECT_EQ(value(Kind::Json, "null"), "null");
}

TEST(AppendValue, JsonStringsUseActiveSupportEscapes) {
    EXPECT_EQ(value(Kind::Json, R"({"html": "<b>&</b>", "u": "\u00e9\u2028", "s": "\/\t"})"),
              "{\"html\":\"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\",\"u\":\"\xc3\xa9\\u2028\",\"s\":\"/\\t\"}");
    EXPECT_EQ(value(Kind::Json, R"({"\u003ckey": "\u0000"})"), R"({"\u003ckey":"\u0000"})");
}

TEST(AppendValue, JsonDuplicateKeysLikeRubyHash) {
    // json (not jsonb) keeps duplicates; JSON.parse keeps the first position
    // and the last value.
    EXPECT_EQ(value(Kind::Json, R"({"a": 1, "b": 2, "a": 3})"), R"({"a":3,"b":2})");
}

TEST(AppendValue, InvalidJsonIsAString) {
    EXPECT_EQ(value(Kind::Json, "{"), "\"{\"");
    EXPECT_EQ(value(Kind::Json, "[1,2"), "\"[1,2\"");
    EXPECT_EQ(value(Kind::Json, "[1,]"), "\"[1,]\"");
    EXPECT_EQ(value(Kind::Json, "{\"a\" 1}"), "\"{\\\"a\\\" 1}\"");
}

// simdjson 3.0 rejects these valid documents; the slow path renders them as
// Ruby would: big integers digit for digit, out-of-range floats as null.
TEST(AppendValue, JsonNumbersBeyondSimdjson) {
    EXPECT_EQ(value(Kind::Json, "123456789012345678901234567890"), "123456789012345678901234567890");
    EXPECT_EQ(value(Kind::Json, "[18446744073709551616, -123456789012345678901234567890]"),
              "[18446744073709551616,-123456789012345678901234567890]");
    EXPECT_EQ(value(Kind::Json, "[1e400, 1.5]"), "[null,1.5]");
    EXPECT_EQ(value(Kind::Json, "{\"b\": 1e400, \"a\": \"<\\u00e9\\ud83d\\ude00>\", \"b\": 18446744073709551616}"),
              "{\"b\":18446744073709551616,\"a\":\"\\u003c\u00e9\U0001F600\\u003e\"}");
}

TEST(AppendValue, Timestamp) {
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00"), "\"2024-05-01T10:00:00.000Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00.123456"), "\"2024-05-01T10:00:00.123Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00.999999"), "\"2024-05-01T10:00:00.999Z\"");  // truncated
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00.5"), "\"2024-05-01T10:00:00.500Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00.05"), "\"2024-05-01T10:00:00.050Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "10000-01-01 00:00:00"), "\"10000-01-01T00:00:00.000Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "0001-01-01 00:00:00"), "\"0001-01-01T00:00:00.000Z\"");
}

TEST(AppendValue, TimestampBcAndInfinity) {
    // ActiveRecord: year N BC is astronomical year 1 - N; strftime("%Y")
    EXPECT_EQ(value(Kind::Timestamp, "0044-03-15 10:00:00 BC"), "\"-0043-03-15T10:00:00.000Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "0001-01-01 00:00:00 BC"), "\"0000-01-01T00:00:00.000Z\"");
    EXPECT_EQ(value(Kind::Timestamp, "4713-11-24 00:00:00 BC"), "\"-4712-11-24T00:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "0001-01-01 00:30:00+01 BC"), "\"-0001-12-31T23:30:00.000Z\"");
    // Float::INFINITY.as_json is nil
    EXPECT_EQ(value(Kind::Timestamp, "infinity"), "null");
    EXPECT_EQ(value(Kind::TimestampTz, "-infinity"), "null");
}

TEST(AppendValue, TimestampTzToUtc) {
    EXPECT_EQ(value(Kind::TimestampTz, "2024-05-01 10:00:00.123456+00"), "\"2024-05-01T10:00:00.123Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "2024-07-01 16:00:00+00"), "\"2024-07-01T16:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "2024-05-01 12:00:00.5+02"), "\"2024-05-01T10:00:00.500Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "2024-05-01 12:00:00+05:30"), "\"2024-05-01T06:30:00.000Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "2024-12-31 20:00:00-08"), "\"2025-01-01T04:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "2024-03-01 01:00:00+02"), "\"2024-02-29T23:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimestampTz, "1900-01-01 00:09:21+00:09:21"), "\"1900-01-01T00:00:00.000Z\"");
}

TEST(AppendValue, MalformedTimestampIsAString) {
    EXPECT_EQ(value(Kind::Timestamp, "May 1 2024"), "\"May 1 2024\"");
    EXPECT_EQ(value(Kind::Timestamp, "2024-05-01 10:00:00 junk"), "\"2024-05-01 10:00:00 junk\"");
}

TEST(AppendValue, Date) {
    EXPECT_EQ(value(Kind::Date, "2024-05-01"), "\"2024-05-01\"");
    EXPECT_EQ(value(Kind::Date, "0044-03-15 BC"), "\"-0043-03-15\"");
    EXPECT_EQ(value(Kind::Date, "infinity"), "null");
    EXPECT_EQ(value(Kind::Date, "-infinity"), "null");
}

TEST(AppendValue, TimeIsOn2000_01_01) {
    EXPECT_EQ(value(Kind::Time, "10:00:00"), "\"2000-01-01T10:00:00.000Z\"");
    EXPECT_EQ(value(Kind::Time, "10:00:00.5"), "\"2000-01-01T10:00:00.500Z\"");
    EXPECT_EQ(value(Kind::Time, "23:59:59.999999"), "\"2000-01-01T23:59:59.999Z\"");
    EXPECT_EQ(value(Kind::Time, "24:00:00"), "\"2000-01-02T00:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimeTz, "10:00:00+02"), "\"2000-01-01T08:00:00.000Z\"");
    EXPECT_EQ(value(Kind::TimeTz, "10:00:00.123456+00"), "\"2000-01-01T10:00:00.123Z\"");
    EXPECT_EQ(value(Kind::TimeTz, "10:00:00-05:30"), "\"2000-01-01T15:30:00.000Z\"");
    EXPECT_EQ(value(Kind::TimeTz, "01:00:00+02"), "\"1999-12-31T23:00:00.000Z\"");
}

TEST(AppendValue, IntervalIsDurationToI) {
    EXPECT_EQ(value(Kind::Interval, "P1Y2M3DT4H5M6.5S"), "37090350");
    EXPECT_EQ(value(Kind::Interval, "PT0S"), "0");
    EXPECT_EQ(value(Kind::Interval, "-P1D"), "-86400");
    EXPECT_EQ(value(Kind::Interval, "P-1DT2H"), "-79200");
    EXPECT_EQ(value(Kind::Interval, "P-1Y-2M"), "-36816444");
    EXPECT_EQ(value(Kind::Interval, "P1Y"), "31556952");
    EXPECT_EQ(value(Kind::Interval, "P1M"), "2629746");
    EXPECT_EQ(value(Kind::Interval, "P1W"), "604800");
    EXPECT_EQ(value(Kind::Interval, "PT1H"), "3600");
    EXPECT_EQ(value(Kind::Interval, "PT1M"), "60");
    EXPECT_EQ(value(Kind::Interval, "PT1.999999S"), "1");   // truncated
    EXPECT_EQ(value(Kind::Interval, "PT-0.5S"), "0");       // toward zero
    EXPECT_EQ(value(Kind::Interval, "-PT1.5S"), "-1");
    EXPECT_EQ(value(Kind::Interval, "P1DT-0.5S"), "86399");
    EXPECT_EQ(value(Kind::Interval, "P178000000Y"), "5617137456000000");
}

TEST(AppendValue, IntervalRailsCannotParseIsNull) {
    EXPECT_EQ(value(Kind::Interval, "1 day"), "null");
    EXPECT_EQ(value(Kind::Interval, "P"), "null");
    EXPECT_EQ(value(Kind::Interval, "PT"), "null");
    EXPECT_EQ(value(Kind::Interval, "P1X"), "null");
    EXPECT_EQ(value(Kind::Interval, "PT1D"), "null");
    EXPECT_EQ(value(Kind::Interval, "P900000000000000000Y"), "null");  // beyond 64 bits
}

TEST(AppendValue, Bytea) {
    EXPECT_EQ(value(Kind::Bytea, "\\x48656c6c6f"), "\"Hello\"");
    EXPECT_EQ(value(Kind::Bytea, "\\x48656C6C6F"), "\"Hello\"");
    EXPECT_EQ(value(Kind::Bytea, "\\x"), "\"\"");
    EXPECT_EQ(value(Kind::Bytea, "\\xc3a9"), "\"\xc3\xa9\"");
    EXPECT_EQ(value(Kind::Bytea, "\\x3c0a"), "\"\\u003c\\n\"");
    EXPECT_EQ(value(Kind::Bytea, "\\xff00"), "\"\\\\xff00\"");     // not UTF-8: the hex text
    EXPECT_EQ(value(Kind::Bytea, "\\xc0af"), "\"\\\\xc0af\"");     // overlong
    EXPECT_EQ(value(Kind::Bytea, "\\xeda080"), "\"\\\\xeda080\""); // surrogate
    EXPECT_EQ(value(Kind::Bytea, "\\xc3"), "\"\\\\xc3\"");         // truncated sequence
}

TEST(AppendValue, MoneyIsADecimal) {
    // ActiveRecord OID::Money strips the formatting, then BigDecimal.
    EXPECT_EQ(value(Kind::Money, "$1,000.50"), "\"1000.5\"");
    EXPECT_EQ(value(Kind::Money, "$12.00"), "\"12.0\"");
    EXPECT_EQ(value(Kind::Money, "-$2.55"), "\"-2.55\"");
    EXPECT_EQ(value(Kind::Money, "($2.55)"), "\"-2.55\"");
    EXPECT_EQ(value(Kind::Money, "$0.00"), "\"0.0\"");
    EXPECT_EQ(value(Kind::Money, "\xe2\x82\xac" "1.234,56"), "\"1234.56\"");
}

TEST(AppendArray, Integers) {
    EXPECT_EQ(array(Kind::Integer, "{1,2,NULL}"), "[1,2,null]");
    EXPECT_EQ(array(Kind::Integer, "{}"), "[]");
    EXPECT_EQ(array(Kind::Integer, "{{1,2},{3,4}}"), "[[1,2],[3,4]]");
    EXPECT_EQ(array(Kind::Integer, "{{{1},{2}},{{3},{NULL}}}"), "[[[1],[2]],[[3],[null]]]");
    EXPECT_EQ(array(Kind::Integer, "[0:1]={5,6}"), "[5,6]");
}

TEST(AppendArray, QuotedElements) {
    EXPECT_EQ(array(Kind::Text, R"({"a b","x\"y",NULL,"NULL",plain})"), R"(["a b","x\"y",null,"NULL","plain"])");
    EXPECT_EQ(array(Kind::Text, R"({"a,b","{}","back\\slash",""})"), R"(["a,b","{}","back\\slash",""])");
    EXPECT_EQ(array(Kind::Text, "{<b>}"), "[\"\\u003cb\\u003e\"]");
    EXPECT_EQ(array(Kind::Text, "{null}"), "[null]");
}

TEST(AppendArray, ElementsRenderWithTheirKind) {
    EXPECT_EQ(array(Kind::Numeric, "{1.50,NULL,100}"), R"(["1.5",null,"100.0"])");
    EXPECT_EQ(array(Kind::Boolean, "{t,f}"), "[true,false]");
    EXPECT_EQ(array(Kind::Float, "{1,NaN,1e+20}"), "[1.0,null,1.0e+20]");
    EXPECT_EQ(array(Kind::Timestamp, R"({"2024-05-01 10:00:00","2024-05-01 10:00:00.5"})"),
              R"(["2024-05-01T10:00:00.000Z","2024-05-01T10:00:00.500Z"])");
    EXPECT_EQ(array(Kind::Json, R"({"{\"a\": 1}","[1, 2]"})"), R"([{"a":1},[1,2]])");
    EXPECT_EQ(array(Kind::Interval, "{PT1S,P1D}"), "[1,86400]");
}

TEST(AppendArray, MalformedIsAString) {
    EXPECT_EQ(array(Kind::Integer, "{1,2"), "\"{1,2\"");
    EXPECT_EQ(array(Kind::Integer, "1,2"), "\"1,2\"");
    EXPECT_EQ(array(Kind::Text, R"({"open})"), "\"{\\\"open}\"");
    EXPECT_EQ(array(Kind::Integer, "{1,2}x"), "\"{1,2}x\"");
}
