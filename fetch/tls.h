/* SPDX-License-Identifier: MIT */
/*
 * TLS through OpenSSL over green sockets: the SSL objects read and write through a BIO whose
 * calls are green_read and green_write, so a handshake or a record parks only its greenlet and
 * honours the greenlet's deadline and kill like any other green call.
 */
#ifndef FETCH_TLS_H
#define FETCH_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

/* A client context: peers verified against cafile, or the system's CA store when cafile is
 * NULL; no verification at all when `insecure`. NULL with a message in msg on failure. */
SSL_CTX *tls_client_ctx(const char *cafile, int insecure, char *msg, size_t size);

/* A server context presenting the PEM certificate chain and key. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *msg, size_t size);

/* The client handshake on the connected green socket fd: SNI and the certificate's name
 * checked against host (an IP literal is checked as an address). NULL, errno and a message
 * in msg when it fails; the fd stays the caller's. */
SSL *tls_connect(SSL_CTX *ctx, int fd, const char *host, char *msg, size_t size);

/* The server handshake on an accepted green socket fd. */
SSL *tls_accept(SSL_CTX *ctx, int fd, char *msg, size_t size);

/* Bytes read (> 0), 0 at the end of the stream, or -1 + errno (EPROTO for a TLS error, whose
 * text tls_last_error gives). */
ssize_t tls_read(SSL *ssl, void *buf, size_t n);

/* All n bytes, or -1 + errno. */
ssize_t tls_write(SSL *ssl, const void *buf, size_t n);

/* After tls_read gave 0: whether the peer sent close_notify (1) or just closed the TCP
 * connection (0), which an attacker on the path can do too. */
int tls_closed_cleanly(const SSL *ssl);

/* The text of the last EPROTO failure on this thread. */
const char *tls_last_error(void);

/* Free ssl after sending close_notify when `notify` (the fd stays open). */
void tls_free(SSL *ssl, int notify);

#endif
