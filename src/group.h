/* SPDX-License-Identifier: MIT */
/*
 * Groups (group.c) and what pools (pool.c) build on. A group owns its members and counts them.
 * Its members are detached: they are released when they end. A pool is a group with a bound,
 * whose slots are handed to parked spawners.
 */
#ifndef GREEN_GROUP_H
#define GREEN_GROUP_H

#include "hub.h"

struct green_group {
  uint32_t magic;
  struct green__hub *hub;
  green__list_t members;    /* group_link of each member */
  size_t size;              /* members */
  size_t reserved;          /* pool slots handed to woken spawners that have not spawned yet */
  green__list_t joiners;    /* greenlets parked in join (wait_link) */
  void (*on_leave)(struct green__hub *h, struct green_group *grp); /* a slot was freed */
};

void green__group_init(struct green__hub *h, struct green_group *grp);

/* 0 when grp is a live group of hub h; -EINVAL for NULL, -ESRCH otherwise. */
int green__group_check(struct green__hub *h, struct green_group *grp);

/* Make g a member, or release it at once if it has ended. g is a live spawned greenlet of
 * hub h that nobody joins, not detached (so in no group). */
void green__group_add(struct green__hub *h, struct green_group *grp, green_t *g);

/* A slot was freed: a member left, or a reservation went unused. Runs the pool's hook, then
 * wakes the joiners if the group is now empty. */
void green__group_left(struct green__hub *h, struct green_group *grp);

int green__group_join(struct green__hub *h, struct green_group *grp, double timeout);
void green__group_kill(struct green_group *grp);

/* The group holds nothing and nobody waits on it: it may be freed. */
int green__group_idle(struct green_group *grp);

#endif
