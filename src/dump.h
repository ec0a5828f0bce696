/* SPDX-License-Identifier: MIT */
/*
 * Dumps of every hub and greenlet: green_dump, the dump signal (GREEN_DUMP_SIGNAL) and the
 * deadlock report.
 */
#ifndef GREEN_DUMP_H
#define GREEN_DUMP_H

#include <stddef.h>
#include <ucontext.h>

struct green__hub;

/* The sigev value of a dump's request to another hub's thread (tick.c's signal). */
extern const char green__dump_tag;

/* In the handler of that request, on h's thread: write h's section of the dump in progress. */
void green__dump_answer(struct green__hub *h, ucontext_t *uc);

/* Every greenlet of h is parked and nothing can wake one. Report it, with h's section, once per
 * hub. It reports when GREEN_DEBUG is set or green__dump_deadlocks says so (a layer on top). */
void green__dump_deadlock(struct green__hub *h);
extern int green__dump_deadlocks;

/* A deadlock across hubs (deadlock.c). begin says whether it is reported (as above, once per
 * process) and writes the head. Each hub then writes its own section, on its thread, in turn.
 * end closes the report. */
int green__dump_hubs_deadlock_begin(size_t nhubs);
void green__dump_hubs_deadlock_section(struct green__hub *h);
void green__dump_hubs_deadlock_end(void);

/* Install the handlers of GREEN_DUMP_SIGNAL and GREEN_STATS_SIGNAL, if they are set, once.
 * Each names a signal, such as SIGUSR2, or gives its number. Hub creation calls it. */
void green__dump_configure_from_env(void);

/* The signal that writes a dump to stderr (0: none). */
extern int green__dump_signal;

/* The signal that writes the receiving thread's hub's counters to stderr (0: none). */
extern int green__stats_signal;

/* Write the calling thread's hub's counters (green_stats) to fd, a few readable lines. */
void green__dump_stats(int fd);

#endif
