/* SPDX-License-Identifier: MIT */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <green.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The server takes a close without close_notify as the end of the stream (a request head is
 * framed anyway). The client reads it as the end too, but tls_closed_cleanly then says 0: a
 * body that only the close delimits may have been cut short by an attacker. OpenSSL 3 reports
 * such a close as an error, OpenSSL 1.1 as a syscall error with no errno. */
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
#define IGNORE_UNEXPECTED_EOF SSL_OP_IGNORE_UNEXPECTED_EOF
#else
#define IGNORE_UNEXPECTED_EOF 0
#endif

static int unexpected_eof(void) {
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
  unsigned long e = ERR_peek_last_error();
  return e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
  return 0;
#endif
}

/* errno of the green call that failed inside the BIO. OpenSSL may clobber errno on its way
 * out, and no greenlet switch happens between the BIO's failure and our reading of it. */
static __thread int bio_errno;
static __thread char last_error[256];

static int bio_read(BIO *b, char *buf, size_t n, size_t *got) {
  ssize_t r = green_read((int)(intptr_t)BIO_get_data(b), buf, n);
  BIO_clear_retry_flags(b);
  *got = r > 0 ? (size_t)r : 0;
  if (r < 0) bio_errno = errno;
  return r > 0;
}

static int bio_write(BIO *b, const char *buf, size_t n, size_t *put) {
  ssize_t r = green_write((int)(intptr_t)BIO_get_data(b), buf, n);
  BIO_clear_retry_flags(b);
  *put = r > 0 ? (size_t)r : 0;
  if (r < 0) bio_errno = errno;
  return r >= 0 && (size_t)r == n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b, (void)num, (void)ptr;
  return cmd == BIO_CTRL_FLUSH; /* writes go straight out */
}

static BIO *green_bio(int fd) {
  static BIO_METHOD *method;
  BIO *b;
  if (!method) {
    if (!(method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "green socket")))
      return NULL;
    BIO_meth_set_read_ex(method, bio_read);
    BIO_meth_set_write_ex(method, bio_write);
    BIO_meth_set_ctrl(method, bio_ctrl);
  }
  if (!(b = BIO_new(method))) return NULL;
  BIO_set_data(b, (void *)(intptr_t)fd);
  BIO_set_init(b, 1);
  return b;
}

/* The message for OpenSSL's last error, prefixed by what failed. */
static void ssl_message(const char *what, char *msg, size_t size) {
  unsigned long e = ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  snprintf(msg, size, "%s: %s", what, reason ? reason : "failed");
  ERR_clear_error();
}

SSL_CTX *tls_client_ctx(const char *cafile, int insecure, char *msg, size_t size) {
  SSL_CTX *ctx;
  if (cafile && access(cafile, R_OK) < 0) { /* OpenSSL would only say "system lib" */
    snprintf(msg, size, "cannot read %s: %s", cafile, strerror(errno));
    return NULL;
  }
  if (!(ctx = SSL_CTX_new(TLS_client_method()))) return ssl_message("TLS", msg, size), NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_read_ahead(ctx, 1); /* a record in one read, not header then body */
  SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
  if (cafile ? !SSL_CTX_load_verify_locations(ctx, cafile, NULL)
             : !SSL_CTX_set_default_verify_paths(ctx)) {
    ssl_message(cafile ? "cannot load the CA file" : "cannot load the system CA store", msg, size);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *msg, size_t size) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return ssl_message("TLS", msg, size), NULL;
  SSL_CTX_set_options(ctx, IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_read_ahead(ctx, 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    ssl_message("cannot load the certificate and key", msg, size);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/* Why a handshake failed, the most specific reason first. */
static void handshake_error(SSL *ssl, int ret, char *msg, size_t size) {
  int e = SSL_get_error(ssl, ret);
  long v = SSL_get_verify_result(ssl);
  if (e == SSL_ERROR_SYSCALL && bio_errno) {
    errno = bio_errno;
    snprintf(msg, size, "TLS handshake: %s", strerror(errno));
    ERR_clear_error();
    return;
  }
  errno = EPROTO;
  if (v != X509_V_OK) {
    snprintf(msg, size, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    ERR_clear_error();
  } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || unexpected_eof()) {
    snprintf(msg, size, "TLS handshake: connection closed by the peer");
    ERR_clear_error();
  } else {
    ssl_message("TLS handshake failed", msg, size);
  }
}

static SSL *handshake(SSL_CTX *ctx, int fd, const char *host, char *msg, size_t size) {
  SSL *ssl = SSL_new(ctx);
  BIO *b = ssl ? green_bio(fd) : NULL;
  int r;
  if (!b) {
    ssl_message("TLS", msg, size);
    SSL_free(ssl);
    errno = ENOMEM;
    return NULL;
  }
  SSL_set_bio(ssl, b, b);
  if (host) {
    unsigned char ip[16];
    int literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (literal) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    else if (!SSL_set_tlsext_host_name(ssl, host) || !SSL_set1_host(ssl, host))
      ERR_clear_error(); /* a name OpenSSL will not send: verification fails on it instead */
  }
  bio_errno = 0;
  if ((r = host ? SSL_connect(ssl) : SSL_accept(ssl)) == 1) return ssl;
  handshake_error(ssl, r, msg, size);
  r = errno;
  SSL_free(ssl);
  errno = r;
  return NULL;
}

SSL *tls_connect(SSL_CTX *ctx, int fd, const char *host, char *msg, size_t size) {
  return handshake(ctx, fd, host, msg, size);
}

SSL *tls_accept(SSL_CTX *ctx, int fd, char *msg, size_t size) {
  return handshake(ctx, fd, NULL, msg, size);
}

static ssize_t io_error(SSL *ssl, int ret) {
  int e = SSL_get_error(ssl, ret);
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !bio_errno) ||
      (e == SSL_ERROR_SSL && unexpected_eof())) {
    ERR_clear_error();
    return 0;
  }
  if (e == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    errno = bio_errno;
    return -1;
  }
  ssl_message("TLS", last_error, sizeof last_error);
  errno = EPROTO;
  return -1;
}

ssize_t tls_read(SSL *ssl, void *buf, size_t n) {
  size_t got;
  int r;
  bio_errno = 0;
  if ((r = SSL_read_ex(ssl, buf, n, &got)) == 1) return (ssize_t)got;
  return io_error(ssl, r);
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t n) {
  size_t put;
  int r;
  bio_errno = 0;
  if ((r = SSL_write_ex(ssl, buf, n, &put)) == 1) return (ssize_t)put;
  r = (int)io_error(ssl, r);
  if (r == 0) errno = EPIPE; /* the peer closed: a write cannot end "normally" */
  return -1;
}

const char *tls_last_error(void) { return last_error; }

int tls_closed_cleanly(const SSL *ssl) { return (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0; }

void tls_free(SSL *ssl, int notify) {
  if (notify) {
    bio_errno = 0;
    if (SSL_shutdown(ssl) < 0) ERR_clear_error();
  }
  SSL_free(ssl);
}
