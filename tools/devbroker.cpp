/*
 * dionysus-devbroker -- a throwaway Kafka "cluster" for development and tests.
 *
 * WHY: the dionysus extension publishes to Kafka through librdkafka. The
 * regression tests, integration tests and the demo need a broker that speaks
 * the real Kafka wire protocol, starts in milliseconds, needs no JVM/ZooKeeper
 * and can be told to fail on demand. librdkafka ships exactly that: the mock
 * cluster (rdkafka_mock.h). This program wraps it in a tiny CLI. Production
 * deployments use a real Kafka cluster; nothing in the extension depends on
 * this tool.
 *
 * USAGE
 *   dionysus-devbroker [--brokers N] [--topic NAME[:PARTITIONS]]...
 *                      [--default-partitions N] [--bootstrap-file PATH]
 *                      [--control-file PATH] [--pid-file PATH] [--help]
 *
 *   --brokers N             number of mock brokers (ids 1..N), default 1.
 *   --topic NAME[:P]        pre-create topic NAME with P partitions (P defaults
 *                           to --default-partitions). Replication factor is
 *                           min(3, brokers). Repeatable.
 *   --default-partitions N  partition count for --topic entries without ":P"
 *                           (default 3). NOTE: librdkafka 2.0.2's mock API has
 *                           no way to change the partition count used for
 *                           *auto-created* topics; those always get 4
 *                           partitions (replication min(3, brokers)). A note
 *                           is printed if N is given and != 4. Pre-create topics
 *                           with --topic when the count matters.
 *   --bootstrap-file PATH   write "<host:port,...>\n" to PATH atomically
 *                           (PATH.tmp.<pid> + rename) once ready. Any stale
 *                           PATH is removed at startup and on clean exit.
 *   --control-file PATH     polled every 100 ms. If it exists and its trimmed
 *                           content is "down" or "up", that state is applied
 *                           and THEN the file is deleted, so a caller can wait
 *                           for the file to vanish as an acknowledgement.
 *                           An empty file is left alone (a writer may be
 *                           mid-write); any other content is reported on
 *                           stderr and the file is deleted. Write it
 *                           atomically (tmp + mv) or with a single
 *                           `echo down > PATH`. Fault commands for tests:
 *                             leader TOPIC PARTITION BROKER
 *                               make BROKER the partition's leader;
 *                             produce-errors BROKER COUNT ERROR
 *                               BROKER answers its next COUNT Produce
 *                               requests with ERROR (a Kafka error name such
 *                               as TOPIC_AUTHORIZATION_FAILED, or its code):
 *                               every message of those requests fails.
 *   --pid-file PATH         write our pid to PATH atomically; removed on exit.
 *
 * STDOUT PROTOCOL (line buffered, flushed after each line)
 *   BOOTSTRAP=<host:port,...>   exactly once, when the cluster is ready.
 *   STATE=down | STATE=up       on every actual change of broker state.
 *   APPLIED=<command>           a fault command of the control file applied.
 *
 * SIGNALS
 *   SIGUSR1  take every broker down (connections closed, new ones refused).
 *   SIGUSR2  bring every broker back up. Topic data and committed offsets are
 *            kept in memory across down/up.
 *   SIGTERM, SIGINT  destroy the cluster, remove pid/bootstrap files, exit 0.
 *   Handlers only record the request; the main loop (100 ms tick) applies it.
 *   If several fault signals arrive within one tick, the last one wins.
 *
 * librdkafka log messages at warning level or above go to stderr.
 * Exit status: 0 on SIGTERM/SIGINT, 1 on runtime failure, 2 on usage error.
 */

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * TCP_NODELAY on the mock brokers' accepted connections. librdkafka's mock
 * cluster leaves Nagle on, so a response written while an earlier one is
 * unacknowledged waits for the client's delayed ACK (~40 ms): with pipelined
 * produce requests that dominates latency. Real Kafka brokers set
 * TCP_NODELAY. These definitions in the executable interpose the libc calls
 * librdkafka makes (the linker exports symbols a linked shared library uses).
 */
namespace {
void set_nodelay(int fd) {
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on non-TCP
}
}  // namespace

extern "C" int accept(int fd, struct sockaddr* addr, socklen_t* len) {
    using fn = int (*)(int, struct sockaddr*, socklen_t*);
    static fn real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "accept"));
    int c = real(fd, addr, len);
    set_nodelay(c);
    return c;
}

extern "C" int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
    using fn = int (*)(int, struct sockaddr*, socklen_t*, int);
    static fn real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "accept4"));
    int c = real(fd, addr, len, flags);
    set_nodelay(c);
    return c;
}

namespace {

// ---- signal state (async-signal-safe: handlers only store to these) --------
volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_fault_pending = 0;
volatile sig_atomic_t g_fault_want_down = 0;

extern "C" void on_signal(int sig) {
    switch (sig) {
    case SIGUSR1:
        g_fault_want_down = 1;
        g_fault_pending = 1;
        break;
    case SIGUSR2:
        g_fault_want_down = 0;
        g_fault_pending = 1;
        break;
    default:
        g_stop = 1;
        break;
    }
}

struct Options {
    int brokers = 1;
    int default_partitions = 3;
    bool default_partitions_given = false;
    std::vector<std::pair<std::string, int>> topics;  // partitions -1 = default
    std::string bootstrap_file;
    std::string control_file;
    std::string pid_file;
};

const char *g_prog = "dionysus-devbroker";

void usage(FILE *out) {
    std::fprintf(out,
        "usage: %s [--brokers N] [--topic NAME[:PARTITIONS]]...\n"
        "          [--default-partitions N] [--bootstrap-file PATH]\n"
        "          [--control-file PATH] [--pid-file PATH] [--help]\n"
        "\n"
        "Development Kafka broker (librdkafka mock cluster) on 127.0.0.1.\n"
        "\n"
        "  --brokers N             number of brokers, ids 1..N (default 1)\n"
        "  --topic NAME[:P]        pre-create topic with P partitions\n"
        "                          (default: --default-partitions); repeatable;\n"
        "                          replication factor = min(3, brokers)\n"
        "  --default-partitions N  partitions for --topic without :P (default 3).\n"
        "                          Auto-created topics always get 4 partitions:\n"
        "                          librdkafka 2.0.2's mock has no API to change it.\n"
        "  --bootstrap-file PATH   atomically write the bootstrap list + newline\n"
        "  --control-file PATH     poll every 100 ms; content \"down\" or \"up\" is\n"
        "                          applied, then the file is deleted (ack)\n"
        "  --pid-file PATH         atomically write our pid; removed on exit\n"
        "  --help                  show this help\n"
        "\n"
        "stdout: BOOTSTRAP=<host:port,...> once ready; STATE=down|up on change.\n"
        "signals: SIGUSR1 all brokers down, SIGUSR2 all up, SIGTERM/SIGINT exit 0.\n",
        g_prog);
}

[[noreturn]] void die_usage(const std::string &msg) {
    std::fprintf(stderr, "%s: %s\n", g_prog, msg.c_str());
    usage(stderr);
    std::exit(2);
}

bool parse_int(const std::string &s, int lo, int hi, int *out) {
    if (s.empty())
        return false;
    errno = 0;
    char *end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = static_cast<int>(v);
    return true;
}

Options parse_args(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        std::string val;
        bool has_inline = false;
        // Accept both "--opt value" and "--opt=value".
        if (a.rfind("--", 0) == 0) {
            size_t eq = a.find('=');
            if (eq != std::string::npos) {
                val = a.substr(eq + 1);
                a = a.substr(0, eq);
                has_inline = true;
            }
        }
        auto need = [&](void) -> std::string {
            if (has_inline)
                return val;
            if (i + 1 >= argc)
                die_usage("option " + a + " requires an argument");
            return argv[++i];
        };

        if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--brokers") {
            std::string v = need();
            if (!parse_int(v, 1, 64, &o.brokers))
                die_usage("--brokers must be an integer in 1..64, got '" + v + "'");
        } else if (a == "--default-partitions") {
            std::string v = need();
            if (!parse_int(v, 1, 10000, &o.default_partitions))
                die_usage("--default-partitions must be an integer in 1..10000, got '" +
                          v + "'");
            o.default_partitions_given = true;
        } else if (a == "--topic") {
            std::string v = need();
            std::string name = v;
            int parts = -1;
            size_t colon = v.rfind(':');
            if (colon != std::string::npos) {
                name = v.substr(0, colon);
                std::string p = v.substr(colon + 1);
                if (!parse_int(p, 1, 10000, &parts))
                    die_usage("bad partition count in --topic '" + v + "'");
            }
            if (name.empty() || name.size() > 249)
                die_usage("bad topic name in --topic '" + v + "'");
            for (char c : name) {
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok)
                    die_usage("invalid character in topic name '" + name + "'");
            }
            o.topics.emplace_back(name, parts);
        } else if (a == "--bootstrap-file") {
            o.bootstrap_file = need();
        } else if (a == "--control-file") {
            o.control_file = need();
        } else if (a == "--pid-file") {
            o.pid_file = need();
        } else {
            die_usage("unknown argument '" + std::string(argv[i]) + "'");
        }
    }
    return o;
}

// Write content to path via path.tmp.<pid> + rename(2).
bool write_atomic(const std::string &path, const std::string &content) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    FILE *f = std::fopen(tmp.c_str(), "w");
    if (!f) {
        std::fprintf(stderr, "%s: cannot open %s: %s\n", g_prog, tmp.c_str(),
                     std::strerror(errno));
        return false;
    }
    bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    ok = (std::fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::fprintf(stderr, "%s: cannot write %s: %s\n", g_prog, path.c_str(),
                     std::strerror(errno));
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

void emit(const std::string &line) {
    // stdout may be a closed pipe; SIGPIPE is ignored and errors are harmless.
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

extern "C" void log_cb(const rd_kafka_t *, int level, const char *fac,
                       const char *buf) {
    if (level <= 4)  // LOG_EMERG..LOG_WARNING
        std::fprintf(stderr, "%s: librdkafka %d %s: %s\n", g_prog, level, fac, buf);
}

std::string trim(const std::string &s) {
    const char *ws = " \t\r\n\v\f";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos)
        return "";
    size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

class DevBroker {
public:
    explicit DevBroker(Options opts) : opts_(std::move(opts)) {}

    ~DevBroker() { shutdown(); }

    bool start() {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, log_cb);
        if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) !=
                RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "client.id", "dionysus-devbroker", errstr,
                              sizeof errstr) != RD_KAFKA_CONF_OK) {
            std::fprintf(stderr, "%s: config: %s\n", g_prog, errstr);
            rd_kafka_conf_destroy(conf);
            return false;
        }
        // The handle is only bookkeeping for the mock cluster; it never
        // produces anything. rd_kafka_new takes ownership of conf on success.
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!rk_) {
            std::fprintf(stderr, "%s: rd_kafka_new: %s\n", g_prog, errstr);
            rd_kafka_conf_destroy(conf);
            return false;
        }
        mcluster_ = rd_kafka_mock_cluster_new(rk_, opts_.brokers);
        if (!mcluster_) {
            std::fprintf(stderr, "%s: failed to create mock cluster\n", g_prog);
            return false;
        }
        int rf = opts_.brokers < 3 ? opts_.brokers : 3;
        for (const auto &t : opts_.topics) {
            int parts = t.second > 0 ? t.second : opts_.default_partitions;
            rd_kafka_resp_err_t err =
                rd_kafka_mock_topic_create(mcluster_, t.first.c_str(), parts, rf);
            if (err) {
                std::fprintf(stderr, "%s: cannot create topic %s (%d partitions): %s\n",
                             g_prog, t.first.c_str(), parts, rd_kafka_err2str(err));
                return false;
            }
        }
        bootstraps_ = rd_kafka_mock_cluster_bootstraps(mcluster_);
        return true;
    }

    const std::string &bootstraps() const { return bootstraps_; }
    bool is_down() const { return down_; }

    // Apply a state; prints STATE=... only on an actual change.
    bool set_down(bool down) {
        if (!mcluster_)
            return false;
        if (down == down_)
            return true;
        bool ok = true;
        for (int id = 1; id <= opts_.brokers; id++) {
            rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(mcluster_, id)
                                           : rd_kafka_mock_broker_set_up(mcluster_, id);
            if (err) {
                std::fprintf(stderr, "%s: broker %d set %s: %s\n", g_prog, id,
                             down ? "down" : "up", rd_kafka_err2str(err));
                ok = false;
            }
        }
        down_ = down;
        emit(down ? "STATE=down" : "STATE=up");
        return ok;
    }

    // Test faults (see --control-file). Returns an error text, empty on success.
    std::string set_leader(const std::string &topic, int partition, int broker) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_partition_set_leader(mcluster_, topic.c_str(), partition, broker);
        return err ? rd_kafka_err2str(err) : "";
    }

    std::string push_produce_errors(int broker, int count, rd_kafka_resp_err_t error) {
        for (int i = 0; i < count; i++) {
            // RD_KAFKAP_Produce is 0; one (error, rtt) pair per call, stacked in order.
            rd_kafka_resp_err_t err =
                rd_kafka_mock_broker_push_request_error_rtts(mcluster_, broker, 0, 1, error, 0);
            if (err) return rd_kafka_err2str(err);
        }
        return "";
    }

    void tick() {
        if (rk_)
            rd_kafka_poll(rk_, 0);
    }

    void shutdown() {
        if (mcluster_) {
            rd_kafka_mock_cluster_destroy(mcluster_);
            mcluster_ = nullptr;
        }
        if (rk_) {
            rd_kafka_destroy(rk_);
            rk_ = nullptr;
        }
    }

private:
    Options opts_;
    rd_kafka_t *rk_ = nullptr;
    rd_kafka_mock_cluster_t *mcluster_ = nullptr;
    std::string bootstraps_;
    bool down_ = false;
};

// A Kafka error given by name (TOPIC_AUTHORIZATION_FAILED) or by code;
// RD_KAFKA_RESP_ERR_NO_ERROR when unknown.
rd_kafka_resp_err_t error_code(const std::string &name) {
    char *end = nullptr;
    long code = std::strtol(name.c_str(), &end, 10);
    if (!name.empty() && *end == '\0') return static_cast<rd_kafka_resp_err_t>(code);
    const struct rd_kafka_err_desc *errors;
    size_t n;
    rd_kafka_get_err_descs(&errors, &n);
    for (size_t i = 0; i < n; i++)
        if (errors[i].name && name == errors[i].name) return errors[i].code;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void poll_control_file(const std::string &path, DevBroker &broker) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return;
    std::ifstream in(path);
    if (!in)
        return;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string cmd = trim(ss.str());
    if (cmd.empty())
        return;  // maybe mid-write (e.g. `echo down > f` after O_TRUNC); retry
    std::istringstream words(cmd);
    std::string verb;
    words >> verb;
    if (cmd == "down" || cmd == "up") {
        broker.set_down(cmd == "down");
    } else if (verb == "leader" || verb == "produce-errors") {
        std::string topic, error_name, problem;
        int partition = -1, broker_id = -1, count = -1;
        if (verb == "leader" && (words >> topic >> partition >> broker_id))
            problem = broker.set_leader(topic, partition, broker_id);
        else if (verb == "produce-errors" && (words >> broker_id >> count >> error_name) && count > 0)
            problem = error_code(error_name) == RD_KAFKA_RESP_ERR_NO_ERROR
                          ? "unknown Kafka error '" + error_name + "'"
                          : broker.push_produce_errors(broker_id, count, error_code(error_name));
        else
            problem = "bad arguments";
        if (problem.empty())
            emit("APPLIED=" + cmd);
        else
            std::fprintf(stderr, "%s: control command '%s' failed: %s\n", g_prog, cmd.c_str(),
                         problem.c_str());
    } else {
        std::fprintf(stderr, "%s: ignoring control file %s: unknown command '%s'\n",
                     g_prog, path.c_str(), cmd.c_str());
    }
    // Deleting after applying is the acknowledgement.
    if (std::remove(path.c_str()) != 0 && errno != ENOENT)
        std::fprintf(stderr, "%s: cannot remove %s: %s\n", g_prog, path.c_str(),
                     std::strerror(errno));
}

}  // namespace

int main(int argc, char **argv) {
    Options opts = parse_args(argc, argv);

    if (opts.default_partitions_given && opts.default_partitions != 4)
        std::fprintf(stderr,
                     "%s: note: --default-partitions %d only applies to --topic "
                     "entries without a count; auto-created topics get 4 "
                     "partitions (librdkafka 2.0.2 mock has no API to change it)\n",
                     g_prog, opts.default_partitions);

    // Block our signals while librdkafka spawns its threads so they inherit
    // the mask and every signal is delivered to the main thread.
    sigset_t ours, old;
    sigemptyset(&ours);
    sigaddset(&ours, SIGUSR1);
    sigaddset(&ours, SIGUSR2);
    sigaddset(&ours, SIGTERM);
    sigaddset(&ours, SIGINT);
    pthread_sigmask(SIG_BLOCK, &ours, &old);

    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: let nanosleep return early
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGUSR2, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    // Never let a previous run's files be mistaken for ours.
    if (!opts.bootstrap_file.empty())
        std::remove(opts.bootstrap_file.c_str());

    int rc = 0;
    {
        DevBroker broker(opts);
        bool ok = broker.start();
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (!ok) {
            rc = 1;
        } else {
            if (!opts.pid_file.empty() &&
                !write_atomic(opts.pid_file, std::to_string(getpid()) + "\n"))
                rc = 1;
            if (rc == 0 && !opts.bootstrap_file.empty() &&
                !write_atomic(opts.bootstrap_file, broker.bootstraps() + "\n"))
                rc = 1;
            if (rc == 0)
                emit("BOOTSTRAP=" + broker.bootstraps());

            while (rc == 0 && !g_stop) {
                if (g_fault_pending) {
                    g_fault_pending = 0;
                    broker.set_down(g_fault_want_down != 0);
                }
                if (!opts.control_file.empty())
                    poll_control_file(opts.control_file, broker);
                broker.tick();
                struct timespec ts = {0, 100 * 1000 * 1000};
                nanosleep(&ts, nullptr);  // EINTR on signal: fine
            }
        }
        broker.shutdown();
    }

    if (!opts.pid_file.empty())
        std::remove(opts.pid_file.c_str());
    if (!opts.bootstrap_file.empty())
        std::remove(opts.bootstrap_file.c_str());
    return rc;
}
