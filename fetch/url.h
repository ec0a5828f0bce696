/* SPDX-License-Identifier: MIT */
/*
 * http:// and https:// URLs: parsing one given on the command line, and resolving a redirect's
 * Location against the URL it came from (absolute, scheme-relative, path-absolute, relative).
 */
#ifndef FETCH_URL_H
#define FETCH_URL_H

#include <stddef.h>

#define URL_HOST_MAX 255

typedef struct url {
  int tls;                      /* https */
  char host[URL_HOST_MAX + 1];  /* lower case, IPv6 without its brackets */
  unsigned short port;
  char *target;                 /* path and query, starts with '/'; malloc'd */
} url_t;

/* Parse s (a missing scheme means http://). 0, or -1 with *err; u owns nothing on failure. */
int url_parse(url_t *u, const char *s, size_t n, const char **err);

/* Replace u by the reference loc[0..n) resolved against it. 0, or -1 with *err (u unchanged). */
int url_resolve(url_t *u, const char *loc, size_t n, const char **err);

/* "host[:port]" as the Host header wants it (brackets around IPv6, no default port). */
void url_authority(const url_t *u, char *buf, size_t size);

void url_free(url_t *u);

#endif
