#include "recovery/crash_marker.hpp"
#include "util/cpp_only_file.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dionysus::recovery {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

CrashMarker::CrashMarker(std::string path, std::string owner) : path_(std::move(path)), owner_(std::move(owner)) {
    if (owner_.empty() || owner_.find_first_of(" \n") != std::string::npos)
        throw std::runtime_error("crash marker owner must be a non-empty word");
    const auto slash = path_.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        const std::string dir = path_.substr(0, slash);
        if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create directory", dir);
    }
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) fail("cannot open", path_);
}

CrashMarker::~CrashMarker() {
    if (fd_ >= 0) close(fd_);
}

std::optional<Suspect> CrashMarker::recover() const {
    char buf[4096];
    const ssize_t n = pread(fd_, buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    // "<owner> <crashes> <first_id> <last_id> <topic>\n" (the topic last: it may hold spaces)
    std::istringstream in(std::string(buf, static_cast<size_t>(n)));
    Suspect s;
    std::string owner;
    if (!(in >> owner >> s.crashes >> s.first_id >> s.last_id) || in.get() != ' ') return std::nullopt;
    if (owner != owner_) return std::nullopt;
    if (!std::getline(in, s.topic) || s.topic.empty() || s.first_id > s.last_id || s.crashes < 0)
        return std::nullopt;
    s.crashes++;
    return s;
}

void CrashMarker::begin(const std::string& topic, int64_t first_id, int64_t last_id, int crashes) {
    const std::string line = owner_ + " " + std::to_string(crashes) + " " + std::to_string(first_id) + " " +
                             std::to_string(last_id) + " " + topic + "\n";
    // No fsync: the file must survive the death of the process, not of the machine.
    if (pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()) ||
        ftruncate(fd_, static_cast<off_t>(line.size())) != 0)
        fail("cannot write", path_);
}

void CrashMarker::end() {
    if (ftruncate(fd_, 0) != 0) fail("cannot truncate", path_);
}

}  // namespace dionysus::recovery
