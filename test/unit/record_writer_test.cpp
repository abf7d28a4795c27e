// dionysus-rb records and envelopes, byte for byte.
#include "wire/record_writer.hpp"

#include <gtest/gtest.h>

#include <string>

using dionysus::Attribute;
using dionysus::Sideload;
using dionysus::json::Kind;

namespace {

Attribute attr(std::string_view name, Kind kind, std::string_view text) { return {name, kind, false, false, text}; }
Attribute null_attr(std::string_view name, Kind kind) { return {name, kind, false, true, {}}; }
Attribute array_attr(std::string_view name, Kind kind, std::string_view text) { return {name, kind, true, false, text}; }

std::string record(const std::vector<Attribute>& attrs, const std::vector<Attribute>& links,
                   const std::vector<Sideload>& sideloads = {}) {
    std::string out;
    dionysus::append_record(out, attrs, links, sideloads);
    return out;
}

const char* const kCreated = "2024-01-01 12:03:00";

std::string fee(std::string_view id, std::string_view name, std::string_view amount) {
    return record({attr("id", Kind::Integer, id), attr("name", Kind::Text, name), attr("amount", Kind::Numeric, amount),
                   attr("created_at", Kind::Timestamp, kCreated), attr("updated_at", Kind::Timestamp, "2024-01-01 12:03:00.000999")},
                  {attr("booking", Kind::Integer, "1")});
}

}  // namespace

TEST(AppendRecord, AttributesThenLinks) {
    EXPECT_EQ(record({attr("id", Kind::Integer, "7"), attr("name", Kind::Text, "Villa \"A\""),
                      null_attr("canceled_at", Kind::TimestampTz), attr("active", Kind::Boolean, "t")},
                     {attr("rental", Kind::Integer, "1"), null_attr("account", Kind::Integer)}),
              R"({"id":7,"name":"Villa \"A\"","canceled_at":null,"active":true,"links":{"rental":1,"account":null}})");
}

TEST(AppendRecord, LinksAlwaysPresent) {
    EXPECT_EQ(record({}, {}), R"({"links":{}})");
    EXPECT_EQ(record({attr("id", Kind::Integer, "1")}, {}), R"({"id":1,"links":{}})");
}

TEST(AppendRecord, NullWinsOverArrayAndKind) {
    Attribute tags{"tags", Kind::Text, true, true, "{a}"};
    EXPECT_EQ(record({tags}, {}), R"({"tags":null,"links":{}})");
}

TEST(AppendRecord, ArrayAttributesAndHasManyLinks) {
    EXPECT_EQ(record({array_attr("tags", Kind::Text, R"({"a b",NULL})"), array_attr("empty", Kind::Integer, "{}")},
                     {array_attr("bookings_fees", Kind::Integer, "{1,2}")}),
              R"({"tags":["a b",null],"empty":[],"links":{"bookings_fees":[1,2]}})");
}

TEST(AppendRecord, NamesAreEscaped) {
    EXPECT_EQ(record({attr("we\"ird<name>", Kind::Integer, "1")}, {}), R"({"we\"ird\u003cname\u003e":1,"links":{}})");
}

TEST(AppendRecord, UuidLinkIsAString) {
    EXPECT_EQ(record({}, {attr("account", Kind::Text, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")}),
              R"({"links":{"account":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}})");
}

TEST(AppendRecord, SideloadsFollowLinks) {
    EXPECT_EQ(record({attr("id", Kind::Integer, "1")}, {attr("rental", Kind::Integer, "3")},
                     {{"rental", R"({"id":3,"links":{}})"}, {"bookings_fees", "[]"}}),
              R"({"id":1,"links":{"rental":3},"rental":{"id":3,"links":{}},"bookings_fees":[]})");
}

TEST(AppendRecord, AppendsToExistingOutput) {
    std::string out = "[";
    dionysus::append_record(out, {attr("id", Kind::Integer, "1")}, {});
    out += ',';
    dionysus::append_record(out, {attr("id", Kind::Integer, "2")}, {});
    out += ']';
    EXPECT_EQ(out, R"([{"id":1,"links":{}},{"id":2,"links":{}}])");
}

TEST(AppendDeletedRecord, DeletedRecordSerializer) {
    std::string out;
    dionysus::append_deleted_record(out, attr("id", Kind::Integer, "42"));
    EXPECT_EQ(out, R"({"links":{},"id":42})");

    out.clear();
    dionysus::append_deleted_record(out, attr("uuid", Kind::Text, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    EXPECT_EQ(out, R"({"links":{},"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})");
}

TEST(Envelope, Shape) {
    EXPECT_EQ(dionysus::envelope("booking_destroyed", "Booking", R"({"links":{},"id":1})"),
              R"({"message":[{"event":"booking_destroyed","model_name":"Booking","data":[{"links":{},"id":1}]}]})");
    EXPECT_EQ(dionysus::envelope("x_updated", "X", R"({"id":1,"links":{}},{"id":2,"links":{}})"),
              R"({"message":[{"event":"x_updated","model_name":"X","data":[{"id":1,"links":{}},{"id":2,"links":{}}]}]})");
    EXPECT_EQ(dionysus::envelope("e", "M<", ""), R"({"message":[{"event":"e","model_name":"M\u003c","data":[]}]})");
}

// What dionysus-rb publishes for a Booking with two fees and a
// tax, from the PostgreSQL text output of its columns.
TEST(Envelope, DionysusRbBookingExampleByteForByte) {
    const std::string fees = "[" + fee("1", "Cleaning", "50.00") + "," + fee("2", "Linen", "25.50") + "]";
    const std::string taxes =
        "[" +
        record({attr("id", Kind::Integer, "1"), attr("amount", Kind::Numeric, "12.750"),
                attr("created_at", Kind::Timestamp, kCreated), attr("updated_at", Kind::Timestamp, kCreated)},
               {attr("booking", Kind::Integer, "1")}) +
        "]";
    const std::string booking =
        record({attr("id", Kind::Integer, "1"), attr("start_at", Kind::TimestampTz, "2024-07-01 16:00:00+00"),
                attr("final_price", Kind::Numeric, "1088.25"), attr("created_at", Kind::TimestampTz, "2024-01-01 12:03:00.000123+00"),
                attr("updated_at", Kind::TimestampTz, "2024-01-01 13:03:00+01"), null_attr("canceled_at", Kind::TimestampTz)},
               {attr("rental", Kind::Integer, "1"), attr("account", Kind::Integer, "1"),
                array_attr("bookings_fees", Kind::Integer, "{1,2}"), array_attr("bookings_taxes", Kind::Integer, "{1}")},
               {{"bookings_fees", fees}, {"bookings_taxes", taxes}});

    EXPECT_EQ(
        dionysus::envelope("booking_created", "Booking", booking),
        R"({"message":[{"event":"booking_created","model_name":"Booking","data":[{"id":1,"start_at":"2024-07-01T16:00:00.000Z","final_price":"1088.25","created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z","canceled_at":null,"links":{"rental":1,"account":1,"bookings_fees":[1,2],"bookings_taxes":[1]},"bookings_fees":[{"id":1,"name":"Cleaning","amount":"50.0","created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}},{"id":2,"name":"Linen","amount":"25.5","created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}}],"bookings_taxes":[{"id":1,"amount":"12.75","created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}}]}]}]})");
}
