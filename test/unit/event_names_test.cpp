#include "wire/event_names.hpp"

#include <gtest/gtest.h>

using namespace dionysus::events;

TEST(EventNames, BuiltFromTheUnderscoredModelName) {
    EXPECT_EQ(event_name("Booking", Event::Created), "booking_created");
    EXPECT_EQ(event_name("BookingsFee", Event::Updated), "bookings_fee_updated");
    EXPECT_EQ(event_name("Admin::User", Event::Destroyed), "admin/user_destroyed");
}

TEST(EventNames, ReadBackBySuffix) {
    for (Event e : {Event::Created, Event::Updated, Event::Destroyed})
        EXPECT_EQ(event_of(event_name("BookingsFee", e)), e);
    EXPECT_EQ(event_of("rental_destroyed"), Event::Destroyed);
    EXPECT_EQ(event_of("tombstone"), std::nullopt);
    EXPECT_EQ(event_of("_destroyed"), std::nullopt);  // no model prefix
    EXPECT_EQ(event_of("rental_destroyed_later"), std::nullopt);
}
