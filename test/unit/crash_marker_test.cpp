#include "recovery/crash_marker.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <stdlib.h>
#include <unistd.h>

namespace {

using dionysus::recovery::CrashMarker;

class CrashMarkerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/crash_marker_testXXXXXX";
        dir_ = mkdtemp(tmpl);
        path_ = dir_ + "/state/publisher.rendering";
    }
    void TearDown() override {
        std::remove(path_.c_str());
        rmdir((dir_ + "/state").c_str());
        rmdir(dir_.c_str());
    }
    std::string dir_, path_;
};

TEST_F(CrashMarkerTest, NothingToRecoverAfterACleanRun) {
    CrashMarker marker(path_, "pm1");  // creates the directory and the file
    EXPECT_FALSE(marker.recover());
    marker.begin("app_bookings", 10, 19, 0);
    marker.end();
    EXPECT_FALSE(CrashMarker(path_, "pm1").recover());
}

TEST_F(CrashMarkerTest, ADeathWhileRenderingLeavesTheRowsAndCountsIt) {
    {
        CrashMarker marker(path_, "pm1");
        marker.begin("app bookings", 10, 19, 0);  // the process dies here
    }
    auto suspect = CrashMarker(path_, "pm1").recover();
    ASSERT_TRUE(suspect);
    EXPECT_EQ(suspect->topic, "app bookings");
    EXPECT_EQ(suspect->first_id, 10);
    EXPECT_EQ(suspect->last_id, 19);
    EXPECT_EQ(suspect->crashes, 1);
    EXPECT_FALSE(suspect->single_row());
    EXPECT_TRUE(suspect->covers("app bookings", 19));
    EXPECT_FALSE(suspect->covers("app bookings", 20));
    EXPECT_FALSE(suspect->covers("other", 15));
}

TEST_F(CrashMarkerTest, ASecondDeathOnTheSameRowCountsTwo) {
    {
        CrashMarker marker(path_, "pm1");
        marker.begin("t", 7, 7, 1);  // one death already counted
    }
    auto suspect = CrashMarker(path_, "pm1").recover();
    ASSERT_TRUE(suspect);
    EXPECT_TRUE(suspect->single_row());
    EXPECT_EQ(suspect->crashes, 2);
}

TEST_F(CrashMarkerTest, AShorterLineReplacesALongerOne) {
    CrashMarker marker(path_, "pm1");
    marker.begin("a_very_long_topic_name", 1000000, 2000000, 3);
    marker.begin("t", 1, 2, 0);
    auto suspect = marker.recover();
    ASSERT_TRUE(suspect);
    EXPECT_EQ(suspect->topic, "t");
    EXPECT_EQ(suspect->last_id, 2);
    EXPECT_EQ(suspect->crashes, 1);
}

TEST_F(CrashMarkerTest, AnUnreadableFileIsNoSuspect) {
    CrashMarker marker(path_, "pm1");
    std::ofstream(path_) << "garbage\n";
    EXPECT_FALSE(marker.recover());
    std::ofstream(path_) << "pm1 1 9 3 t\n";  // first > last
    EXPECT_FALSE(marker.recover());
}

TEST_F(CrashMarkerTest, AnUnwritablePlaceIsAnError) {
    EXPECT_THROW(CrashMarker("/proc/no/such/dir/file", "pm1"), std::runtime_error);
    EXPECT_THROW(CrashMarker(path_, "two words"), std::runtime_error);
}

TEST_F(CrashMarkerTest, AFileOfAnotherPostmasterIsNoSuspect) {
    {
        CrashMarker marker(path_, "pm1");
        marker.begin("t", 7, 7, 2);  // the process dies here
    }
    // copied by pg_basebackup, or left before a restart or a promotion
    EXPECT_FALSE(CrashMarker(path_, "pm2").recover());
    // the same postmaster after a crash restart
    auto suspect = CrashMarker(path_, "pm1").recover();
    ASSERT_TRUE(suspect);
    EXPECT_EQ(suspect->crashes, 3);
}

}  // namespace
