// The batch the publisher is rendering or producing, kept in a file: a
// worker that dies meanwhile (a segfault in a serializer, the OOM killer) leaves it
// behind, and its successor knows which rows to suspect. Shared memory is
// no place for it: Postgres reinitialises shared memory after a crash.
// Pure C++ (file I/O only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dionysus::recovery {

// Outbox rows first_id..last_id of `topic` were being rendered when the
// worker died; `crashes` counts the deaths on them, that one included.
struct Suspect {
    std::string topic;
    int64_t first_id = 0, last_id = 0;
    int crashes = 0;
    bool single_row() const { return first_id == last_id; }
    bool covers(const std::string& t, int64_t id) const { return t == topic && id >= first_id && id <= last_id; }
};

class CrashMarker {
public:
    // Creates the file (and its directory) when missing; throws
    // std::runtime_error when it cannot. `owner` names the postmaster (no
    // spaces): a crash restart keeps the postmaster, so its workers read
    // what their predecessors left; a file written under another postmaster
    // (copied by pg_basebackup, left on a standby promoted since, or before
    // the server was stopped) names no suspect.
    CrashMarker(std::string path, std::string owner);
    ~CrashMarker();
    CrashMarker(const CrashMarker&) = delete;
    CrashMarker& operator=(const CrashMarker&) = delete;

    // What the previous process left: the rows it was rendering when it
    // died, or nullopt after a clean run (or an unreadable file, or one of
    // another postmaster).
    std::optional<Suspect> recover() const;
    // Before rendering rows first_id..last_id; `crashes` are the deaths
    // already counted on them. Throws std::runtime_error on a write failure.
    void begin(const std::string& topic, int64_t first_id, int64_t last_id, int crashes);
    // After rendering (whatever its outcome).
    void end();
    // For a signal handler that must clear the file (ftruncate(fd, 0) is
    // async-signal-safe): a death that is not the rows' fault.
    int fd() const { return fd_; }

private:
    std::string path_;
    std::string owner_;
    int fd_ = -1;
};

}  // namespace dionysus::recovery
