/* libFuzzer target for the HTTP parser green-fetch reads responses with (fetch/http.c, url.c).
 * The input's first byte sets how many bytes each read brings; the rest is a response (and
 * also tried as a request, a URL and a redirect Location). Beyond "no crash, no hang" it checks
 * the parser's contracts: a head found in a prefix is the same head, a head is never found one
 * byte short, body spans lie inside what was fed, a Content-Length body ends at its length,
 * and a decoder that asks for more input never needs more than its line limit buffered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "url.h"

#define CHECK(c) \
  do {           \
    if (!(c)) abort(); \
  } while (0)

/* Feed the body as a client would: reads of `step` bytes into a buffer that is compacted. */
static void body(const http_response_t *r, const char *in, size_t n, size_t step) {
  static char buf[2 * HTTP_LINE_MAX];
  size_t pos = 0, len = 0, off = 0, total = 0, k;
  http_body_t b;
  const char *err, *data;
  ssize_t used;
  http_body_init(&b, r, 0);
  while (!b.done) {
    if ((used = http_body_feed(&b, buf + pos, len - pos, &data, &k, &err)) < 0) return;
    CHECK((size_t)used <= len - pos);
    if (k) CHECK(data >= buf + pos && data + k <= buf + pos + used);
    total += k;
    pos += (size_t)used;
    if (used > 0 || b.done) continue;
    memmove(buf, buf + pos, len - pos);
    len -= pos, pos = 0;
    CHECK(len < sizeof buf); /* it wants more: its line limit must have left room */
    if (off == n) {
      if (http_body_eof(&b, &err) == 0) CHECK(b.done);
      break;
    }
    k = n - off < step ? n - off : step;
    if (k > sizeof buf - len) k = sizeof buf - len;
    memcpy(buf + len, in + off, k);
    len += k, off += k;
  }
  if (b.done && b.mode == HTTP_BODY_LENGTH) CHECK(total == (size_t)r->content_length);
}

static void urls(const char *s, size_t n) {
  const char *err;
  char authority[URL_HOST_MAX + 16];
  url_t u;
  size_t i;
  if (url_parse(&u, s, n, &err) < 0) return;
  CHECK(u.target[0] == '/');
  url_authority(&u, authority, sizeof authority);
  if (url_resolve(&u, s + n / 2, n - n / 2, &err) == 0) CHECK(u.target[0] == '/');
  for (i = 0; u.target[i]; i++) CHECK((unsigned char)u.target[i] > 0x20);
  url_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data + 1, *err;
  size_t n = size ? size - 1 : 0, step = size ? 1 + data[0] % 128 * 37 : 1;
  http_response_t r, again;
  http_request_t q;
  ssize_t head;
  if (size == 0) return 0;
  if ((head = http_parse_response(in, n, &r, &err)) > 0) {
    CHECK((size_t)head <= n && head <= HTTP_HEAD_MAX);
    CHECK(http_parse_response(in, (size_t)head, &again, &err) == head);
    CHECK(again.status == r.status && again.content_length == r.content_length);
    CHECK(http_parse_response(in, (size_t)head - 1, &again, &err) == 0);
    CHECK(r.status >= 100 && r.status <= 599);
    if (r.location) CHECK(r.location >= in && r.location + r.location_len <= in + head);
    body(&r, in + head, n - (size_t)head, step);
  } else if (head == 0) {
    CHECK(n < HTTP_HEAD_MAX);
  }
  if ((head = http_parse_request(in, n, &q, &err)) > 0)
    CHECK(q.target >= in && q.target + q.target_len <= in + head && q.method_len > 0);
  urls(in, n < 4096 ? n : 4096);
  return 0;
}
