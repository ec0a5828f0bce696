/* SPDX-License-Identifier: MIT */
/*
 * SysV message queues and semaphores (msgsnd, msgrcv, semop, semtimedop) and POSIX message
 * queues (mq_send, mq_receive and their timed forms).
 *
 * SysV objects cannot be polled. So the call is made with IPC_NOWAIT. While it would wait,
 * the green thread parks on retry.c's back-off timer. A message sent or taken and a semaphore
 * changed in this OS thread kick the waiters. A queue or set may be removed while one waits.
 * Then the next try fails with EINVAL, since its id is gone. The waiter reports EIDRM, as the
 * kernel tells its sleepers. These calls are never restarted after a signal handler
 * (signal(7)).
 *
 * A POSIX queue is an fd that poll(2) watches. The call is first tried with an absolute
 * timeout in the past. ETIMEDOUT means it would wait. EAGAIN means the program made the
 * queue non-blocking, and the program gets it. Then the green thread parks on the fd. The
 * program's timeout is on CLOCK_REALTIME; it is turned into a duration when the call starts.
 * An invalid timeout goes to libc. libc rejects it at once whatever the queue holds, as the
 * kernel does.
 */
#include <math.h>
#include <mqueue.h>
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>

#include "retry.h"

/* The error of a retry: the object's id no longer valid means it was removed meanwhile. */
static int retry_error(int e, int first) { return e == EINVAL && !first ? EIDRM : e; }

GREEN__SHIM_EXPORT int msgsnd(int id, const void *msg, size_t size, int flags) {
  struct green__hub *h;
  double step = GREEN__RETRY_FIRST;
  int r, first = 1, saved = errno;
  green__real_ready();
  if ((flags & IPC_NOWAIT) || !(h = green__shim_hub()))
    return green__real.msgsnd(id, msg, size, flags);
  while (green__real.msgsnd(id, msg, size, flags | IPC_NOWAIT) < 0) {
    if (errno != EAGAIN) return green__fail(-retry_error(errno, first));
    if ((r = green__shim_retry_park(h, &step, INFINITY, GREEN__INTR_ALWAYS, 1, "msgsnd")) < 0)
      return green__shim_retry_fail(h, r);
    first = 0;
  }
  green__shim_retry_kick();
  return (int)green__shim_done(0, saved);
}

GREEN__SHIM_EXPORT ssize_t msgrcv(int id, void *msg, size_t size, long type, int flags) {
  struct green__hub *h;
  double step = GREEN__RETRY_FIRST;
  ssize_t n;
  int r, first = 1, saved = errno;
  green__real_ready();
  if ((flags & (IPC_NOWAIT | MSG_COPY)) || !(h = green__shim_hub()))
    return green__real.msgrcv(id, msg, size, type, flags);
  while ((n = green__real.msgrcv(id, msg, size, type, flags | IPC_NOWAIT)) < 0) {
    if (errno != ENOMSG) return green__fail(-retry_error(errno, first));
    if ((r = green__shim_retry_park(h, &step, INFINITY, GREEN__INTR_ALWAYS, 1, "msgrcv")) < 0)
      return green__shim_retry_fail(h, r);
    first = 0;
  }
  green__shim_retry_kick();
  return green__shim_done(n, saved);
}

/* ---- semop ------------------------------------------------------------------------------ */

enum { SOPS_ON_STACK = 32 };

/* Whether the op the kernel stopped at is one the program marked IPC_NOWAIT. The kernel stops
 * at the first op that cannot go ahead. That op's flag decides between EAGAIN and a wait. The
 * values are read back and the ops played on them in order. Only other processes can change
 * them meanwhile. 1 or 0; -1 when none would stop now (try again). Beyond 32 ops it is taken
 * for a wait. That is never seen in practice: mixed flags in one call are rare already. */
static int stopped_at_nowait(int id, const struct sembuf *ops, size_t n) {
  unsigned short nums[SOPS_ON_STACK];
  int vals[SOPS_ON_STACK];
  size_t i, k, seen = 0;
  if (n > SOPS_ON_STACK) return 0;
  for (i = 0; i < n; i++) {
    for (k = 0; k < seen && nums[k] != ops[i].sem_num; k++) {}
    if (k == seen) {
      nums[seen] = ops[i].sem_num;
      if ((vals[seen++] = semctl(id, ops[i].sem_num, GETVAL)) < 0) return 0;
    }
    if ((ops[i].sem_op < 0 && vals[k] < -ops[i].sem_op) || (ops[i].sem_op == 0 && vals[k] != 0))
      return (ops[i].sem_flg & IPC_NOWAIT) != 0;
    vals[k] += ops[i].sem_op;
  }
  return -1;
}

/* How the program's ops wait: 0 none would, 1 all would, 2 some of them. */
static int waiting_ops(const struct sembuf *ops, size_t n) {
  size_t i, nowait = 0;
  for (i = 0; i < n; i++) nowait += (ops[i].sem_flg & IPC_NOWAIT) != 0;
  return nowait == n ? 0 : nowait == 0 ? 1 : 2;
}

static int semop_green(struct green__hub *h, int id, const struct sembuf *ops, size_t n,
                       struct sembuf *mine, const struct timespec *timeout) {
  double step = GREEN__RETRY_FIRST, at = INFINITY, s;
  int r, first = 1, mixed = waiting_ops(ops, n) == 2, saved = errno;
  size_t i;
  for (i = 0; i < n; i++) {
    mine[i] = ops[i];
    mine[i].sem_flg |= IPC_NOWAIT;
  }
  if (timeout && (s = green__ts_checked(timeout)) >= 0) at = green_now() + s;
  while (green__real.semtimedop(id, mine, n, timeout) < 0) {
    if (errno != EAGAIN) return green__fail(-retry_error(errno, first));
    if (mixed && stopped_at_nowait(id, ops, n) == 1) return green__fail(-EAGAIN);
    if (green_now() >= at) return green__fail(-EAGAIN);
    /* glibc's semop is no cancellation point */
    if ((r = green__shim_retry_park(h, &step, at, GREEN__INTR_ALWAYS, 0, "semop")) < 0)
      return green__shim_retry_fail(h, r);
    first = 0;
  }
  green__shim_retry_kick();
  return (int)green__shim_done(0, saved);
}

GREEN__SHIM_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n,
                                  const struct timespec *timeout) {
  struct green__hub *h;
  struct sembuf stack[SOPS_ON_STACK], *mine = stack;
  int r;
  green__real_ready();
  if (!ops || n == 0 || !waiting_ops(ops, n) || !(h = green__shim_hub())) {
    if ((r = green__real.semtimedop(id, ops, n, timeout)) == 0) green__shim_retry_kick();
    return r;
  }
  if (n > SOPS_ON_STACK && !(mine = malloc(n * sizeof *mine)))
    return green__fail(-ENOMEM); /* semop's own error: libc's wait would block the hub */
  r = semop_green(h, id, ops, n, mine, timeout);
  if (mine != stack) free(mine);
  return r;
}

GREEN__SHIM_EXPORT int semop(int id, struct sembuf *ops, size_t n) {
  return semtimedop(id, ops, n, NULL);
}

/* ---- POSIX message queues --------------------------------------------------------------- */

typedef struct mq_call {
  mqd_t q;
  char *buf;
  size_t len;
  unsigned *prio_out; /* receive */
  unsigned prio;      /* send */
  int send;
} mq_call_t;

static const struct timespec already_past = {0, 0};

/* The call as libc makes it, with the absolute timeout `at` (NULL: the untimed form). */
static ssize_t mq_try(const mq_call_t *c, const struct timespec *at) {
  if (c->send)
    return at ? green__real.mq_timedsend(c->q, c->buf, c->len, c->prio, at)
              : green__real.mq_send(c->q, c->buf, c->len, c->prio);
  return at ? green__real.mq_timedreceive(c->q, c->buf, c->len, c->prio_out, at)
            : green__real.mq_receive(c->q, c->buf, c->len, c->prio_out);
}

static ssize_t mq_call(const mq_call_t *c, const struct timespec *abs, const char *call) {
  struct green__hub *h;
  double at = INFINITY;
  ssize_t n;
  int r, saved = errno;
  green__real_ready();
  if (!(h = green__shim_hub()) || (abs && green__ts_checked(abs) < 0)) return mq_try(c, abs);
  if (abs) at = green_now() + green__ts_left(CLOCK_REALTIME, abs);
  while ((n = mq_try(c, &already_past)) < 0) {
    if (errno != ETIMEDOUT || green_now() >= at) return -1; /* EAGAIN: a non-blocking queue */
    r = green__shim_wait_fd(h, c->q, c->send ? GREEN_WRITE : GREEN_READ, at,
                            GREEN__INTR_RESTART, call);
    if (r < 0) return green__fail(r);
  }
  return green__shim_done(n, saved);
}

GREEN__SHIM_EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t len, unsigned prio,
                                    const struct timespec *abs) {
  mq_call_t c = {.q = q, .buf = (char *)msg, .len = len, .prio = prio, .send = 1};
  return (int)mq_call(&c, abs, "mq_send");
}

GREEN__SHIM_EXPORT int mq_send(mqd_t q, const char *msg, size_t len, unsigned prio) {
  mq_call_t c = {.q = q, .buf = (char *)msg, .len = len, .prio = prio, .send = 1};
  return (int)mq_call(&c, NULL, "mq_send");
}

GREEN__SHIM_EXPORT ssize_t mq_timedreceive(mqd_t q, char *msg, size_t len, unsigned *prio,
                                           const struct timespec *abs) {
  mq_call_t c = {.q = q, .buf = msg, .len = len, .prio_out = prio};
  return mq_call(&c, abs, "mq_receive");
}

GREEN__SHIM_EXPORT ssize_t mq_receive(mqd_t q, char *msg, size_t len, unsigned *prio) {
  mq_call_t c = {.q = q, .buf = msg, .len = len, .prio_out = prio};
  return mq_call(&c, NULL, "mq_receive");
}
