// A neutral connection-rate load generator for bench/listen.sh and
// bench/relay.sh: neither ppctl nor one of the peers it is compared with.
//
// Per connection: non-blocking connect to 127.0.0.1:PORT, send an optional
// PROXY header and `GET / HTTP/1.1` with `Connection: close` in one write,
// read until the server closes, check that the answer starts with
// "HTTP/1.x 200". Latency = connect() to EOF. One thread, epoll, at most C
// connections open at a time, N in all.
//
//   cc -O2 -o loadgen bench/loadgen.c
//   loadgen PORT N C [v1|v2|none]
//
// Prints one line: "conn_per_s p50_ms p99_ms ok total".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  int sent;
  int got;      // bytes of the answer kept (first 16 only)
  char head[16];
  double start;
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char req[256];
static size_t req_len;
static struct sockaddr_in addr;

static int open_one(int ep, struct conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->sent = 0;
  c->got = 0;
  c->start = now();
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT N C [v1|v2|none]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long n = atol(argv[2]);
  int conc = atoi(argv[3]);
  const char *mode = argc > 4 ? argv[4] : "v1";
  const char *get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (!strcmp(mode, "v1")) {
    req_len = snprintf(req, sizeof req, "PROXY TCP4 192.0.2.1 127.0.0.1 1234 %d\r\n%s", port, get);
  } else if (!strcmp(mode, "v2")) {
    static const unsigned char sig[] = "\r\n\r\n\0\r\nQUIT\n";
    memcpy(req, sig, 12);
    unsigned char *h = (unsigned char *)req + 12;
    h[0] = 0x21; h[1] = 0x11; h[2] = 0; h[3] = 12;
    unsigned char body[12] = {192, 0, 2, 1, 127, 0, 0, 1, 1234 >> 8, 1234 & 255, port >> 8, port & 255};
    memcpy(h + 4, body, 12);
    req_len = 28 + snprintf(req + 28, sizeof req - 28, "%s", get);
  } else {
    req_len = snprintf(req, sizeof req, "%s", get);
  }
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc(conc, sizeof *conns);
  double *lat = calloc(n, sizeof *lat);
  long started = 0, done = 0, ok = 0;
  double t0 = now();
  for (int i = 0; i < conc && started < n; i++, started++)
    if (open_one(ep, &conns[i]) < 0) { perror("connect"); return 1; }
  struct epoll_event evs[64];
  char buf[65536];
  while (done < n) {
    int k = epoll_wait(ep, evs, 64, 10000);
    if (k == 0) { fprintf(stderr, "loadgen: stalled for 10 s\n"); break; }
    for (int i = 0; i < k; i++) {
      struct conn *c = evs[i].data.ptr;
      int finished = 0, good = 0;
      if (!c->sent && (evs[i].events & EPOLLOUT)) {
        ssize_t w = send(c->fd, req, req_len, MSG_NOSIGNAL);
        if (w != (ssize_t)req_len) finished = 1;
        else {
          c->sent = 1;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (!finished && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        for (;;) {
          ssize_t r = recv(c->fd, buf, sizeof buf, 0);
          if (r > 0) {
            if (c->got < 16) {
              int m = r < 16 - c->got ? r : 16 - c->got;
              memcpy(c->head + c->got, buf, m);
              c->got += m;
            }
            continue;
          }
          if (r == 0) {
            finished = 1;
            good = c->got >= 12 && !memcmp(c->head, "HTTP/1.", 7) && !memcmp(c->head + 9, "200", 3);
          } else if (errno != EAGAIN) {
            finished = 1;
          }
          break;
        }
      }
      if (finished) {
        lat[done++] = now() - c->start;
        ok += good;
        close(c->fd);
        if (started < n) {
          started++;
          if (open_one(ep, c) < 0) { perror("connect"); return 1; }
        }
      }
    }
  }
  double el = now() - t0;
  qsort(lat, done, sizeof *lat, cmp);
  double p50 = done ? lat[done / 2] * 1e3 : 0, p99 = done ? lat[(long)(done * 0.99)] * 1e3 : 0;
  printf("%.0f %.2f %.2f %ld %ld\n", done / el, p50, p99, ok, n);
  return ok == n ? 0 : 1;
}
