#include "util/name_list.hpp"

#include <gtest/gtest.h>

using dionysus::util::split_name_list;
using V = std::vector<std::string>;

TEST(NameList, OneName) { EXPECT_EQ(split_name_list("app"), V{"app"}); }

TEST(NameList, CommaSeparatedTrimmedInOrder) {
    EXPECT_EQ(split_name_list("billing, app ,\tcrm"), (V{"billing", "app", "crm"}));
}

TEST(NameList, EmptyNamesAndRepeatsDropped) {
    EXPECT_EQ(split_name_list(""), V{});
    EXPECT_EQ(split_name_list(" , ,"), V{});
    EXPECT_EQ(split_name_list("app,,app, crm,app"), (V{"app", "crm"}));
}

TEST(NameList, NamesKeepInnerSpacesAndCase) {
    EXPECT_EQ(split_name_list("My App,my app"), (V{"My App", "my app"}));
}
