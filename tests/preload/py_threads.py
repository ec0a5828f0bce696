# SPDX-License-Identifier: MIT
# Python's threading under the shim, unmodified: 50 threads in time.sleep (clock_nanosleep)
# at once, a Queue between a producer and a consumer (locks: sem_clockwait and sem_wait), a
# Lock.acquire that times out, an Event set by a Timer thread, a BoundedSemaphore; the GIL
# hands over with pthread_cond_timedwait. Prints what each saw, the OS thread count while the
# sleepers sleep and how long they took.
import queue, threading, time

def os_threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])

# All 50 are alive when the threads are counted, however slowly a busy machine starts them.
ready = threading.Barrier(51)
def sleeper():
    ready.wait()
    time.sleep(0.3)

start = time.monotonic()
sleepers = [threading.Thread(target=sleeper) for _ in range(50)]
for t in sleepers: t.start()
ready.wait()
print("THREADS", os_threads(), flush=True)
for t in sleepers: t.join()
print("TOOK %.3f" % (time.monotonic() - start))

q = queue.Queue(maxsize=4)
out = []
def producer():
    for i in range(200): q.put(i)
    q.put(None)
def consumer():
    while (x := q.get()) is not None: out.append(x)
ts = [threading.Thread(target=producer), threading.Thread(target=consumer)]
for t in ts: t.start()
for t in ts: t.join()
print("queue: got", len(out), "items in order:", out == list(range(200)))

lock = threading.Lock()
lock.acquire()
got = []
def try_lock():
    t0 = time.monotonic()
    got.append((lock.acquire(timeout=0.2), time.monotonic() - t0 >= 0.19))
t = threading.Thread(target=try_lock); t.start(); t.join()
print("Lock.acquire(timeout=0.2) while held:", got[0])
lock.release()

ev = threading.Event()
threading.Timer(0.1, ev.set).start()
print("Event set by a Timer thread:", ev.wait(timeout=5))

sem = threading.BoundedSemaphore(3)
inside = [0, 0]
cv = threading.Condition()
def worker():
    with sem:
        with cv:
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
        time.sleep(0.05)
        with cv:
            inside[0] -= 1
ws = [threading.Thread(target=worker) for _ in range(12)]
for w in ws: w.start()
for w in ws: w.join()
print("BoundedSemaphore(3): at most", inside[1], "inside at once")
