// A neutral TLS handshake-rate load generator for bench/tls.sh: neither
// ppctl nor the peer it is compared with (OpenSSL's client, as curl uses).
//
// Per connection: non-blocking connect to 127.0.0.1:PORT, write a 28-byte
// PROXY v2 header (PROXY TCP4, source 203.0.113.x, x cycling 1-254), then a
// full TLS 1.3 handshake with SNI (no session reuse: a fresh SSL object per
// connection, client session cache off, so no PSK is ever offered), then
// `GET / HTTP/1.1`, `Host: SNI`, `Connection: close`, read until the server
// closes (close_notify or TCP FIN), check that the answer starts with
// "HTTP/1.x 200". The certificate is not verified (both servers present
// the same one), but the server's CertificateVerify signature is checked
// by OpenSSL as TLS 1.3 requires. Latency = connect() to end of reply.
// THREADS threads, each with its own epoll and C/THREADS connections open
// at a time; N connections in all, and none started after SECS seconds.
//
//   cc -O2 -o tls-loadgen bench/tls-loadgen.c -lssl -lcrypto -lpthread
//   tls-loadgen PORT N C [THREADS [SECS [SNI]]]
//
// Prints one line: "conn_per_s p50_ms p99_ms max_ms ok done errors
// tickets_per_conn" (done = connections finished; errors = done - ok;
// NewSessionTicket messages received per connection, counted and
// thrown away). Exit 0 when every
// connection started got its 200.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum stage { CONNECTING, HANDSHAKE, WRITING, READING };

struct conn {
  int fd;
  SSL *ssl;
  enum stage stage;
  int got;  // bytes of the answer kept (first 16 only)
  char head[16];
  double start;
};

struct worker {
  pthread_t thread;
  int conc;
  double *lat;  // latencies of finished connections
  long done, ok, cap;
  char first_error[160];
};

static SSL_CTX *ctx;
static struct sockaddr_in addr;
static const char *sni = "localhost";
static char get[256];
static size_t get_len;
static int port;
static long total;
static atomic_long started;
static atomic_long seq;
static atomic_long tickets;  // NewSessionTicket messages received
static double deadline;

// Count the server's session tickets as they arrive (a fairness check:
// both servers send theirs); they are never stored or used.
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                       void *arg) {
  (void)version;
  (void)ssl;
  (void)arg;
  if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
    atomic_fetch_add(&tickets, 1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// Claim the next connection, or 0 when the count or the time is used up.
static int claim(void) {
  if (now() > deadline) return 0;
  long n = atomic_fetch_add(&started, 1);
  if (n >= total) {
    atomic_fetch_sub(&started, 1);
    return 0;
  }
  return 1;
}

static void watch(int ep, struct conn *c, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(ep, op, c->fd, &ev);
}

static int open_one(int ep, struct conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->ssl = NULL;
  c->stage = CONNECTING;
  c->got = 0;
  c->start = now();
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  watch(ep, c, EPOLL_CTL_ADD, EPOLLOUT);
  return 0;
}

// Which way the SSL call wants to wait; -1 on failure.
static int want(struct conn *c, int r, struct worker *w) {
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) return EPOLLIN;
  if (e == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
  if (!w->first_error[0]) {
    unsigned long q = ERR_peek_error();
    snprintf(w->first_error, sizeof w->first_error, "stage %d: SSL error %d: %s", c->stage, e,
             q ? ERR_reason_error_string(q) : strerror(errno));
  }
  ERR_clear_error();
  return -1;
}

// Move a connection on; returns 1 when it is finished (good or not).
static int step(int ep, struct conn *c, struct worker *w, int *good) {
  int r;
  switch (c->stage) {
    case CONNECTING: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        if (!w->first_error[0]) snprintf(w->first_error, sizeof w->first_error, "connect: %s", strerror(err));
        return 1;
      }
      long x = atomic_fetch_add(&seq, 1) % 254 + 1;
      unsigned char h[28] = {'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
                             0x21, 0x11, 0, 12, 203, 0, 113, (unsigned char)x, 127, 0, 0, 1,
                             (unsigned char)(40000 >> 8), (unsigned char)(40000 & 255),
                             (unsigned char)(port >> 8), (unsigned char)(port & 255)};
      if (send(c->fd, h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h) return 1;
      c->ssl = SSL_new(ctx);
      SSL_set_fd(c->ssl, c->fd);
      SSL_set_tlsext_host_name(c->ssl, sni);
      SSL_set_connect_state(c->ssl);
      c->stage = HANDSHAKE;
    }  // fall through
    case HANDSHAKE:
      r = SSL_do_handshake(c->ssl);
      if (r != 1) {
        int ev = want(c, r, w);
        if (ev < 0) return 1;
        watch(ep, c, EPOLL_CTL_MOD, ev);
        return 0;
      }
      c->stage = WRITING;
      // fall through
    case WRITING:
      r = SSL_write(c->ssl, get, get_len);
      if (r <= 0) {
        int ev = want(c, r, w);
        if (ev < 0) return 1;
        watch(ep, c, EPOLL_CTL_MOD, ev);
        return 0;
      }
      c->stage = READING;
      // fall through
    case READING: {
      char buf[16384];
      for (;;) {
        r = SSL_read(c->ssl, buf, sizeof buf);
        if (r > 0) {
          if (c->got < 16) {
            int m = r < 16 - c->got ? r : 16 - c->got;
            memcpy(c->head + c->got, buf, m);
            c->got += m;
          }
          continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          watch(ep, c, EPOLL_CTL_MOD, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
          return 0;
        }
        // close_notify (ZERO_RETURN) or a TCP FIN without one (SYSCALL /
        // SSL: unexpected eof): the reply is over either way.
        ERR_clear_error();
        *good = c->got >= 12 && !memcmp(c->head, "HTTP/1.", 7) && !memcmp(c->head + 9, "200", 3);
        if (!*good && !w->first_error[0])
          snprintf(w->first_error, sizeof w->first_error, "reply: %.*s (SSL error %d)", c->got, c->head, e);
        return 1;
      }
    }
  }
  return 1;
}

static void *run(void *arg) {
  struct worker *w = arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc(w->conc, sizeof *conns);
  int open = 0;
  for (int i = 0; i < w->conc && claim(); i++, open++)
    if (open_one(ep, &conns[i]) < 0) { perror("connect"); exit(1); }
  struct epoll_event evs[64];
  while (open > 0) {
    int k = epoll_wait(ep, evs, 64, 10000);
    if (k == 0) {
      fprintf(stderr, "tls-loadgen: stalled for 10 s\n");
      break;
    }
    for (int i = 0; i < k; i++) {
      struct conn *c = evs[i].data.ptr;
      int good = 0;
      if (!step(ep, c, w, &good)) continue;
      if (w->done == w->cap) {
        w->cap *= 2;
        w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
      }
      w->lat[w->done++] = now() - c->start;
      w->ok += good;
      if (c->ssl) SSL_free(c->ssl);
      close(c->fd);
      open--;
      if (claim()) {
        if (open_one(ep, c) < 0) { perror("connect"); exit(1); }
        open++;
      }
    }
  }
  close(ep);
  free(conns);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: tls-loadgen PORT N C [THREADS [SECS [SNI]]]\n");
    return 2;
  }
  port = atoi(argv[1]);
  total = atol(argv[2]);
  int conc = atoi(argv[3]);
  int threads = argc > 4 ? atoi(argv[4]) : 1;
  double secs = argc > 5 ? atof(argv[5]) : 60;
  if (argc > 6) sni = argv[6];
  if (threads < 1) threads = 1;
  if (conc < threads) conc = threads;
  get_len = snprintf(get, sizeof get, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", sni);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_msg_callback(ctx, on_message);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);

  struct worker *ws = calloc(threads, sizeof *ws);
  double t0 = now();
  deadline = t0 + secs;
  for (int i = 0; i < threads; i++) {
    ws[i].conc = conc / threads + (i < conc % threads);
    ws[i].cap = 1024;
    ws[i].lat = malloc(ws[i].cap * sizeof *ws[i].lat);
    pthread_create(&ws[i].thread, NULL, run, &ws[i]);
  }
  long done = 0, ok = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ws[i].thread, NULL);
    done += ws[i].done;
    ok += ws[i].ok;
  }
  double el = now() - t0;
  double *lat = malloc((done ? done : 1) * sizeof *lat);
  long at = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(lat + at, ws[i].lat, ws[i].done * sizeof *lat);
    at += ws[i].done;
    if (ws[i].first_error[0]) fprintf(stderr, "tls-loadgen: first error: %s\n", ws[i].first_error);
  }
  qsort(lat, done, sizeof *lat, cmp);
  double p50 = done ? lat[done / 2] * 1e3 : 0, p99 = done ? lat[(long)(done * 0.99)] * 1e3 : 0;
  double max = done ? lat[done - 1] * 1e3 : 0;
  printf("%.0f %.2f %.2f %.2f %ld %ld %ld %.2f\n", done / el, p50, p99, max, ok, done, done - ok,
         done ? (double)atomic_load(&tickets) / done : 0);
  return ok == done && done == atomic_load(&started) ? 0 : 1;
}
