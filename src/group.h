/* SPDX-License-Identifier: MIT */
/*
 * Groups (group.c) and what pools (pool.c) build on. A group owns its members and counts them.
 * Its members are detached: they are released when they end. A pool is a group with a bound,
 * whose slots are handed to parked spawners. Members, joiners and spawners may be greenlets of
 * any hub: the counts and lists sit behind the group's home word (share.h).
 */
#ifndef GREEN_GROUP_H
#define GREEN_GROUP_H

#include "sync.h"

struct green_group {
  uint32_t magic;
  uint32_t home;            /* the hubs that use it (share.h); its lock once shared */
  green__list_t members;    /* group_link of each member, of any hub */
  size_t size;              /* members */
  size_t reserved;          /* pool slots handed to woken spawners that have not spawned yet */
  green__list_t joiners;    /* greenlets parked in join (waitq) */
  /* a slot was freed: the pool hands it on, adding the spawner it wakes to `woken` */
  void (*on_leave)(struct green_group *grp, green__taken_t *woken);
};

void green__group_init(struct green_group *grp);

/* 0 when grp is a live group; -EINVAL for NULL, -ESRCH otherwise. */
int green__group_check(struct green_group *grp);

/* Make g a member, or release it at once if it has ended. g is a live spawned greenlet of
 * hub h (the caller's) that nobody joins, not detached (so in no group). With `reserved`,
 * g takes the pool slot its spawner was given, in the same step. */
void green__group_add(struct green__hub *h, struct green_group *grp, green_t *g, int reserved);

/* green_group_add on the caller's hub h: -ESRCH for a handle of another hub. */
int green__group_add_handle(struct green__hub *h, struct green_group *grp, green_t *handle);

/* A slot was freed (inside grp): a member left, or a reservation went unused. Runs the pool's
 * hook, then takes the joiners if the group is now empty. Hand `woken` after leaving grp. */
void green__group_left(struct green_group *grp, green__taken_t *woken);

/* A spawner's reservation goes unused: it is given to the next one. */
void green__group_unreserve(struct green__hub *h, struct green_group *grp);

int green__group_join(struct green__hub *h, struct green_group *grp, double timeout);

/* Kill every member, of any hub. May park (a kill of another hub's greenlet is a message). */
int green__group_kill(struct green__hub *h, struct green_group *grp);

size_t green__group_size(struct green__hub *h, struct green_group *grp);

/* The group holds nothing and nobody waits on it: it may be freed. extra_empty: the pool's
 * spawners queue is empty too. Checked inside grp. */
int green__group_idle(struct green__hub *h, struct green_group *grp, const green__list_t *extra);

#endif
