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
//
// It is cheap per connection, because on 2 CPUs it shares the machine with
// the receiver it measures, and one thread at 95 % of a CPU set the pace
// for every receiver (docs/performance.md). Its cost is nearly all kernel
// work (user space is under 3 %), so it makes as few system calls as a
// client can and still do the same on the wire: socket, connect, send,
// epoll_ctl, recv, close (6; was 9: no setsockopt, no wait for writable
// and epoll_ctl MOD, no recv that only finds EAGAIN or EOF). What a
// receiver sees is unchanged: the same packets in the same order
// (SYN, ACK, the request in one segment, the client's FIN after the
// answer), which `tcpdump -i lo` counts confirm. Each choice:
//   - No TCP_NODELAY: the request is one write on an idle connection, which
//     Nagle's algorithm sends at once (it only holds a small segment while
//     an earlier one is unacknowledged); the FIN is not held either.
//   - The request is sent right after connect(): on loopback the handshake
//     runs inside the connecting call (both ends' TCP in its softirq and the
//     socket's backlog at release), so the socket is established when
//     connect() returns EINPROGRESS. The segments are the same as when it
//     was sent on the first EPOLLOUT; it leaves earlier. If the send finds
//     the handshake unfinished (EAGAIN), it waits for EPOLLOUT as before.
//   - Edge-triggered epoll, registered once (EPOLLIN | EPOLLRDHUP, and
//     EPOLLOUT only when the send had to wait): no EPOLL_CTL_MOD, and a
//     short recv means the queue is drained (a later segment raises a new
//     edge), so no recv just to meet EAGAIN.
//   - EOF known from EPOLLRDHUP: when the event says the server's FIN is
//     in, everything before it is queued too, so the recv that returns
//     less than the buffer has read the whole answer and the recv that
//     would return 0 is skipped. The client's close still sends a FIN (the
//     answer was read in full, so not a reset). A receiver that sends its
//     answer and its FIN in one segment costs the client one wakeup and one
//     recv; one that sends them apart costs two of each, as it costs any
//     client: that difference is the receiver's, and the same code reads
//     every receiver.
//   - No SO_LINGER (a zero linger would reset, not close), no TCP Fast Open
//     (the request would ride on the SYN): both change what a receiver sees.
//   - CLOCK_MONOTONIC twice per connection stays: through the vDSO it is no
//     system call, and a coarser clock (4 ms ticks) would blur p99.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

// Opens one connection and sends the request if the handshake is done.
// 0 when it is registered, -1 on an error (errno set).
static int open_one(int ep, struct conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  c->fd = fd;
  c->sent = 0;
  c->got = 0;
  c->start = now();
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  // Established already (loopback): the request goes now. EAGAIN: not yet,
  // wait for EPOLLOUT. Anything else (refused) shows as EPOLLERR below.
  ssize_t w = send(fd, req, req_len, MSG_NOSIGNAL);
  if (w == (ssize_t)req_len) c->sent = 1;
  uint32_t want = EPOLLIN | EPOLLRDHUP | EPOLLET | (c->sent ? 0 : EPOLLOUT);
  struct epoll_event ev = {.events = want, .data.ptr = c};
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
  static char buf[65536];
  while (done < n) {
    int k = epoll_wait(ep, evs, 64, 10000);
    if (k == 0) { fprintf(stderr, "loadgen: stalled for 10 s\n"); break; }
    for (int i = 0; i < k; i++) {
      struct conn *c = evs[i].data.ptr;
      uint32_t e = evs[i].events;
      int finished = 0, good = 0;
      if (!c->sent && (e & EPOLLOUT)) {
        ssize_t w = send(c->fd, req, req_len, MSG_NOSIGNAL);
        if (w == (ssize_t)req_len) c->sent = 1;
        else if (w >= 0 || errno != EAGAIN) finished = 1;
      }
      if (!finished && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        // The server's FIN is in: what is queued is the rest of the answer.
        int fin = (e & (EPOLLRDHUP | EPOLLHUP)) != 0;
        for (;;) {
          ssize_t r = recv(c->fd, buf, sizeof buf, 0);
          if (r > 0) {
            if (c->got < 16) {
              int m = r < 16 - c->got ? r : 16 - c->got;
              memcpy(c->head + c->got, buf, m);
              c->got += m;
            }
            if (r == (ssize_t)sizeof buf) continue; // more may be queued
            if (!fin) break;                         // drained; the next edge says more
            r = 0;                                   // read up to the FIN
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
