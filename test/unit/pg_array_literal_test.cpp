#include "util/pg_array_literal.hpp"

#include <gtest/gtest.h>

using namespace dionysus::util;

TEST(PgArrayLiteral, TextElementsAreQuotedAndEscaped) {
    EXPECT_EQ(text_array_literal({}), "{}");
    EXPECT_EQ(text_array_literal({"1", "2"}), R"({"1","2"})");
    // What would otherwise be read as NULL, a separator or the end of the array
    EXPECT_EQ(text_array_literal({"NULL", "a,b", "}", ""}), R"({"NULL","a,b","}",""})");
    EXPECT_EQ(text_array_literal({R"(say "hi")", R"(C:\dir)"}), R"({"say \"hi\"","C:\\dir"})");
}

TEST(PgArrayLiteral, QuotedElementAppends) {
    std::string literal = "{";
    append_quoted_element(literal, "x\"y");
    literal += ',';
    append_quoted_element(literal, "");
    EXPECT_EQ(literal + "}", R"({"x\"y",""})");
}

TEST(PgArrayLiteral, Integers) {
    EXPECT_EQ(int_array_literal({}), "{}");
    EXPECT_EQ(int_array_literal({1, -2, 9223372036854775807}), "{1,-2,9223372036854775807}");
}
