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

#include "wire/local_changes.hpp"
#include "util/bytea_hex.hpp"
#include "util/sql_identifier.hpp"

TEST(LocalChanges, ChangedColumnsWithBeforeAndAfter) {
    EXPECT_EQ(dionysus::wire::local_changes(R"({"id":1,"name":"a","n":2})", R"({"id":1,"name":"b","n":2})"),
              R"({"name":["a","b"]})");
    // a new row: every non-null column changed from null
    EXPECT_EQ(dionysus::wire::local_changes("", R"({"id":1,"name":null,"tags":["x"]})"), R"({"id":[null,1],"tags":[null,["x"]]})");
    EXPECT_EQ(dionysus::wire::local_changes(R"({"id":1})", R"({"id":1})"), "{}");
}

TEST(LocalChanges, NotificationsStayUnderTheLimit) {
    using dionysus::wire::consume_notification;
    const std::string full = consume_notification("t", "booking_created", "Booking", "1", "insert", R"({"a":[null,1]})", 7900);
    EXPECT_EQ(full, R"({"topic":"t","event":"booking_created","model":"Booking","synced_id":1,"action":"insert","changes":{"a":[null,1]}})");
    const std::string big = "{\"a\":[null,\"" + std::string(9000, 'x') + "\"],\"b\":[1,2]}";
    const std::string names = consume_notification("t", "e", "M", "\"k\"", "update", big, 7900);
    EXPECT_EQ(names, R"({"topic":"t","event":"e","model":"M","synced_id":"k","action":"update","changed_columns":["a","b"],"changes_omitted":true})");
    const std::string tiny = consume_notification("t", "e", "M", "1", "update", big, 100);
    EXPECT_EQ(tiny, R"({"topic":"t","event":"e","model":"M","synced_id":1,"action":"update","changes_omitted":true})");
    // an event name longer than any payload: the topic alone, never over the limit
    const std::string hostile = consume_notification("t", std::string(9000, 'a') + "_created", "M", "1", "insert", "{}", 7900);
    EXPECT_EQ(hostile, R"({"topic":"t","changes_omitted":true,"truncated":true})");
    // column names only (dionysus.consumer_notify = columns)
    EXPECT_EQ(consume_notification("t", "e", "M", "1", "update", R"({"a":[1,2],"b":[null,"x"]})", 7900, false),
              R"({"topic":"t","event":"e","model":"M","synced_id":1,"action":"update","changed_columns":["a","b"]})");
}

TEST(ByteaHex, RoundTripOfAnyBytes) {
    const std::string bytes("{not json\0\xff", 11);
    EXPECT_EQ(dionysus::util::bytea_hex(bytes), "\\x7b6e6f74206a736f6e00ff");
    EXPECT_EQ(dionysus::util::from_bytea_hex(dionysus::util::bytea_hex(bytes)), bytes);
    EXPECT_EQ(dionysus::util::from_bytea_hex("\\x"), std::string());
    EXPECT_EQ(dionysus::util::from_bytea_hex("7b"), std::nullopt);
    EXPECT_EQ(dionysus::util::from_bytea_hex("\\x7"), std::nullopt);
    EXPECT_EQ(dionysus::util::from_bytea_hex("\\xzz"), std::nullopt);
}

TEST(SqlIdentifier, AlwaysQuotedQuotesDoubled) {
    EXPECT_EQ(dionysus::util::quote_identifier("name"), "\"name\"");
    EXPECT_EQ(dionysus::util::quote_identifier("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
}

TEST(RecordDeserializer, SideloadsNestedTooDeepArePoison) {
    std::string nested = R"({"id":0})";
    for (int i = 1; i <= 17; i++) nested = R"({"id":)" + std::to_string(i) + R"(,"links":{"child":0},"child":)" + nested + "}";
    EXPECT_THROW(deserialize_record(nested), MalformedMessage);
    std::string shallow = R"({"id":0})";
    for (int i = 1; i <= 16; i++) shallow = R"({"id":)" + std::to_string(i) + R"(,"links":{"child":0},"child":)" + shallow + "}";
    EXPECT_NO_THROW(deserialize_record(shallow));
}
