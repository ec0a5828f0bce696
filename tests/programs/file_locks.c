/* SPDX-License-Identifier: MIT */
/*
 * File locks that wait, between threads of one process and against a child process:
 *   flock   two threads with open()s of their own contend for flock(LOCK_EX); LOCK_SH is
 *           shared; a signal without SA_RESTART ends a waiting flock with EINTR, one with
 *           SA_RESTART lets it go on; pthread_cancel does not end it (no cancellation point);
 *   ofd     the same with fcntl(F_OFD_SETLKW) on overlapping byte ranges;
 *   child   fcntl(F_SETLKW) and lockf(F_LOCK) wait for a lock a child process holds (two
 *           threads of one process never conflict on those: a thread's F_SETLKW on a range
 *           another thread holds succeeds at once); both fail with EDEADLK where the kernel
 *           detects a deadlock with a process sleeping in F_SETLKW.
 * Under a shim that lets the waiting call block, the holder never runs again: it hangs.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "prog.h"

static char path[] = "/tmp/green_locks_XXXXXX";
static pthread_t main_thread;
static prog_flag_t ready;

static void unlink_file(void) { unlink(path); }

static void on_term(int sig) { /* a run killed by the harness's timeout */
  (void)sig;
  unlink_file();
  _exit(1);
}

static int open_file(void) {
  int fd = open(path, O_RDWR);
  PROG_CHECK(fd >= 0);
  return fd;
}

static void say(const char *what) {
  printf("%s\n", what);
  fflush(stdout);
}

/* ---- flock ---------------------------------------------------------------------------- */

static void *flock_waiter(void *arg) {
  int fd = open_file();
  (void)arg;
  prog_show("thread: LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
  say("thread: waits for LOCK_EX");
  prog_flag_raise(&ready);
  PROG_CHECK(flock(fd, LOCK_EX) == 0);
  say("thread: has LOCK_EX");
  prog_flag_raise(&ready);
  usleep(50 * 1000);
  say("thread: unlocks");
  PROG_CHECK(flock(fd, LOCK_UN) == 0);
  close(fd);
  return NULL;
}

static void *flock_sharer(void *arg) {
  int fd = open_file();
  (void)arg;
  PROG_CHECK(flock(fd, LOCK_SH) == 0); /* another holder of LOCK_SH does not stop it */
  say("sharer: has LOCK_SH too");
  close(fd); /* closing the last fd of the description unlocks */
  return NULL;
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

static void handle_usr1(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = flags;
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

/* Holds LOCK_EX on its own description, signals the main thread twice, then unlocks. */
static void *flock_holder(void *arg) {
  int fd = open_file();
  (void)arg;
  PROG_CHECK(flock(fd, LOCK_EX) == 0);
  prog_flag_raise(&ready);
  usleep(50 * 1000);
  PROG_CHECK(pthread_kill(main_thread, SIGUSR1) == 0);
  usleep(100 * 1000);
  handle_usr1(SA_RESTART);
  PROG_CHECK(pthread_kill(main_thread, SIGUSR1) == 0);
  usleep(50 * 1000);
  PROG_CHECK(flock(fd, LOCK_UN) == 0);
  close(fd);
  return NULL;
}

/* flock is no cancellation point: a cancelled waiter goes on waiting, takes the lock, and
 * ends at its next cancellation point. */
static volatile int cancelled_got_lock;

static void *flock_cancelled(void *arg) {
  int fd = open_file();
  (void)arg;
  prog_flag_raise(&ready);
  PROG_CHECK(flock(fd, LOCK_EX) == 0);
  cancelled_got_lock = 1;
  close(fd);
  usleep(1000 * 1000); /* a cancellation point */
  return NULL;
}

static void cancel_flock(int fd) {
  pthread_t t;
  void *res;
  PROG_CHECK(flock(fd, LOCK_EX) == 0);
  PROG_CHECK(pthread_create(&t, NULL, flock_cancelled, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  PROG_CHECK(pthread_cancel(t) == 0);
  usleep(50 * 1000);
  printf("cancelled flock waiter: has the lock %d\n", cancelled_got_lock);
  PROG_CHECK(flock(fd, LOCK_UN) == 0);
  PROG_CHECK(pthread_join(t, &res) == 0);
  printf("then: has the lock %d, ended cancelled %d\n", cancelled_got_lock,
         res == PTHREAD_CANCELED);
}

static void test_flock(void) {
  int fd = open_file();
  pthread_t t, s;
  double t0;
  PROG_CHECK(flock(fd, LOCK_EX) == 0);
  say("main: has LOCK_EX");
  PROG_CHECK(pthread_create(&t, NULL, flock_waiter, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  prog_report_threads();
  say("main: unlocks");
  PROG_CHECK(flock(fd, LOCK_UN) == 0);
  prog_flag_wait(&ready); /* the thread has LOCK_EX, for 50 ms */
  t0 = prog_now();
  say("main: waits for LOCK_SH");
  PROG_CHECK(flock(fd, LOCK_SH) == 0);
  prog_check_elapsed("main: LOCK_SH after the thread's unlock", prog_now() - t0, 0.02, 2);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  PROG_CHECK(pthread_create(&s, NULL, flock_sharer, NULL) == 0);
  PROG_CHECK(pthread_join(s, NULL) == 0);
  PROG_CHECK(flock(fd, LOCK_UN) == 0);

  handle_usr1(0);
  PROG_CHECK(pthread_create(&t, NULL, flock_holder, NULL) == 0);
  prog_flag_wait(&ready);
  prog_show("main: flock, signal without SA_RESTART", flock(fd, LOCK_EX));
  printf("handler ran %d\n", (int)got_usr1);
  prog_show("main: flock, signal with SA_RESTART", flock(fd, LOCK_EX));
  printf("handler ran %d\n", (int)got_usr1);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  PROG_CHECK(flock(fd, LOCK_UN) == 0);
  cancel_flock(fd);
  prog_show("flock on a bad fd", flock(-1, LOCK_EX));
  prog_show("flock with a bad op", flock(fd, 0));
  close(fd);
}

/* ---- OFD locks ------------------------------------------------------------------------- */

static int ofd_lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

static void *ofd_waiter(void *arg) {
  int fd = open_file();
  (void)arg;
  prog_show("thread: F_OFD_SETLK on [5,15)", ofd_lock(fd, F_OFD_SETLK, F_WRLCK, 5, 10));
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLK, F_WRLCK, 20, 5) == 0); /* no overlap: at once */
  say("thread: waits for [5,15)");
  prog_flag_raise(&ready);
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLKW, F_WRLCK, 5, 10) == 0);
  say("thread: has [5,15)");
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLK, F_UNLCK, 0, 0) == 0);
  close(fd);
  return NULL;
}

static void test_ofd(void) {
  int fd = open_file();
  pthread_t t;
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLKW, F_WRLCK, 0, 10) == 0);
  say("main: has [0,10)");
  PROG_CHECK(pthread_create(&t, NULL, ofd_waiter, NULL) == 0);
  prog_flag_wait(&ready);
  usleep(50 * 1000);
  prog_report_threads();
  say("main: downgrades [0,10) to a read lock");
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLKW, F_RDLCK, 0, 10) == 0);
  usleep(50 * 1000);
  say("main: unlocks");
  PROG_CHECK(ofd_lock(fd, F_OFD_SETLK, F_UNLCK, 0, 0) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  prog_show("F_OFD_SETLKW with l_pid set",
            fcntl(fd, F_OFD_SETLKW, &(struct flock){.l_type = F_WRLCK, .l_pid = 1}));
  prog_show("F_SETLKW on a bad fd", ofd_lock(-1, F_SETLKW, F_WRLCK, 0, 0));
  prog_show("F_SETLKW with a bad type", ofd_lock(fd, F_SETLKW, 42, 0, 0));
  close(fd);
}

/* ---- classic record locks against a child ---------------------------------------------- */

static int in_use(int fd) {
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  PROG_CHECK(fcntl(fd, F_GETLK, &fl) == 0);
  return fl.l_type != F_UNLCK;
}

/* A child that takes the whole file's write lock, says so, and keeps it until told. */
static pid_t child_holding(int *go) {
  int ready[2], gop[2];
  char c;
  pid_t pid;
  PROG_CHECK(pipe(ready) == 0 && pipe(gop) == 0);
  if ((pid = fork()) == 0) {
    int fd = open_file();
    if (lockf(fd, F_TLOCK, 0) != 0 || write(ready[1], "L", 1) != 1 || read(gop[0], &c, 1) != 1)
      _exit(1);
    _exit(0); /* exit drops the lock */
  }
  PROG_CHECK(pid > 0);
  close(ready[1]);
  close(gop[0]);
  PROG_CHECK(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  *go = gop[1];
  return pid;
}

typedef struct waiter {
  int fd, use_lockf;
  double took;
} waiter_t;

static void *record_waiter(void *arg) {
  waiter_t *w = arg;
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  double t0 = prog_now();
  say(w->use_lockf ? "thread: lockf(F_LOCK) waits" : "thread: F_SETLKW waits");
  prog_flag_raise(&ready);
  PROG_CHECK((w->use_lockf ? lockf(w->fd, F_LOCK, 0) : fcntl(w->fd, F_SETLKW, &fl)) == 0);
  w->took = prog_now() - t0;
  say("thread: has the lock");
  return NULL;
}

static void round_against_child(int fd, int use_lockf) {
  waiter_t w = {.fd = fd, .use_lockf = use_lockf};
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  pthread_t t;
  int go, st;
  pid_t pid = child_holding(&go);
  prog_show("F_SETLK while the child holds it", fcntl(fd, F_SETLK, &fl));
  prog_show("lockf(F_TLOCK) while the child holds it", lockf(fd, F_TLOCK, 0));
  PROG_CHECK(pthread_create(&t, NULL, record_waiter, &w) == 0);
  prog_flag_wait(&ready);
  usleep(100 * 1000);
  prog_report_threads();
  say("main: tells the child to exit");
  PROG_CHECK(write(go, "x", 1) == 1);
  close(go);
  PROG_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  prog_check_elapsed("thread: waited for the child", w.took, 0.09, 3);
  /* the process owns it now: the main thread's lock of the same range succeeds at once */
  PROG_CHECK(fcntl(fd, F_SETLKW, &fl) == 0);
  say("main: F_SETLKW on the thread's range succeeds (same process)");
  fl.l_type = F_UNLCK;
  PROG_CHECK(fcntl(fd, F_SETLK, &fl) == 0);
}

/* Deadlock detection: a process that runs without the shim (exec'd with no LD_PRELOAD) holds
 * byte 1 and sleeps in F_SETLKW for byte 0, which this one holds; this one's F_SETLKW and
 * lockf(F_LOCK) for byte 1 fail with EDEADLK instead of waiting. */
static int byte_lock(int fd, int cmd, short type, off_t at) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
  return fcntl(fd, cmd, &fl);
}

static int native_waiter(const char *file, int ready) {
  int fd = open(file, O_RDWR);
  if (fd < 0 || byte_lock(fd, F_SETLK, F_WRLCK, 1) != 0 || write(ready, "L", 1) != 1) return 1;
  return byte_lock(fd, F_SETLKW, F_WRLCK, 0) == 0 ? 0 : 2;
}

static void deadlock_round(int fd) {
  static char *const env[] = {NULL};
  char fdarg[16], c;
  int ready[2], st;
  pid_t pid;
  PROG_CHECK(byte_lock(fd, F_SETLK, F_WRLCK, 0) == 0);
  PROG_CHECK(pipe(ready) == 0);
  snprintf(fdarg, sizeof fdarg, "%d", ready[1]);
  if ((pid = fork()) == 0) {
    char *argv[] = {"file_locks", "native-waiter", path, fdarg, NULL};
    execve("/proc/self/exe", argv, env);
    _exit(127);
  }
  PROG_CHECK(pid > 0);
  close(ready[1]);
  PROG_CHECK(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  usleep(100 * 1000); /* the waiter sleeps in the kernel by now */
  prog_show("F_SETLKW on the waiter's byte", byte_lock(fd, F_SETLKW, F_WRLCK, 1));
  PROG_CHECK(lseek(fd, 1, SEEK_SET) == 1);
  prog_show("lockf(F_LOCK) on the waiter's byte", lockf(fd, F_LOCK, 1));
  PROG_CHECK(byte_lock(fd, F_SETLK, F_UNLCK, 0) == 0);
  PROG_CHECK(waitpid(pid, &st, 0) == pid);
  printf("the waiter got byte 0 and exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_child(void) {
  int fd = open_file();
  round_against_child(fd, 0);
  round_against_child(fd, 1);
  deadlock_round(fd);
  prog_show("lockf with a bad command", lockf(fd, 42, 0));
  prog_show("lockf(F_LOCK) on a bad fd", lockf(-1, F_LOCK, 0));
  printf("still locked at the end: %d\n", in_use(fd));
  close(fd);
}

int main(int argc, char **argv) {
  int fd;
  if (argc == 4 && strcmp(argv[1], "native-waiter") == 0)
    return native_waiter(argv[2], atoi(argv[3]));
  if (argc != 2) prog_die("usage: file_locks flock|ofd|child");
  main_thread = pthread_self();
  prog_flag_init(&ready);
  PROG_CHECK((fd = mkstemp(path)) >= 0);
  atexit(unlink_file);
  signal(SIGTERM, on_term);
  PROG_CHECK(write(fd, "0123456789abcdefghijklmnopqrstuvwxyz", 36) == 36);
  close(fd);
  if (strcmp(argv[1], "flock") == 0) test_flock();
  else if (strcmp(argv[1], "ofd") == 0) test_ofd();
  else if (strcmp(argv[1], "child") == 0) test_child();
  else prog_die("unknown test %s", argv[1]);
  say("done");
  return 0;
}
