/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 message parsing without I/O: a response head, a request head, and the body decoder
 * (Content-Length, chunked, until close). Everything works on caller-owned buffers and
 * allocates nothing, so the fuzzer links this file alone. Errors are static strings.
 */
#ifndef FETCH_HTTP_H
#define FETCH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_HEAD_MAX (32 * 1024) /* a longer head is refused */
#define HTTP_HEADERS_MAX 100
#define HTTP_LINE_MAX 4096 /* a chunk-size or trailer line */

typedef struct http_response {
  int status;
  int minor;                /* HTTP/1.minor */
  const char *reason;       /* into the parsed buffer */
  size_t reason_len;
  int64_t content_length;   /* -1 when absent */
  int chunked;              /* Transfer-Encoding ends in chunked */
  int close;                /* the server closes after this response */
  const char *location;     /* into the parsed buffer, NULL when absent */
  size_t location_len;
} http_response_t;

typedef struct http_request {
  const char *method;       /* into the parsed buffer */
  size_t method_len;
  const char *target;
  size_t target_len;
  int major, minor;         /* HTTP/major.minor: any digits, for a 505 to refuse */
  int close;                /* the client asked to close (or spoke HTTP/1.0 without keep-alive) */
  int has_body;             /* Content-Length > 0 or Transfer-Encoding: not supported here */
  const char *host;         /* the Host header, NULL when absent */
  size_t host_len;
} http_request_t;

/* Parse the response head at the start of buf[0..n). Returns its length (> 0) once buf holds
 * all of it, 0 when more bytes are needed, -1 when it is malformed or longer than
 * HTTP_HEAD_MAX (*err says why). */
ssize_t http_parse_response(const char *buf, size_t n, http_response_t *r, const char **err);

/* The same for a request head. */
ssize_t http_parse_request(const char *buf, size_t n, http_request_t *r, const char **err);

typedef enum http_body_mode {
  HTTP_BODY_NONE,    /* 1xx, 204, 304, or a reply to HEAD */
  HTTP_BODY_LENGTH,  /* Content-Length bytes */
  HTTP_BODY_CHUNKED,
  HTTP_BODY_EOF      /* everything until the server closes */
} http_body_mode_t;

typedef struct http_body {
  http_body_mode_t mode;
  int state;         /* chunked: where in the framing we are */
  uint64_t left;     /* bytes left in the body (LENGTH) or the current chunk (CHUNKED) */
  size_t trailer;    /* trailer bytes seen, bounded by HTTP_HEAD_MAX */
  int done;          /* the body has ended */
} http_body_t;

/* Set b up for the body of the response r (to a HEAD request if `head`). */
void http_body_init(http_body_t *b, const http_response_t *r, int head);

/* Consume from in[0..n): framing, or a span of body bytes which *data and *len then point to
 * (inside `in`; *len is 0 when the call consumed framing only). Returns the bytes consumed,
 * 0 when more input is needed to go on (b->done tells whether the body has ended), or -1
 * with *err on a framing error. */
ssize_t http_body_feed(http_body_t *b, const char *in, size_t n, const char **data, size_t *len,
                       const char **err);

/* The peer closed the connection: 0 when that ends the body normally, -1 with *err if the
 * body was cut short. */
int http_body_eof(http_body_t *b, const char **err);

#endif
