// The consumer's reading of dionysus-rb messages: envelopes and tombstones
// (message_reader), Dionysus::Consumer::Deserializer's rules
// (record_deserializer), RemoveDuplicatesStrategy (batch_dedupe).
#include "wire/batch_dedupe.hpp"
#include "wire/message_reader.hpp"
#include "wire/record_deserializer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace dionysus::wire;

namespace {

std::map<std::string, std::string> attrs(const DeserializedRecord& r) {
    return {r.attributes.begin(), r.attributes.end()};
}

std::vector<std::string> names(const DeserializedRecord& r) {
    std::vector<std::string> out;
    for (const auto& [n, v] : r.attributes) out.push_back(n);
    return out;
}

// The Booking of README "Wire format", as the publisher sends it.
const char* kBooking =
    R"({"message":[{"event":"booking_created","model_name":"Booking","data":[{"id":1,"start_at":"2024-07-01T16:00:00.000Z",)"
    R"("final_price":"1088.25","created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z",)"
    R"("canceled_at":null,"links":{"rental":1,"account":1,"bookings_fees":[1,2],"bookings_taxes":[1]},)"
    R"("bookings_fees":[{"id":1,"name":"Cleaning","amount":"50.0","created_at":"2024-01-01T12:03:00.000Z",)"
    R"("updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}},{"id":2,"name":"Linen","amount":"25.5",)"
    R"("created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}}],)"
    R"("bookings_taxes":[{"id":1,"amount":"12.75","created_at":"2024-01-01T12:03:00.000Z",)"
    R"("updated_at":"2024-01-01T12:03:00.000Z","links":{"booking":1}}]}]}]})";

}  // namespace

TEST(MessageReader, EventsAndRecords) {
    const auto events = read_message(std::string_view(kBooking));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].event, "booking_created");
    EXPECT_EQ(events[0].model_name, "Booking");
    ASSERT_EQ(events[0].records.size(), 1u);
    EXPECT_EQ(event_kind(events[0].event), EventKind::Created);
    EXPECT_EQ(event_kind("rental_updated"), EventKind::Updated);
    EXPECT_EQ(event_kind("bookings_fee_destroyed"), EventKind::Destroyed);
    EXPECT_EQ(event_kind("something_else"), EventKind::Other);
}

TEST(MessageReader, SeveralEventsInOrder) {
    const auto events = read_message(std::string_view(
        R"({"message":[{"event":"a_created","model_name":"A","data":[{"id":1},{"id":2}]},)"
        R"({"event":"a_destroyed","model_name":"A","data":[]}]})"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].records, (std::vector<std::string>{R"({"id":1})", R"({"id":2})"}));
    EXPECT_TRUE(events[1].records.empty());
}

TEST(MessageReader, TombstonesHoldNoEvents) {
    EXPECT_TRUE(read_message(std::nullopt).empty());                // a Kafka null value
    EXPECT_TRUE(read_message(std::string_view("null")).empty());    // dionysus-rb's text null
    EXPECT_TRUE(read_message(std::string_view(" null\n")).empty());
}

TEST(MessageReader, MalformedValuesArePoison) {
    for (const char* bad : {"", "{", "not json", "[]", R"({"messages":[]})", R"({"message":{}})",
                            R"({"message":[1]})", R"({"message":[{"model_name":"A","data":[]}]})",
                            R"({"message":[{"event":"a_created","data":[]}]})",
                            R"({"message":[{"event":"a_created","model_name":"A"}]})",
                            R"({"message":[{"event":"a_created","model_name":"A","data":[1]}]})"})
        EXPECT_THROW(read_message(std::string_view(bad)), MalformedMessage) << bad;
}

TEST(RecordDeserializer, TheBookingOfTheWireFormat) {
    const auto events = read_message(std::string_view(kBooking));
    const DeserializedRecord r = deserialize_record(events[0].records[0]);
    EXPECT_EQ(names(r), (std::vector<std::string>{"synced_rental_id", "synced_account_id", "synced_bookings_fee_ids",
                                                  "synced_bookings_tax_ids", "synced_id", "synced_created_at",
                                                  "synced_updated_at", "synced_canceled_at", "start_at",
                                                  "final_price"}));
    const auto a = attrs(r);
    EXPECT_EQ(a.at("synced_id"), "1");
    EXPECT_EQ(a.at("synced_rental_id"), "1");
    EXPECT_EQ(a.at("synced_bookings_fee_ids"), "[1,2]");
    EXPECT_EQ(a.at("synced_bookings_tax_ids"), "[1]");
    EXPECT_EQ(a.at("synced_created_at"), R"("2024-01-01T12:03:00.000Z")");
    EXPECT_EQ(a.at("synced_canceled_at"), "null");
    EXPECT_EQ(a.at("final_price"), R"("1088.25")");
    EXPECT_EQ(a.count("links") + a.count("bookings_fees") + a.count("id") + a.count("created_at"), 0u);

    ASSERT_EQ(r.has_many.size(), 2u);
    EXPECT_EQ(r.has_many[0].model_name, "bookings_fees");
    ASSERT_TRUE(r.has_many[0].sideloaded);
    ASSERT_EQ(r.has_many[0].records.size(), 2u);
    const auto fee = attrs(r.has_many[0].records[1]);
    EXPECT_EQ(fee.at("synced_id"), "2");
    EXPECT_EQ(fee.at("synced_booking_id"), "1");
    EXPECT_EQ(fee.at("name"), R"("Linen")");
    EXPECT_EQ(fee.at("amount"), R"("25.5")");
    EXPECT_EQ(fee.count("synced_canceled_at"), 0u);  // the fee has no canceled_at
    EXPECT_EQ(r.has_many[1].model_name, "bookings_taxes");
    // rental and account are links only: has_one entries without a sideloaded record
    ASSERT_EQ(r.has_one.size(), 2u);
    EXPECT_EQ(r.has_one[0].model_name, "rental");
    EXPECT_TRUE(r.has_one[0].record.empty());
    EXPECT_EQ(r.source.substr(0, 9), R"({"id":1,")");
}

TEST(RecordDeserializer, PolymorphicLinksAndSideloadedHasOne) {
    const DeserializedRecord r = deserialize_record(
        R"({"id":"a7","links":{"owner":{"id":5,"type":"Account"},"rental":3},"rental":{"id":3,"name":"Villa"},)"
        R"("owner":[{"id":5,"email":"x@y"}],"name":"Note"})");
    const auto a = attrs(r);
    EXPECT_EQ(a.at("synced_id"), R"("a7")");
    EXPECT_EQ(a.at("synced_owner_id"), "5");
    EXPECT_EQ(a.at("synced_owner_type"), R"("Account")");
    EXPECT_EQ(a.at("synced_rental_id"), "3");
    EXPECT_EQ(a.at("name"), R"("Note")");
    EXPECT_EQ(a.count("rental") + a.count("owner"), 0u);
    ASSERT_EQ(r.has_one.size(), 2u);
    EXPECT_EQ(r.has_one[0].model_name, "Account");  // the polymorphic link's type
    ASSERT_EQ(r.has_one[0].record.size(), 1u);
    EXPECT_EQ(attrs(r.has_one[0].record[0]).at("email"), R"("x@y")");  // Array.wrap: the first
    EXPECT_EQ(r.has_one[1].model_name, "rental");
    ASSERT_EQ(r.has_one[1].record.size(), 1u);
    EXPECT_EQ(attrs(r.has_one[1].record[0]).at("synced_id"), "3");
}

TEST(RecordDeserializer, DeletedRecordAndMissingSideloads) {
    // DeletedRecordSerializer's record
    const DeserializedRecord deleted = deserialize_record(R"({"links":{},"id":9})");
    EXPECT_EQ(names(deleted), std::vector<std::string>{"synced_id"});
    // a to-many link whose records were not sideloaded
    const DeserializedRecord r = deserialize_record(R"({"id":1,"links":{"bookings_fees":[]}})");
    ASSERT_EQ(r.has_many.size(), 1u);
    EXPECT_FALSE(r.has_many[0].sideloaded);
    EXPECT_EQ(attrs(r).at("synced_bookings_fee_ids"), "[]");
    EXPECT_THROW(deserialize_record(R"({"name":"no id"})"), MalformedMessage);
    EXPECT_THROW(deserialize_record("[1]"), MalformedMessage);
    EXPECT_THROW(deserialize_record(R"({"id":1,"links":{"fees":[1]},"fees":[2]})"), MalformedMessage);
}

namespace {

std::vector<ConsumedEvent> one(const std::string& event, const std::string& record) {
    return {ConsumedEvent{event, "Rental", {record}}};
}

}  // namespace

TEST(BatchDedupe, NewestUpdateOfEachRecordWhereItsFirstWas) {
    const std::vector<std::vector<ConsumedEvent>> batch = {
        one("rental_updated", R"({"id":1,"updated_at":"2024-01-01T10:00:00.000Z"})"),   // 0
        one("rental_created", R"({"id":2,"updated_at":"2024-01-01T09:00:00.000Z"})"),   // 1
        one("rental_updated", R"({"id":1,"updated_at":"2024-01-01T10:00:02.000Z"})"),   // 2: newest of id 1
        one("rental_updated", R"({"id":1,"updated_at":"2024-01-01T10:00:01.000Z"})"),   // 3
        one("rental_updated", R"({"id":"2","updated_at":"2024-01-01T09:00:00.000Z"})"), // 4: "2" joins as 2
        one("rental_destroyed", R"({"id":1})"),                                        // 5
    };
    EXPECT_EQ(remove_duplicates(batch), (std::vector<size_t>{2, 1, 4, 5}));
}

TEST(BatchDedupe, MissingUpdatedAtCountsAsNewestAndTiesKeepTheFirst) {
    const std::vector<std::vector<ConsumedEvent>> batch = {
        one("rental_updated", R"({"id":1,"updated_at":"2024-01-01T10:00:00+02:00"})"),
        one("rental_updated", R"({"id":1})"),
        one("rental_updated", R"({"id":1})"),
        one("rental_updated", R"({"id":3,"updated_at":"2024-01-01T08:00:00.000Z"})"),
        one("rental_updated", R"({"id":3,"updated_at":"2024-01-01 10:00:00+02"})"),  // the same instant: a tie
    };
    EXPECT_EQ(remove_duplicates(batch), (std::vector<size_t>{1, 3}));
}

TEST(BatchDedupe, NotApplicableToMessagesOfSeveralEventsOrRecords) {
    std::vector<std::vector<ConsumedEvent>> batch = {
        one("rental_updated", R"({"id":1})"),
        one("rental_updated", R"({"id":1})"),
        {ConsumedEvent{"rental_updated", "Rental", {R"({"id":1})", R"({"id":2})"}}},
    };
    EXPECT_EQ(remove_duplicates(batch), (std::vector<size_t>{0, 1, 2}));
    batch[2] = {};  // a tombstone holds no event: not applicable either
    EXPECT_EQ(remove_duplicates(batch), (std::vector<size_t>{0, 1, 2}));
}

#include "wire/column_value.hpp"

TEST(ColumnValue, ScalarsAreWhatTheInputFunctionsRead) {
    EXPECT_EQ(column_text(R"("50.0")", ColumnKind::Scalar), "50.0");
    EXPECT_EQ(column_text(R"("2024-05-01T10:00:00.000Z")", ColumnKind::Scalar), "2024-05-01T10:00:00.000Z");
    EXPECT_EQ(column_text(R"("say \"hi\"\n")", ColumnKind::Scalar), "say \"hi\"\n");  // unescaped
    EXPECT_EQ(column_text("42", ColumnKind::Scalar), "42");
    EXPECT_EQ(column_text("-2.5", ColumnKind::Scalar), "-2.5");
    EXPECT_EQ(column_text("true", ColumnKind::Scalar), "true");
    EXPECT_EQ(column_text("null", ColumnKind::Scalar), std::nullopt);
    EXPECT_THROW(column_text(R"({"a":1})", ColumnKind::Scalar), ValueDoesNotFit);
    EXPECT_THROW(column_text("[1]", ColumnKind::Scalar), ValueDoesNotFit);
}

TEST(ColumnValue, JsonColumnsTakeTheJsonText) {
    EXPECT_EQ(column_text(R"({ "a" : [1, 2] })", ColumnKind::Json), R"({"a":[1,2]})");
    EXPECT_EQ(column_text(R"("text")", ColumnKind::Json), R"("text")");
    EXPECT_EQ(column_text("null", ColumnKind::Json), std::nullopt);  // SQL NULL, not JSON null
}

TEST(ColumnValue, ArraysBecomeArrayLiterals) {
    EXPECT_EQ(column_text("[1,2,3]", ColumnKind::Array), R"({"1","2","3"})");
    EXPECT_EQ(column_text(R"(["a,b","}",null,"NULL"])", ColumnKind::Array), R"({"a,b","}",NULL,"NULL"})");
    EXPECT_EQ(column_text("[[1,2],[3,4]]", ColumnKind::Array), R"({{"1","2"},{"3","4"}})");
    EXPECT_EQ(column_text("[]", ColumnKind::Array), "{}");
    EXPECT_THROW(column_text("1", ColumnKind::Array), ValueDoesNotFit);
    EXPECT_THROW(column_text(R"([{"a":1}])", ColumnKind::Array), ValueDoesNotFit);
    EXPECT_THROW(column_text("{", ColumnKind::Array), ValueDoesNotFit);
}
