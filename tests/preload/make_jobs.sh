#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GNU make, unmodified: make -j4 builds a small C program from 9 files (the jobserver,
# SIGCHLD, waits for children). Each compile job first waits (up to 30 s) until 4 jobs have
# started: they meet only if make runs them 4 at a time. Then a no-op make, a touch and a
# rebuild of one file (the marks stay: it meets them at once). Prints what the program
# computes, what make rebuilt, and how many jobs found the 4 together.
set -euo pipefail
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
for i in $(seq 8); do
  printf 'int f%d(int x) { return x * %d + %d; }\n' "$i" "$i" "$((i * i))" >"f$i.c"
done
{
  for i in $(seq 8); do echo "int f$i(int);"; done
  echo '#include <stdio.h>'
  echo 'int main(void) { int s = 0;'
  for i in $(seq 8); do echo "  s += f$i($i);"; done
  echo '  printf("sum %d\n", s); return 0; }'
} >main.c
cat >Makefile <<'MK'
OBJS := $(patsubst %.c,%.o,$(sort $(wildcard *.c)))
prog: $(OBJS)
	@$(CC) -o $@ $^
%.o: %.c
	@touch $@.started; n=0; \
	 while [ $$(ls *.started | wc -l) -lt 4 ] && [ $$n -lt 300 ]; do sleep 0.1; n=$$((n + 1)); done; \
	 [ $$n -lt 300 ] && echo "together $@" || echo "alone $@"
	@$(CC) -c -o $@ $<; echo "built $@"
MK
make -s -j4 >build.log
echo "built: $(grep '^built' build.log | sort | tr '\n' ' ')"
echo "jobs that met 4 at once: $(grep -c '^together' build.log), alone: $(grep -c '^alone' build.log || true)"
./prog
echo "no-op make: [$(make -s -j4)]"
touch f3.c
echo "after touching f3.c: $(make -s -j4 2>&1 | grep -v '^alone\|^together' | tr '\n' ' ')"
./prog
