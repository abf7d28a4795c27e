// Rails naming (ActiveSupport 7 classify/underscore) and Kafka topic rules.
#include "wire/naming.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace dionysus::naming;

namespace {

struct Case {
    const char* in;
    const char* out;
};

void expect_all(std::initializer_list<Case> cases, std::string (*fn)(std::string_view)) {
    for (const Case& c : cases) EXPECT_EQ(fn(c.in), c.out) << "input: " << c.in;
}

}  // namespace

TEST(ModelName, BriefExamples) {
    expect_all({{"bookings_fees", "BookingsFee"}, {"rentals", "Rental"}, {"categories", "Category"},
                {"addresses", "Address"},         {"statuses", "Status"}, {"people", "Person"},
                {"companies", "Company"},         {"account", "Account"}, {"mice", "Mouse"},
                {"news", "News"},                 {"quizzes", "Quiz"},    {"bookings_taxes", "BookingsTax"},
                {"matrices", "Matrix"},           {"aliases", "Alias"},   {"buses", "Bus"},
                {"analyses", "Analysis"}},
               model_name_for_table);
    // Rails' own answer: ([lr])ves$ needs l/r right before "ves", so
    // ([^f])ves$ -> "fe" applies. Faithful on purpose.
    EXPECT_EQ(model_name_for_table("leaves"), "Leafe");
}

TEST(ModelName, EverySingularRule) {
    expect_all({{"accounts", "Account"},        // s$
                {"business", "Business"},       // (ss)$
                {"address", "Address"},
                {"news", "News"},               // (n)ews$
                {"data", "Datum"},              // ([ti])a$
                {"media", "Medium"},
                {"diagnoses", "Diagnosis"},     // ((a)naly|(b)a|(d)iagno|...)(sis|ses)$
                {"parentheses", "Parenthesis"},
                {"prognoses", "Prognosis"},
                {"synopses", "Synopsis"},
                {"theses", "Thesis"},
                {"bases", "Basis"},             // Rails' own quirk
                {"analysis", "Analysis"},       // (^analy)(sis|ses)$
                {"knives", "Knife"},            // ([^f])ves$
                {"wives", "Wife"},
                {"hives", "Hive"},              // (hive)s$
                {"objectives", "Objective"},    // (tive)s$
                {"halves", "Half"},             // ([lr])ves$
                {"wolves", "Wolf"},
                {"categories", "Category"},     // ([^aeiouy]|qu)ies$
                {"soliloquies", "Soliloquy"},
                {"series", "Series"},           // uncountable before (s)eries$
                {"movies", "Movie"},            // (m)ovies$
                {"boxes", "Box"},               // (x|ch|ss|sh)es$
                {"matches", "Match"},
                {"kisses", "Kiss"},
                {"wishes", "Wish"},
                {"lice", "Louse"},              // ^(m|l)ice$
                {"field_mice", "FieldMice"},    // anchored at the start: no match
                {"bus", "Bus"},                 // (bus)(es)?$
                {"potatoes", "Potato"},         // (o)es$
                {"shoes", "Shoe"},              // (shoe)s$
                {"crises", "Crisis"},           // (cris|test)(is|es)$
                {"testes", "Testis"},
                {"axes", "Axis"},               // ^(a)x[ie]s$
                {"taxes", "Tax"},               // ...which is anchored
                {"octopi", "Octopus"},          // (octop|vir)(us|i)$
                {"viri", "Virus"},
                {"octopus", "Octopus"},
                {"status", "Status"},           // (alias|status)(es)?$
                {"alias", "Alias"},
                {"oxen", "Ox"},                 // ^(ox)en
                {"boxen", "Boxen"},
                {"vertices", "Vertex"},         // (vert|ind)ices$
                {"indices", "Index"},
                {"databases", "Database"}},     // (database)s$ beats the "bases" rule
               model_name_for_table);
}

TEST(ModelName, Irregulars) {
    expect_all({{"people", "Person"},
                {"person", "Person"},
                {"salespeople", "Salesperson"},  // irregular patterns are not anchored
                {"men", "Man"},
                {"women", "Woman"},
                {"children", "Child"},
                {"sexes", "Sex"},
                {"moves", "Move"},
                {"removes", "Remove"},
                {"zombies", "Zombie"},  // would be "Zomby" by the ies rule
                {"cows", "Cow"}},       // "kine" left Rails long ago
               model_name_for_table);
}

TEST(ModelName, Uncountables) {
    expect_all({{"equipment", "Equipment"}, {"information", "Information"}, {"rice", "Rice"},
                {"money", "Money"},         {"species", "Species"},         {"series", "Series"},
                {"fish", "Fish"},           {"sheep", "Sheep"},             {"jeans", "Jeans"},
                {"police", "Police"},       {"Police", "Police"}},
               model_name_for_table);
    // /\bfish\Z/i: "_" is a word character, so there is no boundary.
    EXPECT_EQ(model_name_for_table("bookings_fish"), "BookingsFish");
    EXPECT_EQ(model_name_for_table("bookings_jeans"), "BookingsJean");
    EXPECT_EQ(model_name_for_table("information_sheets"), "InformationSheet");
}

TEST(ModelName, CamelizeDetails) {
    expect_all({{"user_accounts", "UserAccount"},
                {"api_v2_keys", "ApiV2Key"},
                {"admin/users", "Admin::User"},
                {"public.bookings", "Booking"},  // schema prefix dropped
                {"a.b.bookings_fees", "BookingsFee"},
                {"Bookings", "Booking"},
                {"BOOKINGS", "BOOKING"},  // camelize only capitalizes a lowercase start
                {"bookings_FEES", "BookingsFee"},
                {"BOIES", "BOIE"},  // [^aeiouy] is case-insensitive
                {"a__b", "AB"},
                {"", ""}},
               model_name_for_table);
}

TEST(Underscore, ActiveSupportExamples) {
    expect_all({{"BookingsFee", "bookings_fee"},
                {"HTTPRequest", "http_request"},
                {"Booking", "booking"},
                {"booking", "booking"},
                {"bookings_fee", "bookings_fee"},
                {"Admin::User", "admin/user"},
                {"SSLError", "ssl_error"},
                {"ABC", "abc"},
                {"Area51Controller", "area51_controller"},
                {"HTML5Parser", "html5_parser"},
                {"my-model", "my_model"},
                {"BookingsTax", "bookings_tax"},
                {"", ""}},
               underscore);
}

TEST(Underscore, EventPrefixOfDerivedModelNames) {
    // publish() derives the event prefix as underscore(model name).
    EXPECT_EQ(underscore(model_name_for_table("bookings_fees")), "bookings_fee");
    EXPECT_EQ(underscore(model_name_for_table("bookings_taxes")), "bookings_tax");
    EXPECT_EQ(underscore(model_name_for_table("people")), "person");
    EXPECT_EQ(underscore(model_name_for_table("rentals")), "rental");
}

TEST(TopicName, JoinsAndKeys) {
    EXPECT_EQ(topic_name("dionysus", "bookings"), "dionysus_bookings");
    EXPECT_EQ(topic_name("a", ""), "a_");
    EXPECT_EQ(message_key("Booking", "1"), "Booking:1");
    EXPECT_EQ(message_key("BookingsFee", "3f2a"), "BookingsFee:3f2a");
}

TEST(Naming, LinkName) {
    EXPECT_EQ(link_name("rental_id"), "rental");
    EXPECT_EQ(link_name("account_id"), "account");
    EXPECT_EQ(link_name("owner"), "owner");
    EXPECT_EQ(link_name("_id"), "_id");  // nothing would be left
    EXPECT_EQ(link_name("id"), "id");
}

TEST(TopicName, LegalNames) {
    EXPECT_EQ(topic_name_problem("dionysus_bookings"), std::nullopt);
    EXPECT_EQ(topic_name_problem("a.b-c_D9"), std::nullopt);
    EXPECT_EQ(topic_name_problem("..."), std::nullopt);
    EXPECT_EQ(topic_name_problem(std::string(249, 'x')), std::nullopt);
}

TEST(TopicName, Problems) {
    auto empty = topic_name_problem("");
    ASSERT_TRUE(empty);
    EXPECT_NE(empty->find("empty"), std::string::npos) << *empty;

    auto too_long = topic_name_problem(std::string(250, 'x'));
    ASSERT_TRUE(too_long);
    EXPECT_NE(too_long->find("250"), std::string::npos) << *too_long;
    EXPECT_NE(too_long->find("249"), std::string::npos) << *too_long;

    auto space = topic_name_problem("my topic");
    ASSERT_TRUE(space);
    EXPECT_NE(space->find("' '"), std::string::npos) << *space;
    EXPECT_NE(space->find("position 3"), std::string::npos) << *space;

    auto slash = topic_name_problem("a/b:c");
    ASSERT_TRUE(slash);
    EXPECT_NE(slash->find("'/'"), std::string::npos) << *slash;  // the first offending char

    auto accent = topic_name_problem("caf\xc3\xa9");
    ASSERT_TRUE(accent);
    EXPECT_NE(accent->find("'\xc3\xa9'"), std::string::npos) << *accent;

    auto control = topic_name_problem(std::string("a\x01", 2));
    ASSERT_TRUE(control);
    EXPECT_NE(control->find("0x01"), std::string::npos) << *control;

    EXPECT_TRUE(topic_name_problem("."));
    EXPECT_TRUE(topic_name_problem(".."));
}

TEST(TopicName, PartProblemsNameThePart) {
    EXPECT_EQ(namespace_or_name_problem("dionysus", "namespace"), std::nullopt);
    for (std::string_view what : {"namespace", "topic name"}) {
        for (std::string bad : {std::string(), std::string("a b"), std::string("."), std::string(".."),
                                std::string(250, 'n')}) {
            auto p = namespace_or_name_problem(bad, what);
            ASSERT_TRUE(p) << bad;
            EXPECT_EQ(p->rfind(std::string(what), 0), 0u) << *p;
        }
    }
}

// ActiveSupport's pluralize, rule by rule (the expectations are what
// "word".pluralize gives in Rails 7).
TEST(Pluralize, EveryPluralRule) {
    const std::pair<const char*, const char*> cases[] = {
        {"rental", "rentals"},     {"bus", "buses"},           {"axis", "axes"},
        {"testis", "testes"},      {"octopus", "octopi"},      {"virus", "viri"},
        {"alias", "aliases"},      {"status", "statuses"},     {"buffalo", "buffaloes"},
        {"tomato", "tomatoes"},    {"datum", "data"},          {"medium", "media"},
        {"analysis", "analyses"},  {"wife", "wives"},          {"half", "halves"},
        {"hive", "hives"},         {"category", "categories"}, {"query", "queries"},
        {"day", "days"},           {"box", "boxes"},           {"church", "churches"},
        {"kiss", "kisses"},        {"dish", "dishes"},         {"matrix", "matrices"},
        {"vertex", "vertices"},    {"index", "indices"},       {"mouse", "mice"},
        {"louse", "lice"},         {"ox", "oxen"},             {"quiz", "quizzes"},
        {"rentals", "rentals"},    {"mice", "mice"},           {"oxen", "oxen"},
    };
    for (const auto& [singular, plural] : cases) EXPECT_EQ(pluralize(singular), plural) << singular;
}

TEST(Pluralize, IrregularsAndUncountables) {
    EXPECT_EQ(pluralize("person"), "people");
    EXPECT_EQ(pluralize("salesperson"), "salespeople");
    EXPECT_EQ(pluralize("child"), "children");
    EXPECT_EQ(pluralize("people"), "people");
    EXPECT_EQ(pluralize("fish"), "fish");
    EXPECT_EQ(pluralize("equipment"), "equipment");
    EXPECT_EQ(pluralize("bookings_fish"), "bookings_fishes");  // "_" is a word character: countable
}

TEST(Pluralize, TableNameForModelIsTableize) {
    EXPECT_EQ(table_name_for_model("Rental"), "rentals");
    EXPECT_EQ(table_name_for_model("BookingsFee"), "bookings_fees");
    EXPECT_EQ(table_name_for_model("Person"), "people");
    EXPECT_EQ(table_name_for_model("Category"), "categories");
    // and back: the producer's model name of that table
    for (const char* m : {"Rental", "BookingsFee", "Person", "Category", "Account", "Tax"})
        EXPECT_EQ(model_name_for_table(table_name_for_model(m)), m);
}
