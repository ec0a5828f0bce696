/*
 * Dumps: every hub, then every greenlet with what it waits on, for how long, and its
 * backtrace (Go's goroutine dump).
 */
#include "report.h"

#include "hub.h"

static const char *const wait_names[GREEN_WAIT_KINDS] = {
    [GREEN_WAIT_NONE] = "nothing",       [GREEN_WAIT_FD] = "fd",
    [GREEN_WAIT_SLEEP] = "sleep",        [GREEN_WAIT_JOIN] = "join",
    [GREEN_WAIT_GROUP] = "group",        [GREEN_WAIT_ITERATE] = "iwait",
    [GREEN_WAIT_MUTEX] = "mutex",        [GREEN_WAIT_COND] = "cond",
    [GREEN_WAIT_SEM] = "sem",            [GREEN_WAIT_EVENT] = "event",
    [GREEN_WAIT_RWLOCK] = "rwlock",      [GREEN_WAIT_QUEUE] = "queue",
    [GREEN_WAIT_CHAN] = "chan",          [GREEN_WAIT_SELECT] = "select",
    [GREEN_WAIT_FUTURE] = "future",      [GREEN_WAIT_DNS] = "dns",
    [GREEN_WAIT_THREADPOOL] = "threadpool", [GREEN_WAIT_GENERATOR] = "generator",
    [GREEN_WAIT_FUTEX] = "futex",        [GREEN_WAIT_CALL] = "call",
};

const char *green_wait_name(int kind) {
  return kind >= 0 && kind < GREEN_WAIT_KINDS ? wait_names[kind] : NULL;
}
