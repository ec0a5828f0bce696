/* SPDX-License-Identifier: MIT */
/*
 * sleep, usleep, nanosleep, clock_nanosleep and sched_yield. A sleep parks the greenlet on
 * the hub's timer. A signal handler's return interrupts it with EINTR and the time left, as
 * the kernel's does. Arguments libc would reject (NULL, nanoseconds out of range, a CPU-time
 * clock) go to libc, which answers at once. An absolute sleep on CLOCK_REALTIME is turned
 * into a relative one when it starts. So a change of the wall clock during the sleep does not
 * move its end. A zero sleep yields to the other green threads.
 */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* Sleep `seconds` (> 0 or 0). 0, or -EINTR with *left set. */
static int sleep_for(struct green__hub *h, double seconds, double *left, const char *call) {
  double at;
  int r;
  if (seconds <= 0) {
    green_yield();
    return 0;
  }
  at = green_now() + seconds;
  r = green__shim_sleep_until(h, at, call);
  if (r < 0 && left) *left = fmax(at - green_now(), 0);
  return r;
}

static void to_timespec(double s, struct timespec *ts) {
  ts->tv_sec = (time_t)s;
  ts->tv_nsec = (long)((s - (double)ts->tv_sec) * 1e9);
  if (ts->tv_nsec > 999999999L) ts->tv_nsec = 999999999L;
}

GREEN__SHIM_EXPORT unsigned sleep(unsigned seconds) {
  struct green__hub *h;
  double left = 0;
  int saved = errno;
  green__real_ready();
  if (!(h = green__shim_hub())) return green__real.sleep(seconds);
  if (sleep_for(h, seconds, &left, "sleep") < 0) return (unsigned)left; /* whole seconds left */
  errno = saved;
  return 0;
}

GREEN__SHIM_EXPORT int usleep(useconds_t us) {
  struct green__hub *h;
  int r;
  green__real_ready();
  if (!(h = green__shim_hub())) return green__real.usleep(us);
  r = sleep_for(h, us * 1e-6, NULL, "usleep");
  return r < 0 ? green__fail(r) : 0; /* nothing on the way touches errno */
}

GREEN__SHIM_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  struct green__hub *h;
  double s, left = 0;
  int r;
  green__real_ready();
  if (!(h = green__shim_hub()) || !req || (s = green__ts_checked(req)) < 0)
    return green__real.nanosleep(req, rem);
  if ((r = sleep_for(h, s, &left, "nanosleep")) == 0) return 0;
  if (rem) to_timespec(left, rem);
  return green__fail(r);
}

/* The clocks a green sleep can follow; CPU-time clocks go to libc. */
static int wall_or_monotonic(clockid_t c) {
  return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME || c == CLOCK_TAI;
}

GREEN__SHIM_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                                       struct timespec *rem) {
  struct green__hub *h;
  double s, left = 0;
  int r;
  green__real_ready();
  if (!(h = green__shim_hub()) || !req || !wall_or_monotonic(clock) ||
      (flags & ~TIMER_ABSTIME) || (s = green__ts_checked(req)) < 0)
    return green__real.clock_nanosleep(clock, flags, req, rem);
  if (flags & TIMER_ABSTIME) {
    if (isnan(s = green__ts_left(clock, req))) return errno;
    if (s <= 0) return 0; /* the time has come: no yield, as the kernel returns at once */
  }
  if ((r = sleep_for(h, s, &left, "clock_nanosleep")) == 0) return 0;
  if (rem && !(flags & TIMER_ABSTIME)) to_timespec(left, rem);
  return -r; /* clock_nanosleep returns the error number */
}

GREEN__SHIM_EXPORT int sched_yield(void) {
  green__real_ready();
  if (!green__shim_gate(GREEN__GATE_GREEN)) return green__real.sched_yield();
  green_yield();
  return 0;
}

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(nanosleep);
GREEN__SHIM_HOOK_ALIAS(clock_nanosleep);
GREEN__SHIM_HOOK_ALIAS(sched_yield);
