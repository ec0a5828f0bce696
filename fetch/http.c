/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 heads and body framing (RFC 9112), strict where leniency lets a response lie about
 * its length: one Content-Length or several equal ones, Transfer-Encoding only as chunked,
 * never both (RFC 9112 6.3: a smuggling attempt, an error), no folded header lines, no control bytes, bounded head, line and trailer sizes.
 */
#include "http.h"

#include <string.h>
#include <strings.h>

enum { CH_SIZE, CH_DATA, CH_CRLF, CH_TRAILER };

typedef struct span {
  const char *p;
  size_t n;
} span_t;

/* What the header fields of a head say (the parts both directions care about). */
typedef struct fields {
  int64_t content_length;
  int te, chunked, close, keep_alive;
  span_t location, host;
} fields_t;

/* Length of the head at the start of buf (through its empty line), 0 if not all there yet. */
static ssize_t head_end(const char *buf, size_t n, const char **err) {
  size_t lim = n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX, i = 0;
  const char *nl;
  while ((nl = memchr(buf + i, '\n', lim - i))) {
    i = (size_t)(nl - buf) + 1;
    if (i < lim && buf[i] == '\n') return (ssize_t)i + 1;
    if (i + 1 < lim && buf[i] == '\r' && buf[i + 1] == '\n') return (ssize_t)i + 2;
  }
  if (n >= HTTP_HEAD_MAX) {
    *err = "response head too large";
    return -1;
  }
  return 0;
}

/* The next line of buf[*pos..end), without its line ending. */
static span_t next_line(const char *buf, size_t *pos, size_t end) {
  const char *p = buf + *pos, *nl = memchr(p, '\n', end - *pos);
  size_t n = nl ? (size_t)(nl - p) : end - *pos;
  *pos += n + (nl != NULL);
  if (n && p[n - 1] == '\r') n--;
  return (span_t){p, n};
}

static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field values and reason phrases: visible characters, spaces, tabs and obs-text. */
static int is_text(span_t s) {
  size_t i;
  for (i = 0; i < s.n; i++) {
    unsigned char c = (unsigned char)s.p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
  }
  return 1;
}

static span_t trim(span_t s) {
  while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) s.p++, s.n--;
  while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) s.n--;
  return s;
}

static int span_is(span_t s, const char *word) {
  return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

/* Calls fn on each element of a comma-separated list; stops at the first that fails. */
static int each_token(span_t v, int (*fn)(fields_t *, span_t), fields_t *f) {
  while (v.n) {
    const char *comma = memchr(v.p, ',', v.n);
    size_t k = comma ? (size_t)(comma - v.p) : v.n;
    span_t t = trim((span_t){v.p, k});
    if (t.n && fn(f, t) < 0) return -1;
    v.p += k + (comma != NULL), v.n -= k + (comma != NULL);
  }
  return 0;
}

static int connection_token(fields_t *f, span_t t) {
  if (span_is(t, "close")) f->close = 1;
  else if (span_is(t, "keep-alive")) f->keep_alive = 1;
  return 0;
}

/* chunked must be the last coding; we decode no other. */
static int te_token(fields_t *f, span_t t) {
  if (f->chunked || !span_is(t, "chunked")) return -1;
  f->chunked = 1;
  return 0;
}

static int parse_length(span_t v, int64_t *out) {
  int64_t x = 0;
  size_t i;
  if (v.n == 0 || v.n > 18) return -1;
  for (i = 0; i < v.n; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') return -1;
    x = x * 10 + (v.p[i] - '0');
  }
  *out = x;
  return 0;
}

static int field(fields_t *f, span_t name, span_t value, const char **err) {
  int64_t len;
  if (span_is(name, "content-length")) {
    if (parse_length(value, &len) < 0) return *err = "bad Content-Length", -1;
    if (f->content_length >= 0 && f->content_length != len)
      return *err = "conflicting Content-Length headers", -1;
    f->content_length = len;
  } else if (span_is(name, "transfer-encoding")) {
    f->te = 1;
    if (each_token(value, te_token, f) < 0 || !f->chunked)
      return *err = "unsupported Transfer-Encoding", -1;
  } else if (span_is(name, "connection")) {
    each_token(value, connection_token, f);
  } else if (span_is(name, "location") && !f->location.p) {
    f->location = value;
  } else if (span_is(name, "host") && !f->host.p) {
    f->host = value;
  }
  return 0;
}

/* The header lines of buf[pos..end) (end is the head's length, empty line included). */
static int parse_fields(const char *buf, size_t pos, size_t end, fields_t *f, const char **err) {
  int count = 0;
  memset(f, 0, sizeof *f);
  f->content_length = -1;
  for (;;) {
    span_t line = next_line(buf, &pos, end), name, value;
    const char *colon;
    size_t i;
    if (line.n == 0) {
      if (f->te && f->content_length >= 0)
        return *err = "both Content-Length and Transfer-Encoding", -1;
      return 0;
    }
    if (++count > HTTP_HEADERS_MAX) return *err = "too many header lines", -1;
    if (line.p[0] == ' ' || line.p[0] == '\t') return *err = "folded header line", -1;
    if (!(colon = memchr(line.p, ':', line.n)) || colon == line.p)
      return *err = "malformed header line", -1;
    name = (span_t){line.p, (size_t)(colon - line.p)};
    for (i = 0; i < name.n; i++)
      if (!is_tchar((unsigned char)name.p[i])) return *err = "malformed header name", -1;
    value = trim((span_t){colon + 1, line.n - name.n - 1});
    if (!is_text(value)) return *err = "control character in a header value", -1;
    if (field(f, name, value, err) < 0) return -1;
  }
}

/* "HTTP/1.x" at p; returns x or -1. */
static int version(const char *p, size_t n) {
  if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9') return -1;
  return p[7] - '0';
}

/* "HTTP/d.d" at p, any digits: the server answers a version it does not speak with 505. */
static int request_version(const char *p, size_t n, http_request_t *r) {
  if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
      p[7] < '0' || p[7] > '9')
    return -1;
  r->major = p[5] - '0';
  r->minor = p[7] - '0';
  return 0;
}

ssize_t http_parse_response(const char *buf, size_t n, http_response_t *r, const char **err) {
  ssize_t end = head_end(buf, n, err);
  size_t pos = 0;
  span_t line;
  fields_t f;
  if (end <= 0) return end;
  line = next_line(buf, &pos, (size_t)end);
  /* HTTP/1.1 200 OK: version SP 3DIGIT [SP reason] */
  if (line.n < 12 || (r->minor = version(line.p, 8)) < 0 || line.p[8] != ' ')
    return *err = "malformed status line", -1;
  if (line.p[9] < '1' || line.p[9] > '5' || line.p[10] < '0' || line.p[10] > '9' ||
      line.p[11] < '0' || line.p[11] > '9' || (line.n > 12 && line.p[12] != ' '))
    return *err = "malformed status code", -1;
  r->status = (line.p[9] - '0') * 100 + (line.p[10] - '0') * 10 + (line.p[11] - '0');
  r->reason = line.n > 12 ? line.p + 13 : line.p + 12;
  r->reason_len = line.n > 12 ? line.n - 13 : 0;
  if (!is_text((span_t){r->reason, r->reason_len})) return *err = "malformed status line", -1;
  if (parse_fields(buf, pos, (size_t)end, &f, err) < 0) return -1;
  r->content_length = f.content_length;
  r->chunked = f.chunked;
  r->close = f.close || (r->minor == 0 && !f.keep_alive);
  r->location = f.location.p;
  r->location_len = f.location.n;
  return end;
}

ssize_t http_parse_request(const char *buf, size_t n, http_request_t *r, const char **err) {
  ssize_t end = head_end(buf, n, err);
  size_t pos = 0, i;
  const char *sp1, *sp2;
  span_t line;
  fields_t f;
  if (end <= 0) return end;
  line = next_line(buf, &pos, (size_t)end);
  /* GET /path HTTP/1.1 */
  if (!(sp1 = memchr(line.p, ' ', line.n)) ||
      !(sp2 = memchr(sp1 + 1, ' ', line.n - (size_t)(sp1 + 1 - line.p))))
    return *err = "malformed request line", -1;
  r->method = line.p;
  r->method_len = (size_t)(sp1 - line.p);
  r->target = sp1 + 1;
  r->target_len = (size_t)(sp2 - sp1 - 1);
  if (request_version(sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p), r) < 0 || !r->method_len ||
      !r->target_len)
    return *err = "malformed request line", -1;
  for (i = 0; i < r->method_len; i++)
    if (!is_tchar((unsigned char)r->method[i])) return *err = "malformed request line", -1;
  for (i = 0; i < r->target_len; i++)
    if ((unsigned char)r->target[i] <= 0x20 || r->target[i] == 0x7f)
      return *err = "malformed request target", -1;
  if (parse_fields(buf, pos, (size_t)end, &f, err) < 0) return -1;
  r->close = f.close || (r->minor == 0 && !f.keep_alive);
  r->has_body = f.te || f.content_length > 0;
  r->host = f.host.p;
  r->host_len = f.host.n;
  return end;
}

void http_body_init(http_body_t *b, const http_response_t *r, int head) {
  memset(b, 0, sizeof *b);
  if (head || r->status < 200 || r->status == 204 || r->status == 304) {
    b->mode = HTTP_BODY_NONE;
  } else if (r->chunked) {
    b->mode = HTTP_BODY_CHUNKED;
    b->state = CH_SIZE;
  } else if (r->content_length >= 0) {
    b->mode = HTTP_BODY_LENGTH;
    b->left = (uint64_t)r->content_length;
  } else {
    b->mode = HTTP_BODY_EOF;
  }
  b->done = b->mode == HTTP_BODY_NONE || (b->mode == HTTP_BODY_LENGTH && b->left == 0);
}

/* A whole line at the start of in[0..n): its length through the newline, 0 if incomplete. */
static ssize_t whole_line(const char *in, size_t n, span_t *line, const char **err) {
  size_t pos = 0;
  if (!memchr(in, '\n', n < HTTP_LINE_MAX ? n : HTTP_LINE_MAX)) {
    if (n >= HTTP_LINE_MAX) return *err = "chunk framing line too long", -1;
    return 0;
  }
  *line = next_line(in, &pos, n);
  return (ssize_t)pos;
}

/* 1*HEXDIG [ BWS ; extension ]: extensions are skipped. */
static int chunk_size(span_t line, uint64_t *size) {
  uint64_t x = 0;
  size_t i = 0;
  for (; i < line.n; i++) {
    char c = line.p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) break;
    if (x >> 56) return -1; /* over 2^60: no real chunk is that long */
    x = x << 4 | (uint64_t)d;
  }
  if (i == 0) return -1;
  while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t')) i++;
  if (i < line.n && line.p[i] != ';') return -1;
  if (!is_text(line)) return -1;
  *size = x;
  return 0;
}

static ssize_t chunked_feed(http_body_t *b, const char *in, size_t n, const char **data,
                            size_t *len, const char **err) {
  span_t line;
  ssize_t k;
  switch (b->state) {
  case CH_SIZE:
    if ((k = whole_line(in, n, &line, err)) <= 0) return k;
    if (chunk_size(line, &b->left) < 0) return *err = "bad chunk size", -1;
    b->state = b->left ? CH_DATA : CH_TRAILER;
    return k;
  case CH_DATA:
    *data = in;
    *len = n < b->left ? n : (size_t)b->left;
    if ((b->left -= *len) == 0) b->state = CH_CRLF;
    return (ssize_t)*len;
  case CH_CRLF:
    if (n == 0 || (in[0] == '\r' && n < 2)) return 0;
    k = in[0] == '\n' ? 1 : (in[0] == '\r' && in[1] == '\n') ? 2 : -1;
    if (k < 0) return *err = "no line ending after chunk data", -1;
    b->state = CH_SIZE;
    return k;
  default: /* CH_TRAILER: header lines until an empty one */
    if ((k = whole_line(in, n, &line, err)) <= 0) return k;
    if ((b->trailer += (size_t)k) > HTTP_HEAD_MAX) return *err = "trailer too large", -1;
    if (!is_text(line)) return *err = "control character in the trailer", -1;
    if (line.n == 0) b->done = 1;
    return k;
  }
}

ssize_t http_body_feed(http_body_t *b, const char *in, size_t n, const char **data, size_t *len,
                       const char **err) {
  *len = 0;
  if (b->done) return 0;
  switch (b->mode) {
  case HTTP_BODY_LENGTH:
    *data = in;
    *len = n < b->left ? n : (size_t)b->left;
    b->done = (b->left -= *len) == 0;
    return (ssize_t)*len;
  case HTTP_BODY_EOF:
    *data = in;
    *len = n;
    return (ssize_t)n;
  case HTTP_BODY_CHUNKED:
    return chunked_feed(b, in, n, data, len, err);
  default:
    return 0;
  }
}

int http_body_eof(http_body_t *b, const char **err) {
  if (b->mode == HTTP_BODY_EOF) b->done = 1;
  if (b->done) return 0;
  *err = "connection closed before the end of the body";
  return -1;
}
