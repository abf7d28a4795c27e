#include "wire/record_writer.hpp"

#include <gtest/gtest.h>

using dionysus::hand_built_value;

TEST(HandBuiltValue, RestoresDionysusKeyOrderFromJsonb) {
    // jsonb output: keys sorted by length, spaces after separators.
    EXPECT_EQ(hand_built_value(R"({"message": [{"data": [{"id": 1}, {"id": 2}], "event": "rental_destroyed", "model_name": "Rental"}]})"),
              R"({"message":[{"event":"rental_destroyed","model_name":"Rental","data":[{"id":1},{"id":2}]}]})");
}

TEST(HandBuiltValue, KeepsSeveralEventsAndExtraKeys) {
    EXPECT_EQ(hand_built_value(R"({"message": [{"data": [], "event": "a_created", "extra": true, "model_name": "A"}, {"data": [{"x": 1.5}], "event": "b_updated", "model_name": "B"}]})"),
              R"({"message":[{"event":"a_created","model_name":"A","data":[],"extra":true},{"event":"b_updated","model_name":"B","data":[{"x":1.5}]}]})");
}

TEST(HandBuiltValue, EscapesStringsAsRails) {
    EXPECT_EQ(hand_built_value(R"({"message": [{"data": [{"name": "<b>&"}], "event": "e", "model_name": "M"}]})"),
              R"({"message":[{"event":"e","model_name":"M","data":[{"name":"\u003cb\u003e\u0026"}]}]})");
}

TEST(HandBuiltValue, OtherJsonIsReencodedAsIs) {
    EXPECT_EQ(hand_built_value(R"({"b": 1, "a": [1, 2]})"), R"({"b":1,"a":[1,2]})");
}
