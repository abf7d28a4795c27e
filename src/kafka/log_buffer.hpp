// Warnings and errors that librdkafka's threads report, kept for the
// worker's main thread (the only one that may log through Postgres).
// Shared by the producer and the consumer. Nothing escapes the adders:
// librdkafka calls them through C frames (a lost line is harmless).
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dionysus::kafka {

class LogBuffer {
public:
    void add(std::string line) noexcept {
        try {
            std::lock_guard<std::mutex> lock(mutex_);
            if (lines_.size() < kMaxLines) lines_.push_back(std::move(line));
        } catch (...) {
        }
    }
    // A log callback's line: warnings and worse (syslog levels 0..4).
    void log(int level, const char* facility, const char* text) noexcept {
        if (level > 4) return;
        try {
            add(std::string(facility) + ": " + text);
        } catch (...) {
        }
    }
    // An error callback's line.
    void error(const char* name, const char* reason) noexcept {
        try {
            add(std::string("error ") + name + ": " + reason);
        } catch (...) {
        }
    }
    std::vector<std::string> take() {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<std::string> out;
        out.swap(lines_);
        return out;
    }

private:
    static constexpr size_t kMaxLines = 1000;
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

}  // namespace dionysus::kafka
