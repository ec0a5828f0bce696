/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 GET client: one call fetches one URL, following redirects, on connections kept
 * alive per (scheme, host, port) and shared by every greenlet of the thread that uses the
 * client. Host names are resolved once per client, by the hub's c-ares resolver.
 */
#ifndef FETCH_CLIENT_H
#define FETCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define FETCH_MAX_REDIRECTS 5

typedef struct fetch_client fetch_client_t;

typedef struct fetch_result {
  int status;         /* of the last response, 0 if none came */
  uint64_t bytes;     /* body bytes of the last response */
  int redirects;      /* followed */
  char error[256];    /* why the fetch failed: "connection refused", "HTTP 404 Not Found"... */
} fetch_result_t;

/* Receives the body of the final response (the one not followed as a redirect) as it comes.
 * A non-zero return stops the fetch with the message it left in res->error. */
typedef int (*fetch_sink_t)(void *arg, fetch_result_t *res, const char *data, size_t n);

/* A client. https peers are verified against cafile, or the system's CA store when cafile
 * is NULL, or not at all when `insecure`. */
fetch_client_t *fetch_client_new(const char *cafile, int insecure);

/* Set TLS up now rather than at the first https URL: 0, or -1 with the reason in msg. */
int fetch_client_tls(fetch_client_t *fc, char *msg, size_t size);

/* Closes the idle connections and frees the client. */
void fetch_client_free(fetch_client_t *fc);

/* GET url within `timeout` seconds (< 0: no limit) for the whole of it, redirects included.
 * 0 when the final response is a 2xx; -1 otherwise, with res->error saying why. */
int fetch_get(fetch_client_t *fc, const char *url, double timeout, fetch_sink_t sink, void *arg,
              fetch_result_t *res);

/* Connections opened so far (a figure for keep-alive). */
unsigned long fetch_client_connections(const fetch_client_t *fc);

#endif
