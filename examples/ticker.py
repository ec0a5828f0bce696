#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ticker.py: a thread ticks every 100 ms while the main thread runs `sleep 1.5` as a child.
It prints the longest gap between two ticks (docs/guide.md, "Debugging").

  ticker.py system       os.system: libc's system() waits for the child itself, behind the shim
  ticker.py subprocess   subprocess.run: Python waits with waitpid, which the shim parks

Natively both print 0.10 s. Under greenrun, `system` holds up the ticker for the whole 1.5 s:
the wait blocks the one OS thread. greenrun --check names the call.
"""
import os
import subprocess
import sys
import threading
import time

ticks = []


def ticker():
    for _ in range(20):
        ticks.append(time.monotonic())
        time.sleep(0.1)


t = threading.Thread(target=ticker, name="ticker")
t.start()
if sys.argv[1:] == ["system"]:
    os.system("sleep 1.5")
else:
    subprocess.run(["sleep", "1.5"], check=True)
t.join()
print("longest gap between ticks: %.2f s" % max(b - a for a, b in zip(ticks, ticks[1:])))
