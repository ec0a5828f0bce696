# SPDX-License-Identifier: MIT
"""What CPython's own test suites check of threads, fork, fds and signals, in small.

usage: py_fidelity.py fork|pass_fds|sigmask

fork      os.fork from the main thread and from another thread, under PYTHONMALLOC=debug (its
          allocator asks PyGILState_Check, which reads a pthread key the child must still have)
pass_fds  a subprocess sees only the fds it was given (it lists /proc/self/fd), and the
          program's first open() after a sleep, a thread and a lookup gets the lowest free fd
sigmask   faulthandler's watchdog thread blocks every signal: the main thread's handlers still
          run (os.kill, signal.alarm), and its mask stays empty
"""
import os
import socket
import subprocess
import sys
import threading
import time


def threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def fork_child_status(started):
    pid = os.fork()
    if pid == 0:
        started()
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        os._exit(7)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def fork_test():
    if os.environ.get("PYTHONMALLOC") != "debug":
        os.environ["PYTHONMALLOC"] = "debug"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    out = []
    t = threading.Thread(target=lambda: out.append(fork_child_status(lambda: None)))
    t.start()
    print("THREADS", threads(), flush=True)
    t.join()
    out.append(fork_child_status(lambda: None))
    print("fork children exit with", out)


def listed_fds(pass_fds):
    code = "import os; print(sorted(int(n) for n in os.listdir('/proc/self/fd')))"
    r = subprocess.run([sys.executable, "-c", code], pass_fds=pass_fds, close_fds=True,
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def pass_fds_test():
    time.sleep(0.01)
    t = threading.Thread(target=time.sleep, args=(0.01,))
    t.start()
    print("THREADS", threads(), flush=True)
    t.join()
    socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    fd = os.open("/dev/null", os.O_RDONLY)
    print("first open:", fd)
    r, w = os.pipe()
    print("pipe:", r, w)
    # the child lists its fds: 0-2, the listing's own, and the one it was given
    print("child with pass_fds:", listed_fds([w]).replace(str(w), "W"))
    print("child without:", listed_fds([]))
    # the program closes everything above 2 it does not know of, then goes on
    os.closerange(w + 1, 1 << 20)
    time.sleep(0.01)
    t = threading.Thread(target=os.write, args=(w, b"after closerange"))
    t.start()
    print("read after closerange:", os.read(r, 100).decode())
    t.join()
    for f in (fd, r, w):
        os.close(f)


def sigmask_test():
    import faulthandler
    import signal
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append("SIGUSR1"))
    signal.signal(signal.SIGALRM, lambda s, f: got.append("SIGALRM"))
    faulthandler.dump_traceback_later(60)  # its watchdog thread blocks every signal
    time.sleep(0.1)
    print("THREADS", threads(), flush=True)
    print("main's mask:", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
    os.kill(os.getpid(), signal.SIGUSR1)
    deadline = time.monotonic() + 3
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    signal.alarm(1)
    deadline = time.monotonic() + 4
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    faulthandler.cancel_dump_traceback_later()
    print("handled:", got)
    print("main's mask:", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))


{"fork": fork_test, "pass_fds": pass_fds_test, "sigmask": sigmask_test}[sys.argv[1]]()
