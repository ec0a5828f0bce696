/* SPDX-License-Identifier: MIT */
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* a[0..an) followed by b[0..bn), the fragment cut off: a request target ('/' first). */
static int make_target(const char *a, size_t an, const char *b, size_t bn, char **out,
                       const char **err) {
  char *t = malloc(an + bn + 2), *hash;
  size_t i, n;
  if (!t) return *err = "out of memory", -1;
  n = an && a[0] != '/' ? 1 : 0; /* "?q" alone becomes "/?q" */
  t[0] = '/';
  memcpy(t + n, a, an);
  memcpy(t + n + an, b, bn);
  n += an + bn;
  t[n] = '\0';
  if ((hash = strchr(t, '#'))) *hash = '\0';
  if (!t[0]) t[0] = '/', t[1] = '\0';
  for (i = 0; t[i]; i++) {
    if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f) {
      free(t);
      return *err = "bad character in URL", -1;
    }
  }
  *out = t;
  return 0;
}

static int parse_port(const char *p, size_t n, unsigned short *port) {
  unsigned long v = 0;
  size_t i;
  if (n == 0) return 0; /* "host:" keeps the default */
  if (n > 5) return -1;
  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i])) return -1;
    v = v * 10 + (unsigned long)(p[i] - '0');
  }
  if (v == 0 || v > 65535) return -1;
  *port = (unsigned short)v;
  return 0;
}

/* host or [v6] then an optional :port, from the authority a[0..n). */
static int parse_authority(url_t *u, const char *a, size_t n, const char **err) {
  const char *host = a, *colon;
  size_t hn, i;
  if (memchr(a, '@', n)) return *err = "user names in URLs are not supported", -1;
  if (n && a[0] == '[') {
    const char *close = memchr(a, ']', n);
    struct in6_addr tmp;
    if (!close) return *err = "bad IPv6 address in URL", -1;
    host = a + 1;
    hn = (size_t)(close - host);
    colon = close + 1 < a + n ? close + 1 : NULL;
    if (colon && *colon != ':') return *err = "bad URL", -1;
    if (hn > URL_HOST_MAX) return *err = "bad IPv6 address in URL", -1;
    memcpy(u->host, host, hn);
    u->host[hn] = '\0';
    if (inet_pton(AF_INET6, u->host, &tmp) != 1) return *err = "bad IPv6 address in URL", -1;
  } else {
    colon = memchr(a, ':', n);
    hn = colon ? (size_t)(colon - a) : n;
    if (hn == 0 || hn > URL_HOST_MAX) return *err = "bad host name in URL", -1;
    for (i = 0; i < hn; i++) {
      unsigned char c = (unsigned char)a[i];
      if (!isalnum(c) && c != '-' && c != '.' && c != '_') return *err = "bad host name in URL", -1;
      u->host[i] = (char)tolower(c);
    }
    u->host[hn] = '\0';
  }
  if (colon && parse_port(colon + 1, (size_t)(a + n - colon - 1), &u->port) < 0)
    return *err = "bad port in URL", -1;
  return 0;
}

int url_parse(url_t *out, const char *s, size_t n, const char **err) {
  url_t u;
  size_t an;
  memset(&u, 0, sizeof u);
  if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
    s += 7, n -= 7;
  } else if (n >= 8 && strncasecmp(s, "https://", 8) == 0) {
    u.tls = 1;
    s += 8, n -= 8;
  } else {
    const char *sep = memchr(s, ':', n);
    if (sep && (size_t)(s + n - sep) >= 3 && memcmp(sep, "://", 3) == 0)
      return *err = "unsupported scheme (http and https only)", -1;
  }
  u.port = u.tls ? 443 : 80;
  for (an = 0; an < n && s[an] != '/' && s[an] != '?' && s[an] != '#'; an++) {
  }
  if (parse_authority(&u, s, an, err) < 0) return -1;
  if (make_target(s + an, n - an, "", 0, &u.target, err) < 0) return -1;
  *out = u;
  return 0;
}

int url_resolve(url_t *u, const char *loc, size_t n, const char **err) {
  const char *q, *slash;
  char *target, *buf;
  url_t v;
  size_t i = 0;
  while (i < n && (isalnum((unsigned char)loc[i]) || loc[i] == '+' || loc[i] == '-' || loc[i] == '.'))
    i++;
  if (i && isalpha((unsigned char)loc[0]) && i < n && loc[i] == ':') { /* scheme: absolute */
    int web = (i == 4 && strncasecmp(loc, "http", 4) == 0) ||
              (i == 5 && strncasecmp(loc, "https", 5) == 0);
    /* javascript:, data:, file:... are never a path on this server */
    if (!web || i + 3 > n || memcmp(loc + i, "://", 3) != 0)
      return *err = "unsupported scheme (http and https only)", -1;
    if (url_parse(&v, loc, n, err) < 0) return -1;
  } else if (n >= 2 && loc[0] == '/' && loc[1] == '/') { /* scheme-relative */
    if (!(buf = malloc(n + 7))) return *err = "out of memory", -1;
    int r;
    n = (size_t)snprintf(buf, n + 7, "%s:%.*s", u->tls ? "https" : "http", (int)n, loc);
    r = url_parse(&v, buf, n, err);
    free(buf);
    if (r < 0) return -1;
  } else {
    size_t keep; /* the part of the current target that stays */
    q = strchr(u->target, '?');
    keep = q ? (size_t)(q - u->target) : strlen(u->target);
    if (n && loc[0] == '/') keep = 0;
    else if (n == 0 || loc[0] == '#') keep = strlen(u->target), n = 0;
    else if (loc[0] != '?') {
      slash = memrchr(u->target, '/', keep);
      keep = (size_t)(slash - u->target) + 1; /* the target starts with '/' */
    }
    if (make_target(u->target, keep, loc, n, &target, err) < 0) return -1;
    free(u->target);
    u->target = target;
    return 0;
  }
  url_free(u);
  *u = v;
  return 0;
}

void url_authority(const url_t *u, char *buf, size_t size) {
  int v6 = strchr(u->host, ':') != NULL;
  if (u->port == (u->tls ? 443 : 80))
    snprintf(buf, size, v6 ? "[%s]" : "%s", u->host);
  else
    snprintf(buf, size, v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
}

void url_free(url_t *u) {
  free(u->target);
  u->target = NULL;
}
