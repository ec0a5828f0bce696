/* SPDX-License-Identifier: MIT */
/*
 * The hub's c-ares channels, created on the hub's first lookup. One asks the hosts file and DNS
 * as configured. A twin asks DNS only, for names /etc/hosts lacks (dns_hosts.c). So lookups of
 * those names skip c-ares's read of the whole file per query. c-ares tells us which sockets to
 * watch (ARES_OPT_SOCK_STATE_CB). We keep one ev_io per socket, registered for as long as
 * c-ares keeps the socket. With ARES_FLAG_STAYOPEN the UDP socket outlives its queries. So a
 * lookup costs one send and one receive per query, not a socket set-up. An ev_timer follows
 * ares_timeout(). Both watchers only run callbacks on the hub's stack. They never count as
 * waits; the greenlets parked on queries do (loop_wait). So an idle channel keeps nothing
 * alive.
 *
 * A query belongs to c-ares until its callback runs. A greenlet that stops waiting abandons it
 * (killed, scoped deadline); the callback then frees it. c-ares 1.18 cannot cancel one query.
 * So when every pending query is abandoned, the channel's queries are cancelled all at once
 * (ares_cancel). No retransmission then goes out for a greenlet that is gone.
 */
#include "dns.h"

#include <ares.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hub.h"
#include "ownfd.h"
#include "wait.h"

typedef struct chan {
  struct green__dns *dns;
  ares_channel c;
  ev_timer timer;               /* c-ares's next timeout, while it has one */
} chan_t;

typedef struct dns_sock {
  ev_io io;                     /* data: its chan_t */
  struct dns_sock *next;
} dns_sock_t;

struct green__dns {
  struct green__hub *hub;
  green__hub_teardown_t teardown; /* on the hub's list from creation on (dns_destroy) */
  chan_t chans[2];              /* [0]: hosts file and DNS as configured; [1]: DNS only, for
                                   names /etc/hosts lacks (not with files_only) */
  int nchans;
  green__dns_hosts_t *hosts;    /* which names /etc/hosts has */
  dns_sock_t *socks;            /* the sockets c-ares asked us to watch */
  size_t pending;               /* slots taken: queries whose callback has not run, and
                                   greenlets handed a slot that have yet to submit */
  green__list_t throttled;      /* greenlets waiting for a slot (pending == MAX_INFLIGHT) */
  size_t abandoned;             /* ... of which nobody waits for the answer */
  int destroying;               /* the hub is going away: callbacks only free */
  int files_only;               /* nsswitch.conf says "hosts: files": no DNS at all */
  int socket_nomem;             /* a socket was refused for want of memory since the last
                                   query ended: its failure is EAI_MEMORY */
  green__dns_cache_t *cache;
  void *static_buf;             /* for green__gethostbyname and friends */
  size_t static_len;
};

/* Queries in flight per hub. Past this, lookups wait their turn (FIFO). A burst from thousands
 * of greenlets would overflow the server's socket buffer. It would turn into retransmissions a
 * whole timeout later (resolv.conf's, 1-5 s). Linux's default buffer holds 256 small datagrams.
 * But a server reading one at a time gives the memory back only in quarters of the buffer. So
 * 192 is all it surely holds: at 200, dnsmasq lost queries in every run. 64 is as many as 64
 * threads in glibc's getaddrinfo. It leaves room for two more hubs or other clients. Against a
 * local server it costs nothing: dnsmasq's ceiling is ~100k lookups/s here, with 32 or 200
 * alike. */
#ifndef GREEN_DNS_MAX_INFLIGHT
#define GREEN_DNS_MAX_INFLIGHT 64
#endif

typedef struct query {
  struct green__dns *dns;
  chan_t *chan;
  green__list_t waiters;        /* the greenlet waiting, through its wait_link */
  int submitting;               /* inside the ares_* call: a callback now is synchronous */
  int done;
  int status;                   /* ARES_* */
  green__dns_answer_t *answer;  /* built by the callback on success */
  const void *addr;             /* reverse lookups: the address asked about */
  int family;
} query_t;

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;

static void library_init(void) { library_status = ares_library_init(ARES_LIB_INIT_ALL); }

/* ---- answers ------------------------------------------------------------------------------ */

void green__dns_answer_release(green__dns_answer_t *a) {
  char **p;
  if (!a || --a->refs > 0) return;
  free(a->name);
  for (p = a->aliases; p && *p; p++) free(*p);
  free(a->aliases);
  free(a->addrs);
  free(a);
}

static green__dns_answer_t *answer_new(const char *name, size_t naddrs) {
  green__dns_answer_t *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->refs = 1;
  a->naddrs = naddrs;
  a->name = strdup(name ? name : "");
  a->aliases = calloc(1, sizeof *a->aliases);
  a->addrs = calloc(naddrs ? naddrs : 1, sizeof *a->addrs);
  if (!a->name || !a->aliases || !a->addrs) {
    green__dns_answer_release(a);
    return NULL;
  }
  return a;
}

/* Add `alias` to a's aliases unless it is a's name or there already; -1 when out of memory. */
static int add_alias(green__dns_answer_t *a, const char *alias) {
  size_t n = 0;
  char **grown;
  if (strcasecmp(alias, a->name) == 0) return 0;
  for (; a->aliases[n]; n++)
    if (strcasecmp(alias, a->aliases[n]) == 0) return 0;
  if (!(grown = realloc(a->aliases, (n + 2) * sizeof *grown))) return -1;
  a->aliases = grown;
  if (!(grown[n] = strdup(alias))) return -1;
  grown[n + 1] = NULL;
  return 0;
}

/* Follow the CNAME records from `name` to the end of the chain. Hosts-file aliases come as
 * CNAMEs too. *moved says whether any record matched. */
static const char *follow(const struct ares_addrinfo *res, const char *name, int *moved) {
  const struct ares_addrinfo_cname *c;
  int hops;
  *moved = 0;
  for (hops = 0; hops < 16; hops++) {
    for (c = res->cnames; c && !(c->alias && c->name && strcasecmp(c->alias, name) == 0);
         c = c->next) {
    }
    if (!c) break;
    name = c->name;
    *moved = 1;
  }
  return name;
}

/* The canonical name. A hosts-file answer names it in a record without alias. A
 * search-expanded name is not the name asked for. The chain then starts at the first record,
 * which names the expanded one. */
static const char *canonical(const struct ares_addrinfo *res) {
  const struct ares_addrinfo_cname *c;
  int moved = 0;
  const char *name;
  for (c = res->cnames; c; c = c->next)
    if (!c->alias && c->name) return c->name;
  name = res->name ? follow(res, res->name, &moved) : NULL;
  if (!moved && res->cnames && res->cnames->alias) name = follow(res, res->cnames->alias, &moved);
  return name;
}

static green__dns_answer_t *answer_from_addrinfo(const struct ares_addrinfo *res) {
  const struct ares_addrinfo_node *n;
  const struct ares_addrinfo_cname *c;
  green__dns_answer_t *a;
  size_t count = 0, i = 0;
  int ttl = INT32_MAX;
  for (n = res->nodes; n; n = n->ai_next) count++;
  if (!(a = answer_new(canonical(res), count))) return NULL;
  for (n = res->nodes; n; n = n->ai_next, i++) {
    memcpy(&a->addrs[i], n->ai_addr, n->ai_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in));
    a->addrs[i].in.sin_port = 0;
    if (n->ai_ttl < ttl) ttl = n->ai_ttl;
  }
  for (c = res->cnames; c; c = c->next) {
    if (c->ttl < ttl) ttl = c->ttl;
    if (c->alias && add_alias(a, c->alias) < 0) {
      green__dns_answer_release(a);
      return NULL;
    }
  }
  a->ttl = count ? ttl : 0;
  green__dns_sort(a->addrs, count);
  return a;
}

static green__dns_answer_t *answer_from_hostent(const struct hostent *he, const void *addr,
                                                int family) {
  green__dns_answer_t *a = answer_new(he->h_name, 1);
  char **p;
  if (!a) return NULL;
  for (p = he->h_aliases; p && *p; p++) {
    if (add_alias(a, *p) < 0) {
      green__dns_answer_release(a);
      return NULL;
    }
  }
  a->addrs[0].sa.sa_family = (sa_family_t)family;
  if (family == AF_INET) memcpy(&a->addrs[0].in.sin_addr, addr, 4);
  else memcpy(&a->addrs[0].in6.sin6_addr, addr, 16);
  return a;
}

/* ---- the channel and its watchers --------------------------------------------------------- */

static void rearm(chan_t *ch) {
  struct timeval tv, *t = ares_timeout(ch->c, NULL, &tv);
  struct ev_loop *loop = ch->dns->hub->loop;
  if (ev_is_active(&ch->timer)) ev_timer_stop(loop, &ch->timer);
  if (!t) return;
  ev_timer_set(&ch->timer, (double)tv.tv_sec + (double)tv.tv_usec * 1e-6, 0.);
  ev_timer_start(loop, &ch->timer);
}

/* Runs on the hub's stack: c-ares reads the answers and runs the queries' callbacks, which
 * wake their greenlets. The watcher may be freed by c-ares meanwhile. */
static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  chan_t *ch = w->data;
  int fd = w->fd;
  (void)loop;
  ares_process_fd(ch->c, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  rearm(ch);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  chan_t *ch = green__container_of(w, chan_t, timer);
  (void)loop, (void)revents;
  ares_process_fd(ch->c, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  rearm(ch);
}

/* c-ares opened, changed or is closing one of its sockets; own_socket made its watcher. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable) {
  chan_t *ch = data;
  struct green__dns *d = ch->dns;
  struct ev_loop *loop = d->hub->loop;
  int events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  dns_sock_t **pp = &d->socks, *s;
  while ((s = *pp) && s->io.fd != fd) pp = &s->next;
  if (s) {
    if (events == (s->io.events & (EV_READ | EV_WRITE))) return;
    ev_io_stop(loop, &s->io);
  }
  if (!s || !events) return; /* a socket is watched from own_socket to own_close */
  ev_io_set(&s->io, fd, events);
  ev_io_start(loop, &s->io);
}

/* Whether the lookup order c-ares read (nsswitch.conf, host.conf) leaves DNS out. */
static int files_only(ares_channel channel) {
  struct ares_options o;
  int mask, r;
  if (ares_save_options(channel, &o, &mask) != ARES_SUCCESS) return 0;
  r = (mask & ARES_OPT_LOOKUPS) && o.lookups && !strchr(o.lookups, 'b');
  ares_destroy_options(&o);
  return r;
}

/* "timeout:N" and "attempts:N" among resolver options (glibc's limits: 30 s, 5 tries). */
static void parse_options(const char *p, struct ares_options *o, int *mask) {
  while (p && *p) {
    int n;
    p += strspn(p, " \t\n");
    if (sscanf(p, "timeout:%d", &n) == 1) {
      o->timeout = 1000 * (n < 1 ? 1 : n > 30 ? 30 : n);
      *mask |= ARES_OPT_TIMEOUTMS;
    } else if (sscanf(p, "attempts:%d", &n) == 1) {
      o->tries = n < 1 ? 1 : n > 5 ? 5 : n;
      *mask |= ARES_OPT_TRIES;
    }
    p += strcspn(p, " \t\n");
  }
}

/* c-ares 1.18 reads resolv.conf's search, ndots and servers, but not its timeout and attempts
 * options. Those are read here, as glibc does: from /etc/resolv.conf, then RES_OPTIONS. */
static void timeouts_from_config(struct ares_options *o, int *mask) {
  char line[512];
  FILE *f = fopen("/etc/resolv.conf", "re");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "options", 7) == 0 && (line[7] == ' ' || line[7] == '\t'))
      parse_options(line + 8, o, mask);
  if (f) fclose(f);
  parse_options(getenv("RES_OPTIONS"), o, mask);
}

/* c-ares's sockets are the runtime's: made at a high number (ownfd.h), closed as such.
 * c-ares makes them non-blocking only when it makes them itself. Each socket comes with its
 * watcher. Without memory for one, c-ares gets no socket and ends the query at once (or tries
 * the next server). An unwatched socket would instead wait out its timeouts. */
static ares_socket_t own_socket(int domain, int type, int protocol, void *data) {
  chan_t *ch = data;
  dns_sock_t *s = malloc(sizeof *s);
  int fd;
  if (!s) {
    ch->dns->socket_nomem = 1;
    return ARES_SOCKET_BAD;
  }
  fd = green__ownfd_move(socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (fd < 0) {
    free(s);
    return ARES_SOCKET_BAD;
  }
  ev_io_init(&s->io, io_cb, fd, 0);
  s->io.data = ch;
  s->next = ch->dns->socks;
  ch->dns->socks = s;
  return fd;
}

static int own_close(ares_socket_t fd, void *data) {
  chan_t *ch = data;
  dns_sock_t **pp = &ch->dns->socks, *s;
  while ((s = *pp) && s->io.fd != fd) pp = &s->next;
  if (s) {
    ev_io_stop(ch->dns->hub->loop, &s->io);
    *pp = s->next;
    free(s);
  }
  return green__ownfd_close(fd);
}

static int own_connect(ares_socket_t fd, const struct sockaddr *a, ares_socklen_t len, void *data) {
  (void)data;
  return connect(fd, a, len);
}

static ares_ssize_t own_recvfrom(ares_socket_t fd, void *buf, size_t n, int flags,
                                 struct sockaddr *from, ares_socklen_t *len, void *data) {
  (void)data;
  return recvfrom(fd, buf, n, flags, from, len);
}

static ares_ssize_t own_sendv(ares_socket_t fd, const struct iovec *iov, int cnt, void *data) {
  (void)data;
  return writev(fd, iov, cnt);
}

static const struct ares_socket_functions own_sockets = {own_socket, own_close, own_connect,
                                                         own_recvfrom, own_sendv};

/* One channel; `lookups` ("b": DNS only) or NULL for the configured order. 0 or -errno. */
static int chan_init(struct green__dns *d, chan_t *ch, char *lookups) {
  struct ares_options o;
  const char *servers = getenv("GREEN_DNS_SERVERS");
  int mask = ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | (lookups ? ARES_OPT_LOOKUPS : 0), status;
  memset(&o, 0, sizeof o);
  o.flags = ARES_FLAG_STAYOPEN;
  o.sock_state_cb = sock_state_cb;
  o.sock_state_cb_data = ch;
  o.lookups = lookups;
  ch->dns = d;
  ev_init(&ch->timer, timer_cb);
  timeouts_from_config(&o, &mask);
  if (ares_init_options(&ch->c, &o, mask) != ARES_SUCCESS) return -ENOMEM;
  ares_set_socket_functions(ch->c, &own_sockets, ch);
  status = servers && *servers ? ares_set_servers_ports_csv(ch->c, servers) : ARES_SUCCESS;
  if (status != ARES_SUCCESS) {
    ares_destroy(ch->c);
    if (status == ARES_ENOMEM) return -ENOMEM;
    return -EINVAL; /* a malformed GREEN_DNS_SERVERS: say so rather than ask someone else */
  }
  d->nchans++;
  return 0;
}

static void chan_destroy(chan_t *ch) {
  ares_destroy(ch->c); /* runs the pending callbacks, closes the sockets */
  if (ev_is_active(&ch->timer)) ev_timer_stop(ch->dns->hub->loop, &ch->timer);
}

static int channels_init(struct green__dns *d) {
  int r;
  if ((r = chan_init(d, &d->chans[0], NULL)) < 0) return r;
  d->files_only = files_only(d->chans[0].c);
  if (d->files_only || !(d->hosts = green__dns_hosts_new())) return 0;
  if ((r = chan_init(d, &d->chans[1], "b")) < 0) chan_destroy(&d->chans[0]);
  return r;
}

/* The hub is going away: free its channels, cache and buffers. Pending queries end without
 * waking anyone. */
static void dns_destroy(struct green__hub *h, green__hub_teardown_t *t) {
  struct green__dns *d = green__container_of(t, struct green__dns, teardown);
  dns_sock_t *s;
  int i;
  d->destroying = 1;
  for (i = 0; i < d->nchans; i++) chan_destroy(&d->chans[i]);
  while ((s = d->socks)) {
    d->socks = s->next;
    ev_io_stop(h->loop, &s->io);
    free(s);
  }
  green__dns_hosts_free(d->hosts);
  green__dns_cache_free(d->cache);
  free(d->static_buf);
  free(d);
  h->dns = NULL;
}

/* The hub's channel, created on first use; 0 or -errno. */
static int dns_get(struct green__hub *h, struct green__dns **out) {
  struct green__dns *d = h->dns;
  int r;
  if (green__likely(d != NULL)) {
    *out = d;
    return 0;
  }
  pthread_once(&library_once, library_init);
  if (library_status != ARES_SUCCESS) return -ENOMEM;
  if (!(d = calloc(1, sizeof *d))) return -ENOMEM;
  d->hub = h;
  green__list_init(&d->throttled);
  if ((r = channels_init(d)) < 0) {
    green__dns_hosts_free(d->hosts);
    free(d);
    return r;
  }
  d->cache = green__dns_cache_new();
  green__hub_on_destroy(h, &d->teardown, dns_destroy);
  *out = h->dns = d;
  return 0;
}

void *green__dns_static_buffer(struct green__hub *h, size_t n) {
  struct green__dns *d;
  void *p;
  if (dns_get(h, &d) < 0) return NULL;
  if (n <= d->static_len) return d->static_buf;
  if (!(p = realloc(d->static_buf, n))) return NULL;
  d->static_len = n;
  return d->static_buf = p;
}

/* ---- queries ---------------------------------------------------------------------------- */

static int eai_of(int status, int *err) {
  switch (status) {
  case ARES_SUCCESS: return 0;
  case ARES_ENOTFOUND: case ARES_ENONAME: case ARES_EBADNAME: return EAI_NONAME;
  case ARES_ENODATA: return EAI_NODATA;
  case ARES_ESERVFAIL: case ARES_ETIMEOUT: case ARES_ECONNREFUSED: case ARES_EOF:
    return EAI_AGAIN;
  case ARES_EFORMERR: case ARES_ENOTIMP: case ARES_EREFUSED: case ARES_EBADRESP:
  case ARES_EBADQUERY: return EAI_FAIL;
  case ARES_EBADFAMILY: return EAI_FAMILY;
  case ARES_ENOMEM: return EAI_MEMORY;
  case ARES_ECANCELLED: case ARES_EDESTRUCTION: *err = -ECANCELED; return EAI_SYSTEM;
  default: *err = -EIO; return EAI_SYSTEM;
  }
}

/* Whether nobody waits for q's answer any more: its callback frees it. */
static int abandoned(const query_t *q) { return green__list_empty(&q->waiters) && !q->submitting; }

static void query_free(query_t *q) {
  green__dns_answer_release(q->answer);
  free(q);
}

/* The end of every callback: hand the answer to the waiting greenlet, or drop it. */
/* A query's slot passes to the first greenlet waiting for one, or becomes free. */
static void release_slot(struct green__dns *d) {
  if (!green__list_empty(&d->throttled) && !d->destroying)
    green__wake(d->hub, green__container_of(d->throttled.next, green_t, wait_link), 0);
  else
    d->pending--;
}

static void complete(query_t *q, int status) {
  struct green__dns *d = q->dns;
  release_slot(d);
  if (d->destroying || abandoned(q)) {
    if (!d->destroying) d->abandoned--;
    query_free(q);
    return;
  }
  if (status == ARES_SUCCESS && !q->answer) status = ARES_ENOMEM;
  if (d->socket_nomem && status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
      status != ARES_ENODATA && status != ARES_ECANCELLED)
    status = ARES_ENOMEM; /* c-ares says the server failed: it had no socket to ask it */
  d->socket_nomem = 0;
  q->status = status;
  q->done = 1;
  if (!green__list_empty(&q->waiters))
    green__wake(d->hub, green__container_of(q->waiters.next, green_t, wait_link), 0);
}

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  query_t *q = arg;
  (void)timeouts;
  if (status == ARES_SUCCESS && !q->dns->destroying && !abandoned(q))
    q->answer = answer_from_addrinfo(res);
  ares_freeaddrinfo(res);
  complete(q, status);
}

static void hostent_cb(void *arg, int status, int timeouts, struct hostent *he) {
  query_t *q = arg;
  (void)timeouts;
  if (status == ARES_SUCCESS && !q->dns->destroying && !abandoned(q))
    q->answer = answer_from_hostent(he, q->addr, q->family);
  complete(q, status);
}

/* Take one of the GREEN_DNS_MAX_INFLIGHT slots, waiting for it when all are taken. A
 * finishing query hands its slot straight to the first waiter, so nobody overtakes the
 * queue. 0 or -errno. */
static int take_slot(struct green__hub *h, struct green__dns *d, const char *name) {
  if (d->pending < GREEN_DNS_MAX_INFLIGHT) {
    d->pending++;
    return 0;
  }
  green__list_push_back(&d->throttled, &h->current->wait_link);
  return green__park(h, GREEN_WAIT_DNS, name, INFINITY, 1);
}

/* A query on ch in the slot the caller holds; NULL (the slot given back) when out of
 * memory. */
static query_t *query_new(struct green__dns *d, chan_t *ch) {
  query_t *q = calloc(1, sizeof *q);
  if (!q) {
    release_slot(d);
    return NULL;
  }
  q->dns = d;
  q->chan = ch;
  green__list_init(&q->waiters);
  q->submitting = 1;
  return q;
}

/* Park until q's callback has run. On success the caller owns q; otherwise q is abandoned
 * to its callback and -ECANCELED or -ETIMEDOUT is returned. name: the name looked up, for
 * dumps (NULL for a reverse lookup). */
static int await(struct green__hub *h, query_t *q, const char *name) {
  struct green__dns *d = q->dns;
  int r = 0;
  q->submitting = 0;
  if (!q->done && !ev_is_active(&q->chan->timer)) {
    ev_now_update(h->loop); /* the timer counts from libev's time, stale while we ran */
    rearm(q->chan);
  }
  while (!q->done && !r) {
    green__list_push_back(&q->waiters, &h->current->wait_link);
    r = green__park(h, GREEN_WAIT_DNS, name, INFINITY, 1);
  }
  if (q->done) return 0;
  if (++d->abandoned == d->pending) { /* nobody waits for any answer: stop them all */
    int i;
    for (i = 0; i < d->nchans; i++) {
      ares_cancel(d->chans[i].c);
      rearm(&d->chans[i]);
    }
  }
  return r;
}

/* Collect a finished query: its EAI_* code, its answer to *out. Frees q. */
static int collect(query_t *q, green__dns_answer_t **out, int *err) {
  /* c-ares reports a hosts-file miss with no DNS to ask as ECONNREFUSED */
  int r = (q->dns->files_only && q->status == ARES_ECONNREFUSED) ? EAI_NONAME
                                                                   : eai_of(q->status, err);
  if (!r) {
    *out = q->answer;
    q->answer = NULL;
  }
  query_free(q);
  return r;
}

int green__dns_lookup(struct green__hub *h, const char *name, int family,
                      green__dns_answer_t **out, int *err) {
  struct ares_addrinfo_hints hints;
  struct green__dns *d;
  chan_t *ch;
  query_t *q;
  int r, status;
  if ((r = dns_get(h, &d)) < 0 || (r = green__may_block(h->current)) < 0) goto fail;
  if (d->cache && green__dns_cache_get(d->cache, name, family, green_now(), &status, out))
    return status;
  if ((r = take_slot(h, d, name)) < 0) goto fail;
  ch = &d->chans[d->nchans > 1 && !green__dns_hosts_may_have(d->hosts, name, green_now())];
  if (!(q = query_new(d, ch))) return EAI_MEMORY;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_flags = ARES_AI_CANONNAME | ARES_AI_NOSORT; /* dns_sort.c sorts, when it matters */
  ares_getaddrinfo(ch->c, name, NULL, &hints, addrinfo_cb, q);
  if ((r = await(h, q, name)) < 0) goto fail;
  status = collect(q, out, err);
  if (d->cache && (status == 0 || status == EAI_NONAME || status == EAI_NODATA))
    green__dns_cache_put(d->cache, name, family, green_now(), status, status ? NULL : *out);
  return status;
fail:
  if (r == -ENOMEM) return EAI_MEMORY;
  *err = r;
  return EAI_SYSTEM;
}

int green__dns_reverse(struct green__hub *h, const void *addr, int family,
                       green__dns_answer_t **out, int *err) {
  struct green__dns *d;
  query_t *q;
  int r;
  if ((r = dns_get(h, &d)) < 0 || (r = green__may_block(h->current)) < 0 ||
      (r = take_slot(h, d, NULL)) < 0)
    goto fail;
  if (!(q = query_new(d, &d->chans[0]))) return EAI_MEMORY;
  q->addr = addr;
  q->family = family;
  ares_gethostbyaddr(d->chans[0].c, addr, family == AF_INET ? 4 : 16, family, hostent_cb, q);
  if ((r = await(h, q, NULL)) < 0) goto fail;
  return collect(q, out, err);
fail:
  if (r == -ENOMEM) return EAI_MEMORY;
  *err = r;
  return EAI_SYSTEM;
}
