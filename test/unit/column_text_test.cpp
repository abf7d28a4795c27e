// Record values as the text of their target column (the consumer's array
// transport), and the values left to jsonb_to_recordset.
#include "wire/column_text.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

using dionysus::wire::ColumnText;
using dionysus::wire::column_text;

namespace {

// nullopt: left to jsonb_to_recordset; "NULL" for SQL NULL
std::optional<std::string> text(const std::string& json, ColumnText kind = ColumnText::Scalar) {
    std::string out;
    bool is_null = false;
    if (!column_text(json, kind, &out, &is_null)) return std::nullopt;
    return is_null ? std::string("NULL") : out;
}

}  // namespace

TEST(ColumnText, ScalarsAsTheirText) {
    EXPECT_EQ(text("\"2024-01-01T00:00:00.000Z\""), "2024-01-01T00:00:00.000Z");
    EXPECT_EQ(text("\"50.0\""), "50.0");
    EXPECT_EQ(text("42"), "42");
    EXPECT_EQ(text("-17.25"), "-17.25");
    EXPECT_EQ(text("0"), "0");
    EXPECT_EQ(text("0.10"), "0.10");
    EXPECT_EQ(text("true"), "true");
    EXPECT_EQ(text("false"), "false");
    EXPECT_EQ(text("null"), "NULL");
    EXPECT_EQ(text("null", ColumnText::Json), "NULL");
    EXPECT_EQ(text("null", ColumnText::Array), "NULL");
}

TEST(ColumnText, StringEscapesDecoded) {
    EXPECT_EQ(text(R"("a\"b\\c\/d\n\t\r\b\f")"), "a\"b\\c/d\n\t\r\b\f");
    EXPECT_EQ(text(R"("\u00e9t\u00E9")"), "\xc3\xa9t\xc3\xa9");
    EXPECT_EQ(text(R"("\u20ac")"), "\xe2\x82\xac");
    EXPECT_EQ(text(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");  // a surrogate pair
    EXPECT_EQ(text("\"\xc3\xbcn\xc3\xafcode\""), "\xc3\xbcn\xc3\xafcode");
    EXPECT_EQ(text(R"("")"), "");
}

TEST(ColumnText, WhatJsonbReadsDifferentlyIsLeftToIt) {
    EXPECT_EQ(text("1e+20"), std::nullopt);   // jsonb prints 100000000000000000000
    EXPECT_EQ(text("1.5E3"), std::nullopt);
    EXPECT_EQ(text("-0"), std::nullopt);      // jsonb prints 0
    EXPECT_EQ(text("-0.0"), std::nullopt);
    EXPECT_EQ(text(R"("a\u0000b")"), std::nullopt);  // jsonb refuses it
    EXPECT_EQ(text(R"("\ud83d")"), std::nullopt);    // a lone surrogate
    EXPECT_EQ(text(R"("\ude00")"), std::nullopt);
    EXPECT_EQ(text(R"({"a":1})"), std::nullopt);     // an object into a non-json column
    EXPECT_EQ(text("[1,2]"), std::nullopt);           // an array into a non-array column
    EXPECT_EQ(text(""), std::nullopt);
    EXPECT_EQ(text("\"unterminated"), std::nullopt);
    EXPECT_EQ(text("12 "), std::nullopt);
}

TEST(ColumnText, JsonColumnsGetTheJsonText) {
    EXPECT_EQ(text(R"({"a":[1,{"b":null}]})", ColumnText::Json), R"({"a":[1,{"b":null}]})");
    EXPECT_EQ(text(R"("plain")", ColumnText::Json), R"("plain")");
    EXPECT_EQ(text("1e+20", ColumnText::Json), "1e+20");
}

TEST(ColumnText, ArraysAsArrayLiterals) {
    EXPECT_EQ(text("[1,2,3]", ColumnText::Array), "{1,2,3}");
    EXPECT_EQ(text("[]", ColumnText::Array), "{}");
    EXPECT_EQ(text(R"(["a","b,c","NULL","x\"y","back\\slash"])", ColumnText::Array),
              R"({"a","b,c","NULL","x\"y","back\\slash"})");
    EXPECT_EQ(text("[null,1]", ColumnText::Array), "{NULL,1}");
    EXPECT_EQ(text("[true,false]", ColumnText::Array), "{true,false}");
    EXPECT_EQ(text("[[1,2],[3,4]]", ColumnText::Array), "{{1,2},{3,4}}");
    EXPECT_EQ(text(R"("{1,2}")", ColumnText::Array), "{1,2}");  // a string: array_in reads it
    EXPECT_EQ(text("[[]]", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text(R"(["a",["b"]])", ColumnText::Array), std::nullopt);  // mixed depths
    EXPECT_EQ(text(R"([["a"],"b"])", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text(R"([["a"],[["b"]]])", ColumnText::Array), std::nullopt);  // sibling sub-arrays of other depths
    EXPECT_EQ(text(R"([[["a"]],[["b"]]])", ColumnText::Array), R"({{{"a"}},{{"b"}}})");
    EXPECT_EQ(text(R"([{"a":1}])", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text("[1e5]", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text("[1,]", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text("[1", ColumnText::Array), std::nullopt);
    EXPECT_EQ(text("[[[[[[[1]]]]]]]", ColumnText::Array), std::nullopt);  // deeper than MAXDIM
}
