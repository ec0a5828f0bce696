/* SPDX-License-Identifier: MIT */
/*
 * SysV IPC waits between threads:
 *   msg  a message queue ping-pong between two threads (msgrcv waits), a sender that waits
 *        for room in a full queue (msgsnd), ENOMSG with IPC_NOWAIT, EIDRM for a receiver
 *        whose queue is removed;
 *   sem  semop waits for a value another thread posts, a wait for zero, semtimedop's
 *        timeout (EAGAIN), an IPC_NOWAIT op that would wait (EAGAIN at once), EIDRM.
 * Queues and sets are removed at exit, also after a failure.
 */
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include "prog.h"

enum { ROUNDS = 200 };

static int msq = -1, sem = -1;
static prog_flag_t ready;

static void remove_objects(void) {
  if (msq >= 0) msgctl(msq, IPC_RMID, NULL);
  if (sem >= 0) semctl(sem, 0, IPC_RMID);
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

typedef struct msg {
  long type;
  char text[32];
} msg_t;

static void *ponger(void *arg) {
  msg_t m;
  int i;
  (void)arg;
  for (i = 0; i < ROUNDS; i++) {
    PROG_CHECK(msgrcv(msq, &m, sizeof m.text, 1, 0) == (ssize_t)sizeof m.text);
    m.type = 2;
    m.text[0] = 'o';
    PROG_CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0);
  }
  return NULL;
}

static void *late_receiver(void *arg) {
  msg_t m;
  (void)arg;
  prog_flag_raise(&ready);
  prog_show("receiver: msgrcv on the removed queue", msgrcv(msq, &m, sizeof m.text, 7, 0));
  return NULL;
}

static void *filler(void *arg) {
  msg_t m = {.type = 3};
  int i;
  (void)arg;
  for (i = 0; i < 4; i++) PROG_CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0);
  say("filler: sent 4 messages into a queue with room for 2");
  return NULL;
}

static void test_msg(void) {
  struct msqid_ds ds;
  msg_t m = {.type = 1};
  pthread_t t;
  int i, got = 0;
  PROG_CHECK((msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) >= 0);
  prog_show("msgrcv IPC_NOWAIT on an empty queue", msgrcv(msq, &m, sizeof m.text, 0, IPC_NOWAIT));
  PROG_CHECK(pthread_create(&t, NULL, ponger, NULL) == 0);
  usleep(20 * 1000);
  prog_report_threads();
  for (i = 0; i < ROUNDS; i++) {
    m.type = 1;
    snprintf(m.text, sizeof m.text, "ping %d", i);
    PROG_CHECK(msgsnd(msq, &m, sizeof m.text, 0) == 0);
    PROG_CHECK(msgrcv(msq, &m, sizeof m.text, 2, 0) == (ssize_t)sizeof m.text);
    got += m.text[0] == 'o' && m.text[1] == 'i';
  }
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("ping-pong: %d of %d answers\n", got, ROUNDS);

  PROG_CHECK(msgctl(msq, IPC_STAT, &ds) == 0);
  ds.msg_qbytes = 2 * sizeof m.text;
  PROG_CHECK(msgctl(msq, IPC_SET, &ds) == 0);
  PROG_CHECK(pthread_create(&t, NULL, filler, NULL) == 0);
  for (i = 0; i < 500; i++) { /* the filler has filled it and waits */
    PROG_CHECK(msgctl(msq, IPC_STAT, &ds) == 0);
    if (ds.msg_qnum >= 2) break;
    usleep(10 * 1000);
  }
  usleep(20 * 1000);
  printf("main: the queue holds %lu messages\n", (unsigned long)ds.msg_qnum);
  for (i = 0; i < 4; i++)
    PROG_CHECK(msgrcv(msq, &m, sizeof m.text, 3, 0) == (ssize_t)sizeof m.text);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  say("main: took the 4 messages");
  prog_show("msgsnd with a bad type", msgsnd(msq, &(msg_t){.type = 0}, 4, 0));
  PROG_CHECK(msgsnd(msq, &(msg_t){.type = 5}, sizeof m.text, 0) == 0);
  prog_show("msgrcv into a short buffer", msgrcv(msq, &m, 4, 5, 0));

  PROG_CHECK(pthread_create(&t, NULL, late_receiver, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  say("main: removes the queue");
  PROG_CHECK(msgctl(msq, IPC_RMID, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  prog_show("msgrcv on the removed id", msgrcv(msq, &m, sizeof m.text, 0, 0));
  msq = -1;
}

/* ---- semaphores ----------------------------------------------------------------------- */

static int semval(int n) { return semctl(sem, n, GETVAL); }

static void *sem_waiter(void *arg) {
  struct sembuf take = {0, -2, 0}, zero = {1, 0, 0};
  (void)arg;
  say("waiter: takes 2 from semaphore 0");
  prog_flag_raise(&ready);
  PROG_CHECK(semop(sem, &take, 1) == 0);
  say("waiter: took 2");
  say("waiter: waits for semaphore 1 to be 0");
  prog_flag_raise(&ready);
  PROG_CHECK(semop(sem, &zero, 1) == 0);
  say("waiter: semaphore 1 is 0");
  return NULL;
}

static void *rm_waiter(void *arg) {
  struct sembuf take = {0, -1, 0};
  (void)arg;
  prog_flag_raise(&ready);
  prog_show("waiter: semop on the removed set", semop(sem, &take, 1));
  return NULL;
}

static void test_sem(void) {
  struct sembuf one = {0, 1, 0}, up1 = {1, 1, 0}, down1 = {1, -1, 0}, take = {0, -1, 0};
  struct sembuf mixed[2] = {{1, 1, 0}, {0, -1, IPC_NOWAIT}};
  struct timespec tmo = {0, 150 * 1000 * 1000}, bad = {0, 2000000000L};
  pthread_t t;
  double t0;
  PROG_CHECK((sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600)) >= 0);
  PROG_CHECK(semop(sem, &up1, 1) == 0);
  PROG_CHECK(pthread_create(&t, NULL, sem_waiter, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  prog_report_threads();
  say("main: posts 1");
  PROG_CHECK(semop(sem, &one, 1) == 0);
  usleep(50 * 1000);
  say("main: posts 1");
  PROG_CHECK(semop(sem, &one, 1) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  say("main: takes semaphore 1 to 0");
  PROG_CHECK(semop(sem, &down1, 1) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("values: %d %d\n", semval(0), semval(1));

  t0 = prog_now();
  prog_show("semtimedop on 0", semtimedop(sem, &take, 1, &tmo));
  prog_check_elapsed("semtimedop timeout", prog_now() - t0, 0.14, 2);
  prog_show("semtimedop with a bad timeout", semtimedop(sem, &take, 1, &bad));
  t0 = prog_now();
  prog_show("semop, its IPC_NOWAIT op would wait", semop(sem, mixed, 2));
  printf("values: %d %d\n", semval(0), semval(1));
  prog_check_elapsed("that semop", prog_now() - t0, 0, 0.05);
  prog_show("semop on a missing semaphore", semop(sem, &(struct sembuf){5, 1, 0}, 1));

  PROG_CHECK(pthread_create(&t, NULL, rm_waiter, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  say("main: removes the set");
  PROG_CHECK(semctl(sem, 0, IPC_RMID) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  prog_show("semop on the removed id", semop(sem, &one, 1));
  sem = -1;
}

int main(int argc, char **argv) {
  if (argc != 2) prog_die("usage: sysv_ipc msg|sem");
  prog_flag_init(&ready);
  atexit(remove_objects);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  if (strcmp(argv[1], "msg") == 0) test_msg();
  else if (strcmp(argv[1], "sem") == 0) test_sem();
  else prog_die("unknown test %s", argv[1]);
  say("done");
  return 0;
}
