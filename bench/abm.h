/* archbench-micro internals: what every family file in bench/ shares.
 *
 * Most benchmarks price a *link*: some primitive that carries a message (or a bare signal)
 * from the benchmark thread to a peer and back. A family describes its primitive with an
 * abm_link_ops_t (set-up, send, receive, tear-down: a struct of function pointers, as the
 * harness does for its transports) and registers it with abm_register_links; one driver
 * (abm.c) then runs it every way the name says:
 *
 *   <primitive>/<threads|procs>/<rtt|oneway>/<bytes>
 *
 *   threads  the peer is a thread of this process;
 *   procs    the peer is a forked process (PR_SET_PDEATHSIG, named "abm-<primitive>"),
 *            reaped at the end of every run, killed if it does not stop within 2 s;
 *   rtt      send <bytes>, the peer echoes <bytes>: Time is the mean round trip and the
 *            histogram holds every round trip (what `perf bench sched pipe` calls an op);
 *   oneway   paced like rt-tests' pmqtest and ptsematest: stamp, send <bytes>, the peer
 *            (already waiting) stamps on arrival and records the difference, then acks
 *            with a small message; the next send waits for the ack. The histogram holds
 *            the one-way latencies; Time is the whole paced cycle (message and ack).
 *            With --interval=US the peer also sleeps US (relative, CLOCK_MONOTONIC) between
 *            its stamp and its ack, as the rt-tests' receiver does with -i: each message
 *            then finds both sides idle. Such a benchmark is named
 *            <...>/<bytes>/interval_us:<US>/real_time: its iterations are counted in wall
 *            time, as its side mostly sleeps.
 *
 * Every link benchmark reports counters mean_ns, p50_ns, p99_ns, p999_ns and max_ns from an
 * ab_hist_t (one clock read per operation, ab_now_ns), bytes_per_second, and "err" via
 * SkipWithError when the primitive fails.
 */
#ifndef ABM_H
#define ABM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ab.h"
#include "gbench.h"
#include "hist.h"

#define ABM_FRAME (1920 * 1080 * 3) /* 6220800: the robot's raw 1080p RGB frame */
#define ABM_ACK 8                    /* bytes of a oneway ack on primitives that carry bytes */
#define ABM_ACK_ROOM 4096            /* the ack buffer: a register sends its whole size */
#define ABM_SLACK 65536              /* receive buffers: room for one whole fragment more */

enum { ABM_THREADS = 0, ABM_PROCS = 1 };
enum { ABM_RTT = 0, ABM_ONEWAY = 1 };
enum { ABM_BENCH = 0, ABM_PEER = 1 }; /* the two sides; "to side s" names a direction */
#define ABM_ARCH(a) (1u << (a))
#define ABM_MODE(m) (1u << (m))
#define ABM_BOTH_ARCHS (ABM_ARCH(ABM_THREADS) | ABM_ARCH(ABM_PROCS))
#define ABM_BOTH_MODES (ABM_MODE(ABM_RTT) | ABM_MODE(ABM_ONEWAY))

/* The payload sizes of the issue: 8 B, 64 B, 1 KiB, 64 KiB, 1 MiB and the 6.2 MB frame. */
extern const int64_t abm_sizes[];
extern const int abm_nsizes;

/* Shared between the two sides (shared memory, so it works for both archs). */
typedef struct abm_ctl {
  _Alignas(64) uint32_t stop;  /* set by the bench side before its last (kick) message */
  _Alignas(64) int32_t err;    /* the peer's first error, -errno */
  _Alignas(64) int64_t t_sent; /* oneway: the bench side's stamp of the message in flight */
  _Alignas(64) uint64_t recorded; /* oneway: the peer's records so far (release after each) */
  _Alignas(64) ab_hist_t hist; /* oneway: filled by the peer */
} abm_ctl_t;

typedef struct abm_link abm_link_t;

typedef struct abm_link_ops {
  size_t shared_size; /* bytes of zeroed shared memory the primitive wants (l->sh) */
  /* Before the peer starts. bytes: payload toward the peer; back: payload toward the bench
   * side (bytes for rtt, the ack for oneway). Returns 0 or -errno. */
  int (*setup)(abm_link_t *l);
  /* In each side once it runs, before any message (procs: close what it does not use). */
  void (*enter)(abm_link_t *l, int side);
  /* Send n bytes from side `side` to the other one. */
  int (*send)(abm_link_t *l, int side, const void *buf, size_t n);
  /* Receive n bytes at side `side`, into buf (which has n + ABM_SLACK bytes of room) or
   * in place: *data says where they are. */
  int (*recv)(abm_link_t *l, int side, void *buf, size_t n, const void **data);
  /* After the peer is gone. */
  void (*teardown)(abm_link_t *l);
} abm_link_ops_t;

struct abm_link {
  const abm_link_ops_t *ops;
  const void *cfg;  /* the family's per-primitive configuration */
  int procs;
  size_t bytes, back;
  abm_ctl_t *ctl;
  void *sh;         /* ops->shared_size bytes, shared memory */
  int fd[4];        /* the primitive's descriptors, -1 when unused */
  void *priv;       /* the primitive's private state (copied into the peer by fork) */
  struct {          /* per side, each on its own line (threads share this struct) */
    _Alignas(64) uint64_t seen;
    void *tmp;
    size_t tmp_size;
  } side[2];
};

typedef struct abm_link_def {
  const char *name;       /* the primitive: the first part of the benchmark name */
  const abm_link_ops_t *ops;
  const void *cfg;
  unsigned archs, modes;  /* ABM_ARCH(...) | ..., ABM_MODE(...) | ... */
  const int64_t *sizes;   /* payloads; NULL: abm_sizes */
  int nsizes;
  int polls;              /* the receiver only polls: it needs a CPU of its own */
} abm_link_def_t;

void abm_register_links(const abm_link_def_t *defs, int n);

/* Remove what would outlive the process (SysV message queues): async-signal-safe, for the
 * signal handler of archbench-micro. */
void abm_cleanup(void);

/* Where the two sides run (--pin): unpinned, on one CPU, or on two. Set once in main: the
 * bench side is pinned there, a peer pins itself to abm_pin_peer_cpu when it is >= 0. */
enum abm_pin { ABM_PIN_NONE, ABM_PIN_SAME, ABM_PIN_CROSS };
extern enum abm_pin abm_pin;
extern int abm_pin_peer_cpu;

/* --interval: the one-way pacing in microseconds, 0 (back to back) by default. Set once in
 * main before the families register: a paced one-way benchmark carries it as its second
 * argument. */
#define ABM_INTERVAL_MAX_US 1000000
extern int64_t abm_interval_us;

/* ABM_PLANT (bench/plant.c): planted slowdowns for the gate's calibration. Parse the
 * variable's value (NULL: none) before the families register, check after: each returns 0,
 * or 2 after saying what was wrong; the check also reports what is planted. abm_plant_ns
 * is the busy work of one iteration of family/bytes (0: none); abm_plant_spin does it. */
int abm_plant_parse(const char *spec);
int abm_plant_check(void);
int64_t abm_plant_ns(const char *family, int64_t bytes);
void abm_plant_spin(int64_t ns);

/* ---- helpers for family files ------------------------------------------------------------ */

/* A peer: a thread, or a forked process that dies with us. name: "abm-..." (<= 15 chars). */
typedef struct abm_peer {
  int procs;
  pid_t pid;
  pthread_t th;
  int running;
  void (*fn)(void *);
  void *arg;
  char name[16];
} abm_peer_t;

int abm_peer_start(abm_peer_t *p, int procs, const char *name, void (*fn)(void *), void *arg);
/* Wait up to timeout_ns for the peer to end; a process still there is killed. Returns 0,
 * or -ETIMEDOUT (the peer did not stop by itself). */
int abm_peer_join(abm_peer_t *p, int64_t timeout_ns);

/* Page-aligned private memory with every page touched (NULL + errno), and its release. */
void *abm_alloc(size_t n);
void abm_free(void *p, size_t n);
void abm_touch(void *p, size_t n);

/* Counters of a latency histogram: mean_ns, p50_ns, p99_ns, p999_ns, max_ns. */
void abm_report_hist(ab_gb_state_t *st, const ab_hist_t *h);
/* SkipWithError with "what: strerror(-err)". */
void abm_skip(ab_gb_state_t *st, const char *what, int err);

/* Move n bytes at buf in pieces of at most `piece` bytes (0: as they come), calling op for
 * each until all have moved; an empty payload is one call of 0 bytes (an empty message).
 * op returns the bytes it moved (a receive may take a whole message of up to k, and buf
 * has ABM_SLACK bytes of room beyond n), 0 at end of stream, or -1 with errno; EINTR is
 * retried. Returns 0, or -errno (-EPIPE at end of stream, -EPROTO for more than asked). */
typedef ssize_t (*abm_piece_fn)(void *ctx, int side, char *p, size_t k);
int abm_pieces(abm_piece_fn op, void *ctx, int side, void *buf, size_t n, size_t piece);

/* Full reads and writes on blocking descriptors: 0 or -errno (-EPIPE at end of file). */
int abm_write_full(int fd, const void *buf, size_t n);
int abm_read_full(int fd, void *buf, size_t n);

static inline void abm_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

/* The families (bench/<family>.c), expanded into the registration table in micro_main.c. */
#define ABM_FAMILIES(X)                                                                     \
  X(floor) X(sync) X(pipe) X(socket) X(msgq) X(channels) X(registers) X(robot) X(spawn)     \
  X(clock)
#define ABM_DECLARE(n) void abm_register_##n(void);
ABM_FAMILIES(ABM_DECLARE)
#undef ABM_DECLARE
void abm_register_selftest(void);

#endif
