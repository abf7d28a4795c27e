// librdkafka starts its threads inside rd_kafka_new: created with every
// signal blocked, so Postgres' handlers only ever run on the worker's main
// thread (producer and consumer alike).
#pragma once

#include <csignal>
#include <pthread.h>

namespace dionysus::kafka {

class SignalBlock {
public:
    SignalBlock() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved_);
    }
    ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

private:
    sigset_t saved_;
};

}  // namespace dionysus::kafka
