# SPDX-License-Identifier: MIT
# Python threads that never block, under greenrun: a tight loop that another thread stops, a
# thread that polls a queue without blocking, a thread that loops on signal.raise_signal, and
# multiprocessing.Pool(4).map (its handler threads loop on polls that return at once). Each
# hangs on one OS thread unless the shim preempts the thread that keeps the CPU.
import multiprocessing, queue, signal, threading, time

def os_threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])

flag = True
def spin():
    while flag:
        pass
t = threading.Thread(target=spin)
t.start()
print("THREADS", os_threads(), flush=True)
time.sleep(0.05)
flag = False
t.join()
print("the tight loop saw the main thread's store")

q = queue.Queue()
got = []
def poller():
    while len(got) < 3:
        try:
            got.append(q.get_nowait())
        except queue.Empty:
            pass
p = threading.Thread(target=poller)
p.start()
for i in range(3):
    time.sleep(0.01)
    q.put(i)
p.join()
print("the poller got", got)

handled = 0
def handler(sig, frame):
    global handled
    handled += 1
signal.signal(signal.SIGUSR1, handler)
stop = False
def raiser():
    while not stop:
        signal.raise_signal(signal.SIGUSR1)
r = threading.Thread(target=raiser)
r.start()
time.sleep(0.05)
stop = True
r.join()
print("the raiser stopped; the handler ran:", handled > 0)

def square(x):
    return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        print("Pool(4).map:", sum(pool.map(square, range(100))))
