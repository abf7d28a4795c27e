#include "kafka/partition_share.hpp"

#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

int partition_share(std::string_view topic, int32_t partition, int workers) {
    if (workers <= 1) return 0;
    uint32_t h = 2166136261u;  // FNV-1a: stable across builds and platforms (std::hash is not)
    for (unsigned char c : topic) h = (h ^ c) * 16777619u;
    const uint64_t start = h % static_cast<uint32_t>(workers);
    return static_cast<int>((start + static_cast<uint64_t>(partition < 0 ? 0 : partition)) %
                            static_cast<uint64_t>(workers));
}

}  // namespace dionysus::kafka
