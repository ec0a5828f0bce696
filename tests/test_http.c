/* SPDX-License-Identifier: MIT */
/* green-fetch's parser alone (fetch/http.c, url.c): URL parsing and redirect resolution,
 * response framing rules, the body decoder fed one byte at a time. */
#include "http.h"
#include "test.h"
#include "url.h"

/* ---- URLs ------------------------------------------------------------------------------ */

static url_t parse(const char *s) {
  const char *err = NULL;
  url_t u;
  if (url_parse(&u, s, strlen(s), &err) < 0) TEST_FAIL("%s: %s", s, err);
  return u;
}

static void assert_parse_fails(const char *s, const char *why) {
  const char *err = NULL;
  url_t u;
  ASSERT_EQ(url_parse(&u, s, strlen(s), &err), -1);
  if (strcmp(err, why) != 0) TEST_FAIL("%s: \"%s\", expected \"%s\"", s, err, why);
}

TEST_CASE(url_parse_forms) {
  char auth[300];
  url_t u = parse("example.org");
  ASSERT_EQ(u.tls, 0);
  ASSERT_EQ(u.port, 80);
  ASSERT_TRUE(strcmp(u.host, "example.org") == 0 && strcmp(u.target, "/") == 0);
  url_free(&u);
  u = parse("HTTPS://WWW.Example.ORG:8443/a/b?q=1#frag");
  ASSERT_EQ(u.tls, 1);
  ASSERT_EQ(u.port, 8443);
  ASSERT_TRUE(strcmp(u.host, "www.example.org") == 0 && strcmp(u.target, "/a/b?q=1") == 0);
  url_authority(&u, auth, sizeof auth);
  ASSERT_TRUE(strcmp(auth, "www.example.org:8443") == 0);
  url_free(&u);
  u = parse("http://[::1]/x");
  ASSERT_TRUE(strcmp(u.host, "::1") == 0);
  url_authority(&u, auth, sizeof auth);
  ASSERT_TRUE(strcmp(auth, "[::1]") == 0); /* default port left out, brackets kept */
  url_free(&u);
  u = parse("http://h?only=query");
  ASSERT_TRUE(strcmp(u.target, "/?only=query") == 0);
  url_free(&u);
}

TEST_CASE(url_parse_refuses) {
  assert_parse_fails("ftp://h/", "unsupported scheme (http and https only)");
  assert_parse_fails("http://user:pw@h/", "user names in URLs are not supported");
  assert_parse_fails("http://h:0/", "bad port in URL");
  assert_parse_fails("http://h:65536/", "bad port in URL");
  assert_parse_fails("http://h:8x/", "bad port in URL");
  assert_parse_fails("http://[::1/", "bad IPv6 address in URL");
  assert_parse_fails("http://[nope]/", "bad IPv6 address in URL");
  assert_parse_fails("http:///path", "bad host name in URL");
  assert_parse_fails("http://h/a b", "bad character in URL");
  assert_parse_fails("http://h/a\r\nX: y", "bad character in URL");
}

static void assert_resolves(const char *base, const char *loc, int tls, const char *host,
                            int port, const char *target) {
  const char *err = NULL;
  url_t u = parse(base);
  if (url_resolve(&u, loc, strlen(loc), &err) < 0) TEST_FAIL("%s + %s: %s", base, loc, err);
  if (u.tls != tls || strcmp(u.host, host) != 0 || u.port != port || strcmp(u.target, target) != 0)
    TEST_FAIL("%s + %s gave %s://%s:%u%s", base, loc, u.tls ? "https" : "http", u.host, u.port,
              u.target);
  url_free(&u);
}

TEST_CASE(url_resolve_locations) {
  const char *base = "http://h:8080/a/b/c?x=1";
  assert_resolves(base, "d", 0, "h", 8080, "/a/b/d");
  assert_resolves(base, "d/e?y", 0, "h", 8080, "/a/b/d/e?y");
  assert_resolves(base, "/top", 0, "h", 8080, "/top");
  assert_resolves(base, "?y=2", 0, "h", 8080, "/a/b/c?y=2");
  assert_resolves(base, "#frag", 0, "h", 8080, "/a/b/c?x=1");
  assert_resolves(base, "//other:81/p", 0, "other", 81, "/p");
  assert_resolves(base, "https://[::1]/z", 1, "::1", 443, "/z");
  assert_resolves("https://h/a", "//o/p", 1, "o", 443, "/p"); /* keeps the scheme */
  const char *err = NULL;
  url_t u = parse(base);
  ASSERT_EQ(url_resolve(&u, "a b", 3, &err), -1);
  ASSERT_TRUE(strcmp(u.target, "/a/b/c?x=1") == 0); /* unchanged */
  ASSERT_EQ(url_resolve(&u, "gopher://h/", 11, &err), -1);
  url_free(&u);
}

/* A Location with a scheme other than http(s) is refused, never taken as a relative path. */
TEST_CASE(url_resolve_refuses_other_schemes) {
  static const char *const locs[] = {"javascript:alert(1)", "JavaScript:void(0)",
                                     "data:text/html,hi", "file:///etc/passwd", "file:x",
                                     "ftp://h/f", "mailto:a@b", "http:no-slashes"};
  size_t i;
  for (i = 0; i < sizeof locs / sizeof locs[0]; i++) {
    const char *err = NULL;
    url_t u = parse("http://h/a/b");
    if (url_resolve(&u, locs[i], strlen(locs[i]), &err) == 0)
      TEST_FAIL("%s resolved to %s", locs[i], u.target);
    ASSERT_TRUE(strcmp(u.target, "/a/b") == 0);
    url_free(&u);
  }
  assert_resolves("http://h/a/b", "./x:y", 0, "h", 80, "/a/./x:y"); /* a colon after a slash */
  assert_resolves("http://h/a/b", "x/y:z", 0, "h", 80, "/a/x/y:z");
}

/* ---- response heads ---------------------------------------------------------------------- */

/* s is a head followed by `after` more bytes. */
static http_response_t head(const char *s, size_t after) {
  http_response_t r;
  const char *err = "";
  ssize_t n = http_parse_response(s, strlen(s), &r, &err), want_len = (ssize_t)(strlen(s) - after);
  if (n != want_len) TEST_FAIL("head length %zd, expected %zd (%s): %s", n, want_len, err, s);
  return r;
}

static void assert_head_fails(const char *s, const char *why) {
  http_response_t r;
  const char *err = "";
  ASSERT_EQ(http_parse_response(s, strlen(s), &r, &err), -1);
  if (strcmp(err, why) != 0) TEST_FAIL("\"%s\", expected \"%s\" for %s", err, why, s);
}

TEST_CASE(response_heads) {
  const char *s = "HTTP/1.1 301 Moved Permanently\r\nLocation:  /new \r\nContent-Length: 0\r\n\r\nX";
  http_response_t r = head(s, 1);
  ASSERT_EQ(r.status, 301);
  ASSERT_TRUE(r.reason_len == 17 && memcmp(r.reason, "Moved Permanently", 17) == 0);
  ASSERT_TRUE(r.location_len == 4 && memcmp(r.location, "/new", 4) == 0);
  ASSERT_EQ(r.content_length, 0);
  ASSERT_EQ(r.close, 0);
  r = head("HTTP/1.0 200\nServer: x\n\n", 0); /* bare LF, no reason */
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.close, 1);                       /* 1.0 closes unless it says keep-alive */
  r = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", 0);
  ASSERT_EQ(r.close, 0);
  r = head("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n\r\n", 0);
  ASSERT_EQ(r.close, 1);
  r = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", 0);
  ASSERT_EQ(r.content_length, 5); /* repeated, equal: fine */
  const char *partial = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", *err;
  ASSERT_EQ(http_parse_response(partial, strlen(partial), &r, &err), 0); /* not all there yet */
}

TEST_CASE(response_heads_refused) {
  assert_head_fails("HTTP/2 200 OK\r\n\r\n", "malformed status line");
  assert_head_fails("HTTP/1.1 99 Low\r\n\r\n", "malformed status code");
  assert_head_fails("HTTP/1.1 600 High\r\n\r\n", "malformed status code");
  assert_head_fails("HTTP/1.1 200OK\r\n\r\n", "malformed status code");
  assert_head_fails("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "malformed header line");
  assert_head_fails("HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n", "malformed header name");
  assert_head_fails("HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n", "control character in a header value");
  assert_head_fails("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length");
  assert_head_fails("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",
                    "bad Content-Length");
  assert_head_fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                    "unsupported Transfer-Encoding");
  /* RFC 9112 6.3: both framings is a smuggling attempt, whichever comes first */
  assert_head_fails("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n",
                    "both Content-Length and Transfer-Encoding");
  assert_head_fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
                    "both Content-Length and Transfer-Encoding");
  char *big = malloc(HTTP_HEAD_MAX + 100);
  ASSERT_TRUE(big != NULL);
  strcpy(big, "HTTP/1.1 200 OK\r\n");
  while (strlen(big) < HTTP_HEAD_MAX) strcat(big, "X-Filler: 0123456789abcdef\r\n");
  assert_head_fails(big, "response head too large");
  free(big);
  char many[4096] = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i <= HTTP_HEADERS_MAX; i++) strcat(many, "A: b\r\n");
  strcat(many, "\r\n");
  assert_head_fails(many, "too many header lines");
}

/* ---- bodies -------------------------------------------------------------------------------- */

/* Feeds the body after the head in s one byte at a time, as the client's buffer would see it
 * (unconsumed bytes stay in front); returns the body or NULL with *err. */
static char *decode(const char *s, int at_eof, const char **err) {
  static char body[4096], buf[2 * HTTP_LINE_MAX];
  http_response_t r;
  http_body_t b;
  ssize_t n = http_parse_response(s, strlen(s), &r, err), k;
  size_t off = (size_t)n, total = strlen(s), len = 0, blen = 0, dlen;
  const char *data;
  ASSERT_GT(n, 0);
  http_body_init(&b, &r, 0);
  while (!b.done) {
    if ((k = http_body_feed(&b, buf, len, &data, &dlen, err)) < 0) return NULL;
    if (dlen) memcpy(body + blen, data, dlen);
    blen += dlen;
    memmove(buf, buf + k, len - (size_t)k);
    len -= (size_t)k;
    if (k > 0 || b.done) continue;
    if (off == total) {
      if (!at_eof) TEST_FAIL("the decoder wants more than the whole message");
      if (http_body_eof(&b, err) < 0) return NULL;
      break;
    }
    buf[len++] = s[off++];
  }
  body[blen] = '\0';
  return body;
}

TEST_CASE(bodies_byte_by_byte) {
  const char *err = NULL, *out;
  out = decode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 0, &err);
  ASSERT_TRUE(out && strcmp(out, "hello") == 0); /* stops at its length */
  out = decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5;name=value\r\nhello\r\nA \r\n, chunked!\r\n0\r\nTrailer: x\r\n\r\n", 0, &err);
  ASSERT_TRUE(out && strcmp(out, "hello, chunked!") == 0);
  out = decode("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", 0, &err);
  ASSERT_TRUE(out && strcmp(out, "abc") == 0); /* bare LF framing */
  out = decode("HTTP/1.0 200 OK\r\n\r\nuntil the end", 1, &err);
  ASSERT_TRUE(out && strcmp(out, "until the end") == 0);
  out = decode("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", 0, &err);
  ASSERT_TRUE(out && strcmp(out, "") == 0); /* 204 has no body, whatever it says */
  out = decode("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", 1, &err);
  ASSERT_PTR_EQ(out, NULL);
  ASSERT_TRUE(strcmp(err, "connection closed before the end of the body") == 0);
  out = decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", 1, &err);
  ASSERT_PTR_EQ(out, NULL);
  ASSERT_TRUE(strcmp(err, "no line ending after chunk data") == 0);
  out = decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", 1, &err);
  ASSERT_PTR_EQ(out, NULL);
  ASSERT_TRUE(strcmp(err, "bad chunk size") == 0);
}

TEST_CASE(chunk_line_bounded) {
  static char msg[3 * HTTP_LINE_MAX];
  const char *err = NULL;
  strcpy(msg, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;");
  memset(msg + strlen(msg), 'e', 2 * HTTP_LINE_MAX); /* an extension with no end */
  ASSERT_PTR_EQ(decode(msg, 1, &err), NULL);
  ASSERT_TRUE(strcmp(err, "chunk framing line too long") == 0);
}

/* ---- requests (green-httpd's side) --------------------------------------------------------- */

TEST_CASE(request_heads) {
  const char *s = "GET /bytes/10?x=1 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
  http_request_t q;
  const char *err = "";
  ASSERT_EQ(http_parse_request(s, strlen(s), &q, &err), (ssize_t)strlen(s));
  ASSERT_TRUE(q.method_len == 3 && memcmp(q.method, "GET", 3) == 0);
  ASSERT_TRUE(q.target_len == 13 && memcmp(q.target, "/bytes/10?x=1", 13) == 0);
  ASSERT_TRUE(q.host_len == 14 && memcmp(q.host, "localhost:8080", 14) == 0);
  ASSERT_EQ(q.close, 0);
  ASSERT_EQ(q.has_body, 0);
  s = "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_GT(http_parse_request(s, strlen(s), &q, &err), 0);
  ASSERT_EQ(q.close, 1);
  ASSERT_EQ(q.has_body, 1);
  s = "GET /a b HTTP/1.1\r\n\r\n";
  ASSERT_EQ(http_parse_request(s, strlen(s), &q, &err), -1);
  s = "GET / HTTP/1.1 extra\r\n\r\n";
  ASSERT_EQ(http_parse_request(s, strlen(s), &q, &err), -1);
}

/* Any HTTP/d.d parses, so the server can answer 505 to the versions it does not speak. */
TEST_CASE(request_versions) {
  static const struct {
    const char *line;
    int major, minor;
  } v[] = {{"GET / HTTP/1.0\r\n\r\n", 1, 0}, {"GET / HTTP/1.1\r\n\r\n", 1, 1},
           {"GET / HTTP/1.9\r\n\r\n", 1, 9}, {"GET / HTTP/2.0\r\n\r\n", 2, 0},
           {"GET / HTTP/0.9\r\n\r\n", 0, 9}};
  const char *err = "";
  http_request_t q;
  size_t i;
  for (i = 0; i < sizeof v / sizeof v[0]; i++) {
    ASSERT_EQ(http_parse_request(v[i].line, strlen(v[i].line), &q, &err), (ssize_t)strlen(v[i].line));
    ASSERT_EQ(q.major, v[i].major);
    ASSERT_EQ(q.minor, v[i].minor);
  }
  static const char *const bad[] = {"GET / HTTP/1.10\r\n\r\n", "GET / HTTP/x.1\r\n\r\n",
                                    "GET / HTTPS/1.1\r\n\r\n", "GET / HTTP/1\r\n\r\n"};
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ASSERT_EQ(http_parse_request(bad[i], strlen(bad[i]), &q, &err), -1);
}
