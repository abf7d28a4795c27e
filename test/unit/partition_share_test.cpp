// Spreading consumed partitions across consumer workers.
#include "kafka/partition_share.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

using dionysus::kafka::partition_share;

TEST(PartitionShare, OneWorkerTakesEverything) {
    for (int32_t p = 0; p < 10; p++) EXPECT_EQ(partition_share("bench_bookings", p, 1), 0);
    EXPECT_EQ(partition_share("x", 3, 0), 0);
}

TEST(PartitionShare, PartitionsOfATopicAreDealtEvenly) {
    for (int workers : {2, 3, 4, 16}) {
        std::map<int, int> per_worker;
        for (int32_t p = 0; p < 96; p++) {
            const int w = partition_share("bench_bookings", p, workers);
            ASSERT_GE(w, 0);
            ASSERT_LT(w, workers);
            per_worker[w]++;
            // round-robin: neighbours go to neighbouring workers
            EXPECT_EQ(partition_share("bench_bookings", p + 1, workers), (w + 1) % workers);
        }
        EXPECT_EQ(static_cast<int>(per_worker.size()), workers);
        for (const auto& [w, n] : per_worker) EXPECT_EQ(n, 96 / workers) << "worker " << w << " of " << workers;
    }
}

TEST(PartitionShare, SinglePartitionTopicsDoNotAllLandOnOneWorker) {
    std::set<int> used;
    for (int i = 0; i < 20; i++) used.insert(partition_share("topic_" + std::to_string(i), 0, 2));
    EXPECT_EQ(used.size(), 2u);
}

TEST(PartitionShare, StableAcrossRunsAndBuilds) {
    // FNV-1a of the name: these values must never change, or a worker
    // restarted on a new build would take partitions another still holds.
    EXPECT_EQ(partition_share("app_bookings", 0, 2), partition_share("app_bookings", 2, 2));
    EXPECT_EQ(partition_share("", 0, 3), static_cast<int>(2166136261u % 3));
    EXPECT_EQ(partition_share("a", 0, 7), static_cast<int>(((2166136261u ^ 'a') * 16777619u) % 7));
}
