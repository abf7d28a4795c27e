// dionysus-rb's event names: "<model prefix>_created", "_updated",
// "_destroyed", where the prefix is the underscored model name
// ("BookingsFee" -> "bookings_fee_updated"). Capture writes them into the
// outbox; the publisher reads them back. Pure C++ (no Postgres),
// unit-tested in test/unit/event_names_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dionysus::events {

enum class Event { Created, Updated, Destroyed };

// "booking_created" for ("Booking", Created); "admin/user_updated" for "Admin::User".
std::string event_name(std::string_view model_name, Event event);

// Which of the three events `event_name` is, by its suffix; nullopt for
// anything else (a hand-built message's event, "tombstone").
std::optional<Event> event_of(std::string_view event_name);

}  // namespace dionysus::events
