/*
 * The gateway benchmark's load generator: one process, one thread, epoll, holding every
 * subscriber socket. Written in C because a Node client parsing frames saturated its core
 * before the servers did (issue 6): this one only walks websocket frame headers and counts
 * event markers with memmem, so the servers, not the client, set the delivered rate. It
 * still reports its own CPU, so a saturated generator stays visible in the results.
 *
 * usage: loadgen <kind> <port> <count> <groups> <path> [<first message>]
 *   kind     corral | uws | ws | nats: what marks an event and when a client is ready
 *   path     request path; "%d" is replaced by the client's group (0..groups-1)
 *   message  sent as one masked text frame once the upgrade is answered; "%d" as above
 * Client i is in group i % groups. stdin takes "reset [sampleEvery]", "report", "target <pos>" (answered once every
 * client has seen that position, or at once when one was closed short of it), "behind <pos>", "exit";
 * stdout answers with one JSON line each ({"ready":true} once every client is subscribed).
 *
 * Counting: corral/uws/ws frames hold one or more `{"op":"event"` objects (a JSON array when
 * batched); nats websocket frames carry a byte stream of NATS protocol operations, parsed
 * across frame boundaries, one event per MSG. Latency: every sampleEvery-th frame, now minus
 * the last `"t":<ms epoch>` in it (the publisher's hand-over time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind { CORRAL, UWS, WS, NATS };
enum state { UPGRADING, SUBSCRIBING, OPEN, CLOSED };

typedef struct {
  int fd;
  int group;
  enum state state;
  unsigned char *buf; /* unconsumed bytes: partial handshake or partial frame */
  size_t len, cap;
  unsigned char *nats; /* nats: unconsumed protocol bytes carried across frames */
  size_t nlen, ncap;
  uint64_t events, frames;
  uint64_t last_pos; /* corral: position of the newest event seen */
  uint64_t lagged;   /* corral: `lagged` notices received */
  int close_code;    /* the server's close frame code; 0: none (the connection dropped) */
} conn_t;

static enum kind kind;
static int port, count, groups;
static const char *path_template, *message_template;
static conn_t *conns;
static double *samples;
static size_t nsamples;
static const size_t max_samples = 200000;
static uint64_t sample_every = 1, frame_counter;
static uint64_t total_bytes;
static struct timespec reset_wall;
static struct rusage reset_usage;

static const char EVENT_MARK[] = "{\"op\":\"event\"";
static const char POS_MARK[] = "\"pos\":";
static const char LAGGED_MARK[] = "\"op\":\"lagged\"";
static uint64_t target_pos;
static int target_set;
static const char TIME_MARK[] = "\"t\":";

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void reserve(unsigned char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t next = *cap ? *cap : 65536;
  while (next < need) next *= 2;
  *buf = realloc(*buf, next);
  if (!*buf) die("out of memory");
  *cap = next;
}

static void write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue; /* small control frames only: spin is fine */
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

/* One masked client frame (RFC 6455 5.3: clients must mask). */
static void send_frame(conn_t *c, int opcode, const char *payload, size_t n) {
  unsigned char header[14];
  size_t h = 0;
  header[h++] = 0x80 | (unsigned char)opcode;
  if (n < 126) header[h++] = 0x80 | (unsigned char)n;
  else if (n < 65536) {
    header[h++] = 0x80 | 126;
    header[h++] = (unsigned char)(n >> 8);
    header[h++] = (unsigned char)n;
  } else {
    header[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) header[h++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  uint32_t key = (uint32_t)rand();
  memcpy(header + h, &key, 4);
  unsigned char *mask = header + h;
  h += 4;
  unsigned char *out = malloc(h + n);
  memcpy(out, header, h);
  for (size_t i = 0; i < n; i++) out[h + i] = (unsigned char)payload[i] ^ mask[i % 4];
  write_all(c->fd, out, h + n);
  free(out);
}

static void format_group(char *out, size_t size, const char *template, int group) {
  const char *at = strstr(template, "%d");
  if (!at) {
    snprintf(out, size, "%s", template);
    return;
  }
  snprintf(out, size, "%.*s%d%s", (int)(at - template), template, group, at + 2);
}

static void start_connection(conn_t *c, int epfd) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) die("socket");
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char path[4096], request[8192];
  format_group(path, sizeof path, path_template, c->group);
  int n = snprintf(request, sizeof request,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path, port);
  write_all(c->fd, request, (size_t)n);
  /* non-blocking only after the blocking connect and request: reads never block the loop */
  if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
}

static double last_time(const unsigned char *p, size_t n) {
  /* the last `"t":` in the frame: the newest event's hand-over time */
  for (size_t i = n; i >= sizeof TIME_MARK - 1; i--) {
    size_t at = i - (sizeof TIME_MARK - 1);
    if (p[at] == '"' && memcmp(p + at, TIME_MARK, sizeof TIME_MARK - 1) == 0) {
      char number[32];
      size_t k = 0, j = at + sizeof TIME_MARK - 1;
      while (j < n && k < sizeof number - 1 && ((p[j] >= '0' && p[j] <= '9') || p[j] == '.')) number[k++] = (char)p[j++];
      number[k] = 0;
      return k ? strtod(number, NULL) : -1;
    }
  }
  return -1;
}

static void sample(const unsigned char *p, size_t n) {
  if (++frame_counter % sample_every != 0 || nsamples >= max_samples) return;
  double t = last_time(p, n);
  if (t > 0) samples[nsamples++] = now_ms() - t;
}

/* Counts events; *last points at the newest event's marker (NULL when none). */
static uint64_t count_marks(const unsigned char *p, size_t n, const unsigned char **last) {
  uint64_t found = 0;
  const unsigned char *end = p + n;
  *last = NULL;
  while (p < end) {
    const unsigned char *at = memmem(p, (size_t)(end - p), EVENT_MARK, sizeof EVENT_MARK - 1);
    if (!at) break;
    found++;
    *last = at;
    p = at + sizeof EVENT_MARK - 1;
  }
  return found;
}

/* The event's own position: the first `"pos":` after its marker (`"sub"` comes before it and is a JSON string). */
static uint64_t event_position(const unsigned char *event, const unsigned char *end) {
  const unsigned char *at = memmem(event, (size_t)(end - event), POS_MARK, sizeof POS_MARK - 1);
  if (!at) return 0;
  uint64_t value = 0;
  for (at += sizeof POS_MARK - 1; at < end && *at >= '0' && *at <= '9'; at++) value = value * 10 + (uint64_t)(*at - '0');
  return value;
}

static int ready_count;

static void mark_ready(conn_t *c) {
  if (c->state == OPEN) return;
  c->state = OPEN;
  ready_count++;
}

/* NATS protocol bytes of one connection: MSG <subject> <sid> [reply] <size>\r\n<payload>\r\n, PING, PONG, INFO, +OK, -ERR. */
static void nats_bytes(conn_t *c, const unsigned char *p, size_t n) {
  reserve(&c->nats, &c->ncap, c->nlen + n);
  memcpy(c->nats + c->nlen, p, n);
  c->nlen += n;
  size_t at = 0;
  const unsigned char *last_payload = NULL;
  size_t last_size = 0;
  for (;;) {
    unsigned char *line = c->nats + at;
    unsigned char *eol = memmem(line, c->nlen - at, "\r\n", 2);
    if (!eol) break;
    size_t line_len = (size_t)(eol - line);
    if (line_len >= 4 && memcmp(line, "MSG ", 4) == 0) {
      /* the size is the last field of the line */
      size_t k = line_len;
      while (k > 0 && line[k - 1] != ' ') k--;
      size_t size = strtoul((const char *)line + k, NULL, 10);
      size_t need = line_len + 2 + size + 2;
      if (c->nlen - at < need) break; /* payload not complete yet */
      last_payload = line + line_len + 2;
      last_size = size;
      c->events++;
      at += need;
      continue;
    }
    if (line_len >= 4 && memcmp(line, "PING", 4) == 0) send_frame(c, 1, "PONG\r\n", 6);
    else if (line_len >= 4 && memcmp(line, "PONG", 4) == 0) mark_ready(c);
    else if (line_len >= 4 && memcmp(line, "-ERR", 4) == 0) fprintf(stderr, "loadgen: nats: %.*s\n", (int)line_len, line);
    at += line_len + 2;
  }
  if (last_payload) sample(last_payload, last_size);
  memmove(c->nats, c->nats + at, c->nlen - at);
  c->nlen -= at;
}

static void on_payload(conn_t *c, int opcode, const unsigned char *p, size_t n) {
  if (opcode == 9) { /* ping */
    send_frame(c, 10, (const char *)p, n);
    return;
  }
  if (opcode == 8) {
    c->state = CLOSED;
    c->close_code = n >= 2 ? (p[0] << 8) | p[1] : 1005;
    return;
  }
  if (opcode == 10) return;
  if (kind == NATS) {
    if (c->state == OPEN) c->frames++;
    nats_bytes(c, p, n);
    return;
  }
  if (c->state == SUBSCRIBING) {
    if (memmem(p, n, "\"op\":\"subscribed\"", 17)) mark_ready(c);
    else if (memmem(p, n, "\"op\":\"error\"", 12)) {
      fprintf(stderr, "loadgen: subscribe refused: %.*s\n", (int)(n > 300 ? 300 : n), p);
      exit(3);
    }
    return;
  }
  const unsigned char *last = NULL;
  uint64_t events = count_marks(p, n, &last);
  if (events == 0) {
    if (memmem(p, n, LAGGED_MARK, sizeof LAGGED_MARK - 1)) c->lagged++;
    return;
  }
  c->events += events;
  c->frames++;
  uint64_t position = event_position(last, p + n);
  if (position > c->last_pos) c->last_pos = position;
  sample(p, n);
}

/* Consumes complete frames from c->buf; keeps a partial one for the next read. */
static void parse_frames(conn_t *c) {
  size_t at = 0;
  while (c->len - at >= 2) {
    const unsigned char *h = c->buf + at;
    int opcode = h[0] & 0x0f;
    int masked = h[1] & 0x80;
    uint64_t n = h[1] & 0x7f;
    size_t header = 2;
    if (n == 126) {
      if (c->len - at < 4) break;
      n = ((uint64_t)h[2] << 8) | h[3];
      header = 4;
    } else if (n == 127) {
      if (c->len - at < 10) break;
      n = 0;
      for (int i = 0; i < 8; i++) n = (n << 8) | h[2 + i];
      header = 10;
    }
    if (masked) header += 4; /* servers do not mask; tolerate it by skipping the key */
    if (c->len - at < header + n) {
      reserve(&c->buf, &c->cap, header + n); /* room for the whole frame (moved to the front below) */
      break;
    }
    on_payload(c, opcode, c->buf + at + header, (size_t)n);
    at += header + (size_t)n;
  }
  memmove(c->buf, c->buf + at, c->len - at);
  c->len -= at;
}

static void on_upgrade_bytes(conn_t *c) {
  unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!end) return;
  if (c->len < 12 || memcmp(c->buf + 9, "101", 3) != 0) {
    fprintf(stderr, "loadgen: upgrade refused: %.*s\n", (int)(c->len > 300 ? 300 : c->len), c->buf);
    exit(3);
  }
  size_t rest = c->len - (size_t)(end + 4 - c->buf);
  memmove(c->buf, end + 4, rest);
  c->len = rest;
  if (message_template) {
    char message[4096];
    format_group(message, sizeof message, message_template, c->group);
    /* nats takes \r\n inside the text: the template carries them as the two characters \r\n */
    char unescaped[4096];
    size_t k = 0;
    for (size_t i = 0; message[i] && k < sizeof unescaped - 1; i++) {
      if (message[i] == '\\' && message[i + 1] == 'r') unescaped[k++] = '\r', i++;
      else if (message[i] == '\\' && message[i + 1] == 'n') unescaped[k++] = '\n', i++;
      else unescaped[k++] = message[i];
    }
    send_frame(c, 1, unescaped, k);
    c->state = SUBSCRIBING;
  } else {
    mark_ready(c);
  }
  if (c->len) parse_frames(c);
}

static void on_readable(conn_t *c) {
  for (int round = 0; round < 4; round++) {
    reserve(&c->buf, &c->cap, c->len + 65536);
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      c->state = CLOSED;
      return;
    }
    if (n == 0) {
      c->state = CLOSED;
      return;
    }
    total_bytes += (uint64_t)n;
    c->len += (size_t)n;
    if (c->state == UPGRADING) on_upgrade_bytes(c);
    else parse_frames(c);
    if ((size_t)n < 65536) return; /* drained */
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void reset(uint64_t every) {
  for (int i = 0; i < count; i++) conns[i].events = conns[i].frames = 0;
  nsamples = 0;
  frame_counter = 0;
  total_bytes = 0;
  sample_every = every ? every : 1;
  clock_gettime(CLOCK_MONOTONIC, &reset_wall);
  getrusage(RUSAGE_SELF, &reset_usage);
  printf("{\"reset\":true}\n");
  fflush(stdout);
}

static void report(void) {
  uint64_t events = 0, frames = 0, min_events = UINT64_MAX;
  int closed = 0;
  for (int i = 0; i < count; i++) {
    events += conns[i].events;
    frames += conns[i].frames;
    if (conns[i].events < min_events) min_events = conns[i].events;
    if (conns[i].state == CLOSED) closed++;
  }
  struct timespec wall;
  clock_gettime(CLOCK_MONOTONIC, &wall);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double wall_ms = (wall.tv_sec - reset_wall.tv_sec) * 1e3 + (wall.tv_nsec - reset_wall.tv_nsec) / 1e6;
  double cpu_ms = (usage.ru_utime.tv_sec - reset_usage.ru_utime.tv_sec + usage.ru_stime.tv_sec - reset_usage.ru_stime.tv_sec) * 1e3 +
                  (usage.ru_utime.tv_usec - reset_usage.ru_utime.tv_usec + usage.ru_stime.tv_usec - reset_usage.ru_stime.tv_usec) / 1e3;
  qsort(samples, nsamples, sizeof *samples, compare);
  double p50 = nsamples ? samples[(size_t)(nsamples * 0.5)] : -1;
  double p99 = nsamples ? samples[(size_t)(nsamples * 0.99) < nsamples ? (size_t)(nsamples * 0.99) : nsamples - 1] : -1;
  printf("{\"events\":%llu,\"frames\":%llu,\"minEvents\":%llu,\"bytes\":%llu,\"closed\":%d,\"samples\":%zu,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"cpuPercent\":%.1f}\n",
         (unsigned long long)events, (unsigned long long)frames, (unsigned long long)(count ? min_events : 0), (unsigned long long)total_bytes, closed, nsamples,
         p50, p99, wall_ms > 0 ? cpu_ms / wall_ms * 100 : 0);
  fflush(stdout);
}

/* Answers a pending "target" once every client has seen it. */
static void check_target(void) {
  if (!target_set) return;
  uint64_t min_events = UINT64_MAX, max_events = 0;
  int lagged = 0;
  for (int i = 0; i < count; i++) {
    if (conns[i].last_pos < target_pos && conns[i].state == CLOSED) {
      /* it will never get there: say so now rather than leave the caller to time out */
      target_set = 0;
      printf("{\"error\":\"client %d was closed (code %d) at position %llu, before %llu\"}\n", i, conns[i].close_code,
             (unsigned long long)conns[i].last_pos, (unsigned long long)target_pos);
      fflush(stdout);
      return;
    }
    if (conns[i].last_pos < target_pos) return;
    if (conns[i].events < min_events) min_events = conns[i].events;
    if (conns[i].events > max_events) max_events = conns[i].events;
    if (conns[i].lagged) lagged++;
  }
  target_set = 0;
  printf("{\"reached\":%llu,\"minEvents\":%llu,\"maxEvents\":%llu,\"lagged\":%d}\n", (unsigned long long)target_pos, (unsigned long long)min_events,
         (unsigned long long)max_events, lagged);
  fflush(stdout);
}

/* The first few clients short of a position, with their state (for the caller's error message). */
static void behind(uint64_t position) {
  static const char *names[] = {"upgrading", "subscribing", "open", "closed"};
  int shown = 0, total = 0;
  printf("{\"behind\":[");
  for (int i = 0; i < count; i++) {
    if (conns[i].last_pos >= position) continue;
    total++;
    if (shown == 5) continue;
    printf("%s{\"client\":%d,\"state\":\"%s\",\"position\":%llu,\"lagged\":%llu}", shown++ ? "," : "", i, names[conns[i].state],
           (unsigned long long)conns[i].last_pos, (unsigned long long)conns[i].lagged);
  }
  printf("],\"total\":%d}\n", total);
  fflush(stdout);
}

static void on_stdin(void) {
  static char line[256];
  static size_t have;
  ssize_t n = read(0, line + have, sizeof line - 1 - have);
  if (n <= 0) exit(0); /* the benchmark went away */
  have += (size_t)n;
  char *eol;
  while ((eol = memchr(line, '\n', have))) {
    *eol = 0;
    if (strncmp(line, "reset", 5) == 0) reset(strtoull(line + 5, NULL, 10));
    else if (strcmp(line, "report") == 0) report();
    else if (strncmp(line, "target ", 7) == 0) {
      target_pos = strtoull(line + 7, NULL, 10);
      target_set = 1;
      check_target();
    }
    else if (strncmp(line, "behind ", 7) == 0) behind(strtoull(line + 7, NULL, 10));
    else if (strcmp(line, "exit") == 0) exit(0);
    size_t used = (size_t)(eol + 1 - line);
    memmove(line, eol + 1, have - used);
    have -= used;
  }
  if (have == sizeof line - 1) have = 0; /* an over-long line: drop it */
}

/* Every 10 s until all are ready, says on stderr where the clients are (the caller shows stderr when it gives up). */
static void report_slow_start(int started) {
  static time_t since, last;
  time_t now = time(NULL);
  if (!since) since = last = now;
  if (now - last < 10) return;
  last = now;
  int states[4] = {0, 0, 0, 0};
  for (int i = 0; i < started; i++) states[conns[i].state]++;
  fprintf(stderr, "loadgen: %d of %d clients ready after %lld s (%d started; upgrading %d, subscribing %d, closed %d)\n", ready_count, count,
          (long long)(now - since), started, states[UPGRADING], states[SUBSCRIBING], states[CLOSED]);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: loadgen corral|uws|ws|nats <port> <count> <groups> <path> [<first message>]\n");
    return 2;
  }
  kind = strcmp(argv[1], "corral") == 0 ? CORRAL : strcmp(argv[1], "uws") == 0 ? UWS : strcmp(argv[1], "ws") == 0 ? WS : strcmp(argv[1], "nats") == 0 ? NATS : -1;
  if ((int)kind < 0) {
    fprintf(stderr, "loadgen: unknown kind %s\n", argv[1]);
    return 2;
  }
  port = atoi(argv[2]);
  count = atoi(argv[3]);
  groups = atoi(argv[4]);
  path_template = argv[5];
  message_template = argc > 6 ? argv[6] : NULL;
  if (port <= 0 || count <= 0 || groups <= 0) {
    fprintf(stderr, "loadgen: port, count and groups must be positive\n");
    return 2;
  }
  struct rlimit files;
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  srand((unsigned)getpid());
  conns = calloc((size_t)count, sizeof *conns);
  samples = malloc(max_samples * sizeof *samples);
  int epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  struct epoll_event in = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &in);

  struct epoll_event events[1024];
  int started = 0;
  int announced = 0;
  clock_gettime(CLOCK_MONOTONIC, &reset_wall);
  getrusage(RUSAGE_SELF, &reset_usage);
  for (;;) {
    /* connect in waves of at most 200 not-yet-ready clients, so accept queues are not overrun */
    while (started < count && started - ready_count < 200) {
      conns[started].group = started % groups;
      start_connection(&conns[started], epfd);
      started++;
    }
    if (!announced && ready_count == count) {
      announced = 1;
      printf("{\"ready\":true}\n");
      fflush(stdout);
    }
    if (!announced) report_slow_start(started);
    int n = epoll_wait(epfd, events, 1024, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (!c) {
        on_stdin();
        continue;
      }
      if (c->state == CLOSED) continue;
      on_readable(c);
      if (c->state == CLOSED) epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    }
    check_target();
  }
}
