/* SPDX-License-Identifier: MIT */
/* Threads that use the calls the shim allocates for, each failure printed and survived:
 * tests/programs/nomem.sh runs it under greenrun with each allocation of the shim and the
 * runtime failing in turn (GREEN_FAULT_ALLOC=n). Threads that could not start are counted;
 * every thread that started must finish its work, whatever failed. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

enum { THREADS = 6, ROUNDS = 20 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static long counter;
static int next_thread;

static void failed(const char *what, int err) { printf("%s: %s\n", what, strerror(err)); }

/* Threads take turns in order: every lock, wait and signal parks or wakes a green thread. */
static void take_turns(int me, const int *started) {
  int i;
  for (i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    while (next_thread != me) pthread_cond_wait(&turn, &lock);
    counter++;
    next_thread = (me + 1) % *started;
    pthread_cond_broadcast(&turn);
    pthread_mutex_unlock(&lock);
  }
}

typedef struct late {
  int fd;
  char c;
} late_t;

static void *write_late(void *arg) {
  late_t *l = arg;
  usleep(20000);
  if (write(l->fd, &l->c, 1) != 1) failed("write", errno);
  return NULL;
}

/* A socket pair moved to a high number (the fd table grows); one byte through it, written by
 * another thread once the reader waits: a read that blocked its OS thread would hang. */
static void high_fd_echo(int me) {
  int sv[2], hi, r;
  late_t l = {.c = (char)('a' + me)};
  char got = 0;
  struct pollfd p;
  pthread_t writer;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return failed("socketpair", errno);
  hi = dup2(sv[0], 2000 + me * 300);
  close(sv[0]);
  if (hi < 0) {
    close(sv[1]);
    return failed("dup2", errno);
  }
  l.fd = sv[1];
  if ((r = pthread_create(&writer, NULL, write_late, &l)) != 0) {
    failed("pthread_create", r);
    if (write(sv[1], &l.c, 1) != 1) failed("write", errno);
  }
  p.fd = hi;
  p.events = POLLIN;
  if (poll(&p, 1, 5000) != 1) failed("poll", errno);
  if (read(hi, &got, 1) != 1) failed("read", errno);
  else if (got != l.c) printf("read %c, not %c\n", got, l.c);
  if (r == 0) pthread_join(writer, NULL);
  close(hi);
  close(sv[1]);
}

static void lookup(void) {
  struct addrinfo h, *res;
  int r;
  memset(&h, 0, sizeof h);
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  if ((r = getaddrinfo("localhost", "80", &h, &res)) != 0) {
    printf("getaddrinfo: %s\n", r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
    return;
  }
  freeaddrinfo(res);
}

/* poll of more fds than the shim watches without allocating; one becomes ready later. */
static void poll_many(void) {
  enum { N = 40 };
  int p[N][2], i, n = 0, r = -1;
  struct pollfd fds[N];
  pthread_t writer;
  late_t l = {.c = 'x'};
  for (; n < N; n++)
    if (pipe(p[n]) < 0) break;
  for (i = 0; i < n; i++) fds[i] = (struct pollfd){.fd = p[i][0], .events = POLLIN};
  if (n == 0) failed("pipe", errno);
  else if ((l.fd = p[n - 1][1]), (r = pthread_create(&writer, NULL, write_late, &l)) != 0)
    failed("pthread_create", r);
  else if (poll(fds, (nfds_t)n, 5000) != 1)
    failed("poll", errno);
  if (r == 0) pthread_join(writer, NULL);
  for (i = 0; i < n; i++) close(p[i][0]), close(p[i][1]);
}

/* sendfile from a file and splice from a pipe to a socket, a long fprintf and getline
 * through a pipe. */
static void copy_and_lines(void) {
  char path[] = "/tmp/nomem_threadsXXXXXX", buf[4096], *line = NULL, big[3000];
  int fd = mkstemp(path), sv[2], pp[2];
  size_t cap = 0;
  FILE *w, *r;
  if (fd < 0) return failed("mkstemp", errno);
  unlink(path);
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = 0;
  if (write(fd, big, 100) != 100 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
    close(fd);
    return failed("setup", errno);
  }
  if (sendfile(sv[0], fd, &(off_t){0}, 100) != 100) failed("sendfile", errno);
  else if (read(sv[1], buf, sizeof buf) != 100) failed("read", errno);
  close(fd);
  if (pipe(pp) < 0) failed("pipe", errno);
  else if (write(pp[1], big, 100) != 100) failed("write", errno);
  else if (splice(pp[0], NULL, sv[0], NULL, 100, 0) != 100) failed("splice", errno);
  else if (read(sv[1], buf, sizeof buf) != 100) failed("read", errno);
  close(pp[0]), close(pp[1]), close(sv[0]), close(sv[1]);
  if (pipe(pp) < 0) return failed("pipe", errno);
  w = fdopen(pp[1], "w"), r = fdopen(pp[0], "r");
  if (!w || !r) failed("fdopen", errno);
  else if (fprintf(w, "%s\n", big) < 0 || fflush(w) != 0) failed("fprintf", errno);
  else if (getline(&line, &cap, r) != (ssize_t)sizeof big) failed("getline", errno);
  free(line);
  if (w) fclose(w); else close(pp[1]);
  if (r) fclose(r); else close(pp[0]);
}

enum { SEMS = 40 }; /* more operations than the shim keeps on its stack */

static void sem_all(int delta, struct sembuf *ops) {
  int i;
  for (i = 0; i < SEMS; i++)
    ops[i] = (struct sembuf){.sem_num = (unsigned short)i, .sem_op = (short)delta};
}

static void *post_late(void *arg) {
  struct sembuf ops[SEMS];
  sem_all(1, ops);
  usleep(20000);
  if (semop(*(int *)arg, ops, SEMS) < 0) {
    failed("semop post", errno);
    semctl(*(int *)arg, 0, IPC_RMID); /* the waiter's semop fails (EIDRM) rather than hang */
  }
  return NULL;
}

/* One semop of many operations that waits for another thread's post. */
static void semop_many(void) {
  struct sembuf ops[SEMS];
  pthread_t poster;
  int set = semget(IPC_PRIVATE, SEMS, IPC_CREAT | 0600), r;
  if (set < 0) return failed("semget", errno);
  sem_all(-1, ops);
  if ((r = pthread_create(&poster, NULL, post_late, &set)) != 0) failed("pthread_create", r);
  else {
    if (semop(set, ops, SEMS) < 0) failed("semop wait", errno);
    pthread_join(poster, NULL);
  }
  semctl(set, 0, IPC_RMID);
}

typedef struct job {
  int me, *started;
} job_t;

static void *worker(void *arg) {
  job_t *j = arg;
  high_fd_echo(j->me);
  lookup();
  take_turns(j->me, j->started);
  return NULL;
}

int main(void) {
  pthread_t ids[THREADS];
  job_t jobs[THREADS];
  int started = 0, i, r;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_lock(&lock); /* the workers wait until the count of those started is known */
  for (i = 0; i < THREADS; i++) {
    jobs[started].me = started;
    jobs[started].started = &started;
    if ((r = pthread_create(&ids[started], NULL, worker, &jobs[started])) != 0) {
      failed("pthread_create", r);
      continue;
    }
    started++;
  }
  pthread_mutex_unlock(&lock);
  for (i = 0; i < started; i++) pthread_join(ids[i], NULL);
  poll_many();
  semop_many();
  copy_and_lines();
  printf("threads %d, turns %ld\n", started, counter);
  PROG_CHECK(counter == (long)started * ROUNDS);
  return 0;
}
