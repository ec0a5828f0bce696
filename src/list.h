/* SPDX-License-Identifier: MIT */
/*
 * Intrusive circular doubly linked list (libuv's queue.h idea). A node that is in no list
 * points to itself, so removing it again is harmless.
 */
#ifndef GREEN_LIST_H
#define GREEN_LIST_H

#include "../include/green.h" /* defines struct green__list: public objects embed lists */

typedef struct green__list green__list_t;

static inline void green__list_init(green__list_t *l) { l->next = l->prev = l; }

static inline int green__list_empty(const green__list_t *l) { return l->next == l; }

static inline void green__list_push_back(green__list_t *head, green__list_t *node) {
  node->prev = head->prev;
  node->next = head;
  head->prev->next = node;
  head->prev = node;
}

static inline void green__list_push_front(green__list_t *head, green__list_t *node) {
  node->next = head->next;
  node->prev = head;
  head->next->prev = node;
  head->next = node;
}

static inline void green__list_remove(green__list_t *node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->next = node->prev = node;
}

/* Unlink and return the first node, or NULL when the list is empty. */
static inline green__list_t *green__list_pop_front(green__list_t *head) {
  green__list_t *n = head->next;
  if (n == head) return NULL;
  green__list_remove(n);
  return n;
}

#endif
