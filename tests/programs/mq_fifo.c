/* SPDX-License-Identifier: MIT */
/*
 * POSIX message queues and FIFO opens between threads:
 *   mq    a ping-pong between two threads over two queues (mq_receive waits), a sender that
 *         waits for room (mq_send), mq_timedreceive's timeout (ETIMEDOUT) and its invalid
 *         timeout (EINVAL), a queue opened O_NONBLOCK (EAGAIN);
 *   fifo  open(O_RDONLY) of a FIFO waits for a writer and open(O_WRONLY) for a reader, in
 *         either order; the fd ends up blocking; a writer that opens and closes without
 *         writing ends the reader's wait (then EOF); O_WRONLY|O_NONBLOCK without a reader
 *         fails with ENXIO; a reader cancelled while it waits leaves no fd.
 * Queues and the FIFO are removed at exit, also after a failure.
 */
#include <fcntl.h>
#include <signal.h>
#include <mqueue.h>
#include <sys/stat.h>

#include "prog.h"

enum { ROUNDS = 200 };

static prog_flag_t ready;
static char qa[64], qb[64], dir[] = "/tmp/green_fifo_XXXXXX", fifo[96];

static void remove_objects(void) {
  if (qa[0]) mq_unlink(qa);
  if (qb[0]) mq_unlink(qb);
  if (fifo[0]) unlink(fifo);
  if (fifo[0]) rmdir(dir);
}

/* A run killed by the harness's timeout removes them too. */
static void on_term(int sig) {
  (void)sig;
  remove_objects();
  _exit(1);
}

static void say(const char *what) {
  printf("%s\n", what);
  fflush(stdout);
}

/* ---- message queues ------------------------------------------------------------------- */

static mqd_t open_queue(const char *name, int flags) {
  struct mq_attr at = {.mq_maxmsg = 2, .mq_msgsize = 32};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | flags, 0600, &at);
  PROG_CHECK(q != (mqd_t)-1);
  return q;
}

static void *mq_ponger(void *arg) {
  mqd_t a = open_queue(qa, 0), b = open_queue(qb, 0);
  char buf[32];
  unsigned prio;
  int i;
  (void)arg;
  for (i = 0; i < ROUNDS; i++) {
    PROG_CHECK(mq_receive(a, buf, sizeof buf, &prio) > 0);
    buf[0] = 'o';
    PROG_CHECK(mq_send(b, buf, strlen(buf) + 1, prio + 1) == 0);
  }
  mq_close(a);
  mq_close(b);
  return NULL;
}

static void *mq_filler(void *arg) {
  mqd_t b = open_queue(qb, 0);
  int i;
  (void)arg;
  for (i = 0; i < 4; i++) PROG_CHECK(mq_send(b, "fill", 5, 0) == 0);
  say("filler: sent 4 messages into a queue with room for 2");
  mq_close(b);
  return NULL;
}

static void test_mq(void) {
  char buf[32];
  unsigned prio = 0;
  int i, got = 0;
  pthread_t t;
  struct timespec at;
  struct mq_attr attr;
  mqd_t a, b, nb;
  double t0;
  snprintf(qa, sizeof qa, "/green_mq_a_%d", (int)getpid());
  snprintf(qb, sizeof qb, "/green_mq_b_%d", (int)getpid());
  a = open_queue(qa, O_EXCL);
  b = open_queue(qb, O_EXCL);
  PROG_CHECK(pthread_create(&t, NULL, mq_ponger, NULL) == 0);
  usleep(20 * 1000);
  prog_report_threads();
  for (i = 0; i < ROUNDS; i++) {
    snprintf(buf, sizeof buf, "ping %d", i);
    PROG_CHECK(mq_send(a, buf, strlen(buf) + 1, (unsigned)i % 7) == 0);
    PROG_CHECK(mq_receive(b, buf, sizeof buf, &prio) > 0);
    got += buf[0] == 'o' && prio == (unsigned)i % 7 + 1;
  }
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("ping-pong: %d of %d answers\n", got, ROUNDS);

  PROG_CHECK(pthread_create(&t, NULL, mq_filler, NULL) == 0);
  for (i = 0; i < 500; i++) { /* the filler has filled it and waits */
    PROG_CHECK(mq_getattr(b, &attr) == 0);
    if (attr.mq_curmsgs >= 2) break;
    usleep(10 * 1000);
  }
  usleep(20 * 1000);
  printf("main: the queue holds %ld messages\n", (long)attr.mq_curmsgs);
  for (i = 0; i < 4; i++) PROG_CHECK(mq_receive(b, buf, sizeof buf, NULL) == 5);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  say("main: took the 4 messages");

  clock_gettime(CLOCK_REALTIME, &at);
  at.tv_nsec += 150 * 1000 * 1000;
  if (at.tv_nsec >= 1000000000L) at.tv_sec++, at.tv_nsec -= 1000000000L;
  t0 = prog_now();
  prog_show("mq_timedreceive on an empty queue", mq_timedreceive(b, buf, sizeof buf, NULL, &at));
  prog_check_elapsed("its timeout", prog_now() - t0, 0.14, 2);
  PROG_CHECK(mq_send(b, "x", 2, 0) == 0);
  at.tv_nsec = -1;
  prog_show("mq_timedreceive with a bad timeout, a message waiting",
            mq_timedreceive(b, buf, sizeof buf, NULL, &at));
  at.tv_sec = 0, at.tv_nsec = 0;
  prog_show("mq_receive into a short buffer", mq_receive(b, buf, 4, NULL));
  prog_show("mq_timedreceive, timeout passed, a message waiting",
            mq_timedreceive(b, buf, sizeof buf, NULL, &at));
  nb = open_queue(qb, O_NONBLOCK);
  prog_show("mq_receive on an O_NONBLOCK queue", mq_receive(nb, buf, sizeof buf, NULL));
  prog_show("mq_send on a bad descriptor", mq_send((mqd_t)-1, "x", 1, 0));
  mq_close(nb);
  mq_close(a);
  mq_close(b);
}

/* ---- FIFOs ----------------------------------------------------------------------------- */

typedef struct opener {
  int flags, fd;
} opener_t;

static void *open_later(void *arg) {
  opener_t *o = arg;
  say(o->flags == O_RDONLY ? "thread: opens for reading" : "thread: opens for writing");
  prog_flag_raise(&ready);
  PROG_CHECK((o->fd = open(fifo, o->flags)) >= 0);
  say("thread: open returned");
  return NULL;
}

/* One rendezvous: a thread opens with `first`, the main thread later with the other mode. */
static void rendezvous(int first, const char *then_write) {
  opener_t o = {.flags = first};
  pthread_t t;
  char buf[16] = "";
  int fd, rd, wr;
  PROG_CHECK(pthread_create(&t, NULL, open_later, &o) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  prog_report_threads();
  say(first == O_RDONLY ? "main: opens for writing" : "main: opens for reading");
  PROG_CHECK((fd = open(fifo, first == O_RDONLY ? O_WRONLY : O_RDONLY)) >= 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  rd = first == O_RDONLY ? o.fd : fd;
  wr = first == O_RDONLY ? fd : o.fd;
  printf("reader O_NONBLOCK: %d, writer O_NONBLOCK: %d\n", (fcntl(rd, F_GETFL) & O_NONBLOCK) != 0,
         (fcntl(wr, F_GETFL) & O_NONBLOCK) != 0);
  if (then_write)
    PROG_CHECK(write(wr, then_write, strlen(then_write)) == (ssize_t)strlen(then_write));
  close(wr);
  prog_show("read", read(rd, buf, sizeof buf - 1));
  printf("read '%s'\n", buf);
  close(rd);
}

/* open is a cancellation point: a reader cancelled while it waits for a writer ends, and
 * leaves no fd behind. */
static void cancel_reader(void) {
  opener_t o = {.flags = O_RDONLY};
  pthread_t t;
  void *res;
  int before, after;
  PROG_CHECK((before = open("/dev/null", O_RDONLY)) >= 0);
  close(before);
  PROG_CHECK(pthread_create(&t, NULL, open_later, &o) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  PROG_CHECK(pthread_cancel(t) == 0);
  PROG_CHECK(pthread_join(t, &res) == 0);
  PROG_CHECK((after = open("/dev/null", O_RDONLY)) >= 0);
  close(after);
  printf("cancelled reader: ended cancelled %d, its fd left open %d\n", res == PTHREAD_CANCELED,
         after != before);
}

static void test_fifo(void) {
  PROG_CHECK(mkdtemp(dir) != NULL);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  PROG_CHECK(mkfifo(fifo, 0600) == 0);
  prog_show("O_WRONLY|O_NONBLOCK without a reader", open(fifo, O_WRONLY | O_NONBLOCK));
  rendezvous(O_RDONLY, "hello");
  rendezvous(O_WRONLY, "world");
  rendezvous(O_RDONLY, NULL); /* the writer closes at once: the reader sees EOF */
  cancel_reader();
  prog_show("open of a missing FIFO", open("/nonexistent/fifo", O_RDONLY));
}

int main(int argc, char **argv) {
  if (argc != 2) prog_die("usage: mq_fifo mq|fifo");
  prog_flag_init(&ready);
  atexit(remove_objects);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  if (strcmp(argv[1], "mq") == 0) test_mq();
  else if (strcmp(argv[1], "fifo") == 0) test_fifo();
  else prog_die("unknown test %s", argv[1]);
  say("done");
  return 0;
}
