/* SPDX-License-Identifier: MIT */
/*
 * The registry of the program's pthread objects and semaphores that stay libc's. Every
 * other object is green (objects.h).
 *
 * It is an open-addressing set of addresses behind a spinlock; a lookup is one load while the
 * set is empty. The allocator runs outside the lock.
 */
#include "objects.h"

#include <stdint.h>
#include <stdlib.h>

static const void **libc_objects; /* open addressing; NULL: empty slot; &tomb: removed */
static size_t libc_cap;
size_t green__shim_libc_count;
static int libc_lock;
static const char tomb;

static void set_lock(void) {
  while (__atomic_exchange_n(&libc_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}

static void set_unlock(void) { __atomic_store_n(&libc_lock, 0, __ATOMIC_RELEASE); }

static size_t slot_of(const void *p, size_t cap) { return ((uintptr_t)p >> 3) * 0x9e3779b97f4a7c15u % cap; }

int green__shim_libc_find(const void *p) {
  size_t i, n;
  int found = 0;
  set_lock();
  for (i = slot_of(p, libc_cap), n = 0; n < libc_cap && libc_objects[i]; i = (i + 1) % libc_cap, n++)
    if (libc_objects[i] == p) {
      found = 1;
      break;
    }
  set_unlock();
  return found;
}

/* Room for one more in a table of twice the size, dropping tombs. The allocator runs
 * outside the set's lock: its own mutexes come back through the hooks, which look here. */
int green__shim_libc_add(const void *p) {
  const void **room = NULL, **old = NULL;
  size_t i, room_cap = 0;
  set_lock();
  while (2 * (green__shim_libc_count + 1) > libc_cap) {
    size_t cap = libc_cap ? libc_cap * 2 : 64;
    if (room_cap == cap) {
      for (i = 0; i < libc_cap; i++)
        if (libc_objects[i] && libc_objects[i] != &tomb) {
          size_t j = slot_of(libc_objects[i], cap);
          while (room[j]) j = (j + 1) % cap;
          room[j] = libc_objects[i];
        }
      old = libc_objects;
      libc_objects = room;
      libc_cap = cap;
      room = NULL;
      break;
    }
    set_unlock();
    free(room);
    if (!(room = calloc(cap, sizeof *room))) return ENOMEM;
    room_cap = cap;
    set_lock();
  }
  for (i = slot_of(p, libc_cap); libc_objects[i] && libc_objects[i] != &tomb && libc_objects[i] != p;
       i = (i + 1) % libc_cap) {
  }
  if (libc_objects[i] != p) {
    libc_objects[i] = p;
    __atomic_add_fetch(&green__shim_libc_count, 1, __ATOMIC_RELEASE);
  }
  set_unlock();
  free(room);
  free(old);
  return 0;
}

void green__shim_libc_remove(const void *p) {
  size_t i, n;
  if (!__atomic_load_n(&green__shim_libc_count, __ATOMIC_ACQUIRE)) return;
  set_lock();
  for (i = slot_of(p, libc_cap), n = 0; n < libc_cap && libc_objects[i]; i = (i + 1) % libc_cap, n++)
    if (libc_objects[i] == p) {
      libc_objects[i] = &tomb;
      __atomic_sub_fetch(&green__shim_libc_count, 1, __ATOMIC_RELEASE);
      break;
    }
  set_unlock();
}

int green__shim_libc_destroyed(const void *p, int r) {
  if (r == 0) green__shim_libc_remove(p);
  return r;
}
