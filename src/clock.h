/* SPDX-License-Identifier: MIT */
/*
 * Clocks and timespecs as seconds in a double, the unit of every timeout and deadline
 * (green_now() is CLOCK_MONOTONIC's).
 */
#ifndef GREEN_CLOCK_H
#define GREEN_CLOCK_H

#include <math.h>
#include <time.h>

static inline double green__ts_seconds(const struct timespec *ts) {
  return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

/* Seconds in a timespec that must be a valid duration, or an absolute time on a clock from its
 * epoch. -1 for an invalid one: negative, or nanoseconds out of range. */
static inline double green__ts_checked(const struct timespec *ts) {
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L) return -1;
  return green__ts_seconds(ts);
}

/* clock's time now; NAN when it cannot be read. */
static inline double green__clock_seconds(clockid_t clock) {
  struct timespec ts;
  return clock_gettime(clock, &ts) == 0 ? green__ts_seconds(&ts) : NAN;
}

/* Seconds from now until abs on clock (negative once it has passed). It is exact to the
 * nanosecond however far the clock is from its epoch. NAN when clock cannot be read. */
static inline double green__ts_left(clockid_t clock, const struct timespec *abs) {
  struct timespec now;
  if (clock_gettime(clock, &now) != 0) return NAN;
  return (double)(abs->tv_sec - now.tv_sec) + (double)(abs->tv_nsec - now.tv_nsec) * 1e-9;
}

#endif
