// Names: Rails-style model names, Kafka topic names and message keys.
// Pure C++ (no Postgres), unit-tested in test/unit/naming_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dionysus::naming {

// ActiveSupport `classify` with the default English inflections:
// "bookings_fees" -> "BookingsFee", "people" -> "Person". A leading
// "schema." prefix is dropped, as Rails does.
std::string model_name_for_table(std::string_view table);

// ActiveSupport `singularize`: "bookings_fees" -> "bookings_fee".
std::string singular_of(std::string_view word);

// ActiveSupport `pluralize`: "bookings_fee" -> "bookings_fees",
// "person" -> "people", "category" -> "categories", "fish" -> "fish".
std::string pluralize(std::string_view word);

// ActiveSupport `tableize`, the consumer's convention for where a model's
// records go: "Rental" -> "rentals", "BookingsFee" -> "bookings_fees".
std::string table_name_for_model(std::string_view model_name);

// ActiveSupport `underscore`: "BookingsFee" -> "bookings_fee",
// "HTTPRequest" -> "http_request", "Admin::User" -> "admin/user".
std::string underscore(std::string_view camel);

// Kafka's rules for a full topic name: nullopt when legal, else a message.
std::optional<std::string> topic_name_problem(std::string_view name);

// The same rules for one part of a topic name; `what` ("namespace",
// "topic name") names the part in the message.
std::optional<std::string> namespace_or_name_problem(std::string_view part, std::string_view what);

// "<namespace>_<name>"
std::string topic_name(std::string_view ns, std::string_view name);

// "<ModelName>:<id>", dionysus-rb's message key.
std::string message_key(std::string_view model_name, std::string_view id);

// The link (and has_one relation) name of a foreign-key column, as Rails
// names a belongs_to: "rental_id" -> "rental"; other names stay as they are.
std::string link_name(std::string_view column);

}  // namespace dionysus::naming
