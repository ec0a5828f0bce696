# SPDX-License-Identifier: MIT
# threading.get_native_id() under the shim: every thread's is its own (CPython asks
# syscall(SYS_gettid)), the main thread's is the process id, and a thread's stays the same.
import os, threading

def os_threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])

N = 8
ids = [None] * N
barrier = threading.Barrier(N + 1)

def run(i):
    ids[i] = threading.get_native_id()
    barrier.wait()  # all alive at once
    barrier.wait()
    assert threading.get_native_id() == ids[i]

threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
for t in threads: t.start()
barrier.wait()
print("THREADS", os_threads(), flush=True)
barrier.wait()
for t in threads: t.join()
print("main's native id is the pid:", threading.get_native_id() == os.getpid())
print("distinct native ids:", len(set(ids + [os.getpid()])) == N + 1)
print("Thread.native_id matches:", all(t.native_id == i for t, i in zip(threads, ids)))
