/* archbench public API: what a scenario or a device sees.
 *
 * A scenario is written once as roles joined by channels and registers, owning devices
 * (see DESIGN.md). Nothing here says whether a role is a thread, a process or a callback on
 * an event loop: the runtime chooses, the scenario cannot tell. Every call returns 0 (or a
 * byte count) on success and a negative errno on failure, like libuv.
 */
#ifndef AB_H
#define AB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AB_MAX_ROLES 16
#define AB_MAX_CHANS 16
#define AB_MAX_REGS 8
#define AB_MAX_METRICS 24
#define AB_MAX_COUNTERS 24
#define AB_MAX_DEVS 4
#define AB_MAX_REQS 12
#define AB_MAX_PARAMS 16
#define AB_MAX_INSTANCES 100000 /* role instances in one run, all roles together */

#define AB_NS_PER_US 1000LL
#define AB_NS_PER_MS 1000000LL
#define AB_NS_PER_S 1000000000LL

/* Exit codes of the CLI (DESIGN.md). */
enum { AB_EXIT_OK = 0, AB_EXIT_FAIL = 1, AB_EXIT_USAGE = 2, AB_EXIT_RESOURCE = 3, AB_EXIT_INTR = 130 };

static inline int64_t ab_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * AB_NS_PER_S + ts.tv_nsec;
}

static inline struct timespec ab_ts(int64_t ns)
{
  struct timespec ts = { (time_t)(ns / AB_NS_PER_S), (long)(ns % AB_NS_PER_S) };
  return ts;
}

typedef struct ab_ctx ab_ctx_t; /* one role's view of the run */

/* ---- descriptors: what a scenario declares ------------------------------------------- */

enum ab_policy { AB_BLOCK = 0, AB_DROP = 1 }; /* when `depth` messages are in flight */
enum ab_chan_flags { AB_CHAN_BULK = 1 };     /* large payloads: may go by shared memory */

typedef struct ab_chan_desc {
  const char *name;
  int from, to;      /* role indices */
  size_t msg_max;    /* largest payload in bytes */
  unsigned depth;    /* messages in flight before the policy applies */
  int policy;        /* AB_BLOCK or AB_DROP (drops the message being sent) */
  unsigned flags;
} ab_chan_desc_t;

typedef struct ab_reg_desc {
  const char *name;
  size_t size; /* bytes, rounded up to 8 internally */
} ab_reg_desc_t;

/* The device kinds, one line each: hw/<name>.c defines ab_<name>_ops (an ab_devops_t, hw.h)
 * and this list gives it its number (AB_DEV_<NAME>, from 1) and its place in the table
 * (hw/devices.c). */
#define AB_DEVICES(X) X(SERIAL, serial) X(CAMERA, camera) X(FRANKA, franka) X(INSTRUMENT, instrument) X(AUDIO, audio)
#define AB__DEV_ENUM(up, low) AB_DEV_##up,
enum ab_dev_kind { AB_DEV_NONE = 0, AB_DEVICES(AB__DEV_ENUM) AB_DEV_N };

typedef struct ab_dev_desc {
  const char *name;
  int kind;  /* enum ab_dev_kind */
  int owner; /* role index: the only role that opens it */
} ab_dev_desc_t;

enum ab_role_flags { AB_ROLE_CPU = 1, AB_ROLE_IO = 2 };
#define AB_STEP_WAIT_DEV 1

typedef struct ab_role_desc {
  const char *name;
  int64_t period_ns; /* > 0: periodic at this period */
  int trigger;       /* channel index that triggers the role, or -1 */
  int continuous;    /* 1: steps back to back through the window, as a worker's loop does
                      * (neither periodic nor triggered); on the loop runtime, between events */
  int on_device;     /* 1: also woken when its device fd is readable (calls .io) */
  int (*init)(ab_ctx_t *ctx);  /* in the role's own thread/process, before the barrier */
  /* One activation: a period, or one message ready on `trigger`. Returns 0, a negative
   * errno (fails the run), or AB_STEP_WAIT_DEV: the step needs its device, which is not
   * ready; the runtime calls .io once its fd is readable, blocking no other role (on the
   * loop the fd goes into epoll until then). */
  int (*step)(ab_ctx_t *ctx);
  /* Device fd readable: roles with on_device, and a step that asked (may ask again). */
  int (*io)(ab_ctx_t *ctx);
  void (*fini)(ab_ctx_t *ctx); /* after the run, before resources are measured */
  /* enum ab_role_flags. Under pool and hybrid a continuous role flagged AB_ROLE_CPU is
   * "pooled": its steps are tasks run by worker processes (hybrid: its waits and .io by a
   * thread pool in the supervisor's process); every other role is a thread there. */
  unsigned flags;
  /* The instance's portable state (ab_state): what a pool copies to a worker with each step
   * and back with its result, as Python's pool pickles an agent. A pooled role keeps all it
   * changes between steps here; what init puts in ab_priv is read-only after (a worker sees
   * a copy made when it started). 0: none. */
  size_t state_size;
  /* NULL: one instance. Else the name of an AB_P_INT parameter (min >= 1): the role runs
   * that many instances, each with its index (ab_instance). A channel from an instanced role
   * fans in (its receiver takes every instance's messages); a channel to one fans out, one
   * queue per receiving instance (ab_send_to addresses one, or AB_ALL). An instanced role
   * owns no device. Its metrics are kept per instance, sparsely, and merged into the role's. */
  const char *instances;
} ab_role_desc_t;

typedef struct ab_metric_desc {
  const char *name; /* e.g. "inner.lateness_ns" */
} ab_metric_desc_t;

enum ab_req_op { AB_LE = 1, AB_LT, AB_GE, AB_EQ };

typedef struct ab_req_desc {
  /* "inner.lateness_ns.p999" (a metric's statistic), a counter ("inner.missed_periods") or
   * a derived value the scenario sets in finish ("vision.rate"). A figure without data (an
   * empty metric, a role that never ran, a value never set) fails the requirement. */
  const char *name;
  int op;
  double limit;      /* a fixed limit, or ... */
  const char *limit_param; /* ... taken from this param (after scaling by `limit_scale`) */
  double limit_scale;
} ab_req_desc_t;

enum ab_param_type { AB_P_DURATION = 1, AB_P_SIZE, AB_P_INT, AB_P_DOUBLE, AB_P_ENUM };

typedef struct ab_param_desc {
  const char *name;
  int type;          /* enum ab_param_type */
  const char *def;   /* default, as the user would type it ("10ms", "6MB", "4") */
  double min, max;   /* range in base units (ns, bytes, count) */
  const char *choices; /* AB_P_ENUM: "a|b|c" */
  const char *help;
} ab_param_desc_t;

/* A claim of the scenario's source document and the figure that checks it; every result
 * carries its scenario's claims, with the measured figure where the run is one the claim
 * is about, for the report's claims table. */
enum ab_claim_sense { AB_ABOUT = 0, AB_AT_MOST, AB_AT_LEAST, AB_RANGE };

typedef struct ab_claim {
  const char *id;     /* "gil_efficiency_10" */
  const char *says;   /* the document's words, short */
  double doc;         /* its number, in unit (the low end of a range) */
  const char *unit;   /* "ratio", "MB", "us", "ms", "%", "x" */
  /* What measures it: a requirement-style name (a value, "metric.p50", a counter),
   * "pss_mb_per:<role>" (the run's PSS over that role's instances), "micro:<benchmark>"
   * (a micro-benchmark's per-op time, in micro.json), or "ratio_to:<arch>:<figure>" (this
   * run's figure, recorded as "here", over the same figure of the run that differs only in
   * its runtime): the report joins those two. "micro_ratio:<a>:<b>" is a's per-op time over
   * b's. A micro figure is in ns, converted to a time unit; with any other unit it is
   * multiplied by `scale` (100 messages/s at t ns each: unit "%", scale 1e-5). */
  const char *figure;
  /* The runs it is about, tokens all of which must hold: "arch=threads" (the runtime),
   * "gil" or "nogil", "<param>=<value>". Empty: every run. */
  const char *when;
  int sense;          /* enum ab_claim_sense: how the report judges measured against doc */
  double doc_hi;      /* AB_RANGE: the high end */
  double scale;       /* see figure; 0: 1 */
} ab_claim_t;

/* The claims of a workload whose scenario is not built yet: the report lists them, measured
 * where a micro-benchmark can, else as "not measured yet" by that scenario. */
typedef struct ab_claim_set {
  const char *scenario; /* the scenario that will measure them */
  const char *source;   /* its document */
  const ab_claim_t *claims; int nclaims;
} ab_claim_set_t;
extern const ab_claim_set_t ab_claims_pending[]; /* ends with a NULL scenario */

typedef struct ab_run ab_run_t; /* the whole run, as seen by scenario set-up */

typedef struct ab_scenario {
  const char *name;
  const char *summary;
  const char *source;      /* the design document it reproduces ("seeds/000_....txt"), or NULL */
  const char *unavailable; /* non-NULL: built without what it needs, and why */
  const ab_role_desc_t *roles; int nroles;
  const ab_chan_desc_t *chans; int nchans;
  const ab_reg_desc_t *regs; int nregs;
  const ab_dev_desc_t *devs; int ndevs;
  const ab_metric_desc_t *metrics; int nmetrics;
  const char *const *counters; int ncounters;
  const char *const *values; int nvalues; /* derived figures, set in finish (doubles) */
  const ab_claim_t *claims; int nclaims;   /* its source document's, and what checks each */
  const ab_req_desc_t *reqs; int nreqs;
  const ab_param_desc_t *params; int nparams;
  unsigned archs; /* mask of (1 << enum ab_arch) supported */
  /* The loop runtime's offload variants a run of it makes unless --offload says
   * ("inline,executor,thread,process"); NULL: inline only. Offloaded are the roles triggered
   * by a channel, flagged AB_ROLE_CPU and owning no device (a policy, a detector). */
  const char *offloads;
  /* A sweep's report draws this figure against the point, one line per architecture
   * ("robot.violations"); NULL: the rate's (table_rate), efficiency and memory. */
  const char *sweep_figure;
  /* What the summary table shows: the lateness of this periodic role, this chain metric. */
  const char *table_role;
  const char *table_chain;
  const char *table_chain_lost; /* counter: chains that never completed, shown beside it */
  const char *table_rate;       /* a value shown as the table's rate/s ("agents.steps_per_s") */
  const char *table_count;      /* ... and the counter it rests on ("agent.steps") */
  /* An enum param of the mock that makes a different experiment of the same runtime (the
   * instrument's mode): its value names result files (instrument.threads.mode=serial.json)
   * and labels runs in tables and the report ("threads mode=serial"), unless a real device
   * is given (whose behaviour it does not set). NULL: none. */
  const char *file_param;
  /* Its part of the bench profile (archbench bench, make bench); zero: every runtime and
   * transport once, with the defaults. */
  struct {
    int skip;                   /* not in the profile (a tool's scenario) */
    const char *sweep;          /* a --sweep for it ("n=1,10,50") */
    int gil_too;                /* each run again under --gil */
    const char *transports;     /* procs with these transports only ("shm") */
    int64_t duration_ns;        /* its runs' length unless --duration is given */
    const char *each;           /* an enum param: the profile once per choice of it ("mode") */
  } bench;
  /* The stop, as the scenario's own shutdown does it: the roles have stop_grace_ns after the
   * window to return (0: the runtime's default, 10 s for threads and the loop, 5 s for
   * processes); one that has not is then terminated (a process killed, a thread left behind
   * as a daemon thread is) and the run goes on to finish, which reports it (a role's fini
   * that never ran). 0: such a role fails the run. */
  int64_t stop_grace_ns;
  /* In the supervisor, after params are parsed and before anything is spawned: calibrate
   * kernels (recorded with ab_calib_set) and size channels from params. May be NULL. */
  int (*setup)(ab_run_t *run);
  /* In the supervisor after the roles have stopped: derived counters, checks. May be NULL. */
  int (*finish)(ab_run_t *run);
} ab_scenario_t;

/* The runtimes, one line each: harness/runtime_<name>.c defines ab_rt_<name> (an
 * ab_runtime_t), and this list gives it its number (AB_ARCH_<NAME>) and its place in the
 * table (harness/runtimes.c). Adding a runtime is that file and one line here. */
#define AB_RUNTIMES(X) X(THREADS, threads) X(PROCS, procs) X(LOOP, loop) X(POOL, pool) X(HYBRID, hybrid)
#define AB__ARCH_ENUM(up, low) AB_ARCH_##up,
#define AB__ARCH_BIT(up, low) | (1u << AB_ARCH_##up)
enum ab_arch { AB_RUNTIMES(AB__ARCH_ENUM) AB_ARCH_N };
#define AB_ARCHS_ALL (0u AB_RUNTIMES(AB__ARCH_BIT)) /* every runtime this build has */
/* The runtimes that give every role a thread, a process or the loop of its own: every
 * scenario runs under them. pool and hybrid need a pooled role (a continuous one flagged
 * AB_ROLE_CPU), and the descriptor check refuses a scenario that offers them without. */
#define AB_ARCHS_DEDICATED ((1u << AB_ARCH_THREADS) | (1u << AB_ARCH_PROCS) | (1u << AB_ARCH_LOOP))
#define AB_ARCHS_POOLED ((1u << AB_ARCH_POOL) | (1u << AB_ARCH_HYBRID))

/* ---- set-up calls (supervisor, from scenario->setup) --------------------------------- */

/* Parameter value in base units (ns, bytes, count); the enum index for AB_P_ENUM. */
double ab_param(const ab_run_t *run, const char *name);
const char *ab_param_str(const ab_run_t *run, const char *name);
/* Resize a channel's largest message (e.g. frame size from the camera geometry). */
int ab_run_chan_size(ab_run_t *run, int chan, size_t msg_max);
/* The CPUs the roles may run on: those of --cpus, else every online one. */
int ab_run_ncpus(const ab_run_t *run);
/* The run's requested measured duration and the serial link's configured baud. */
int64_t ab_run_duration(const ab_run_t *run);
/* The measured window as it was (shorter than asked when interrupted); after the run. */
int64_t ab_run_window(const ab_run_t *run);
/* When the roles' window ended (CLOCK_MONOTONIC): its planned end, or the stop if sooner. */
int64_t ab_run_end_time(const ab_run_t *run);
int ab_run_serial_baud(const ab_run_t *run);
/* How many instances role `role` has in this run (from its parameter). */
int ab_run_instances(const ab_run_t *run, int role);
/* Set a periodic role's period (declared periodic with a non-zero period_ns). */
int ab_run_period(ab_run_t *run, int role, int64_t period_ns);
/* Calibrate the compute kernel for ab_compute (once; recorded as compute.iters_per_us). */
int ab_run_kernel(ab_run_t *run);
/* Record a calibration figure into the result ("vision.detect_ns": 3.9e6). */
void ab_calib_set(ab_run_t *run, const char *key, double value);
void ab_calib_str(ab_run_t *run, const char *key, const char *value);
/* A calibration figure recorded so far (ab_calib_set), or NaN. */
double ab_run_calib(const ab_run_t *run, const char *key);
/* The kernel ab_run_kernel calibrated, for work timed outside any role (set-up). */
const struct ab_kernel *ab_run_kernel_of(const ab_run_t *run);
/* Scenario-private state, shared by all roles (in shared memory for procs), zeroed. */
void *ab_run_shared(ab_run_t *run, size_t size);
/* A service of the scenario's own (a mock database) in a helper process, started in set-up:
 * not a role, so not in the architecture's costs; stopped at the end of the run whatever
 * happens. It keeps only the descriptors in keep (its sockets). 0 or -errno. */
int ab_run_helper(ab_run_t *run, const char *name, int (*main)(void *arg), void *arg, const int *keep, int nkeep);
/* Instance inst of role's portable state (ab_state) as the run left it (finish), or NULL. */
const void *ab_run_state(const ab_run_t *run, int role, int inst);
/* The CPU time (user + system, s) role r's instances used over the window (finish). */
double ab_run_role_cpu_s(const ab_run_t *run, int role);
/* Counter and metric totals after the run (finish): merged over roles. */
int64_t ab_run_counter(const ab_run_t *run, int counter);
/* A figure as a requirement names it ("policy.rtt_ns.p50", a counter, a value): 0 with *v,
 * or -ENOENT (no such figure, or an empty metric). Finish. */
int ab_run_figure(const ab_run_t *run, const char *name, double *v);
void ab_run_counter_set(ab_run_t *run, int counter, int64_t value);
void ab_run_value_set(ab_run_t *run, int value, double v);
/* Activations of a periodic role due in the window: the ones that ran and the ones closed
 * as missed at the stop. */
int64_t ab_run_due(const ab_run_t *run, int role);
/* Fail the run with a message (finish or setup). */
void ab_run_fail(ab_run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Device handle as prepared by the supervisor (camera geometry, serial backend). */
void *ab_run_dev(ab_run_t *run, int dev);

/* ---- role calls (inside step/init/io) ------------------------------------------------ */

/* Send a copy of buf. t_chain: when the chain this message belongs to began (0: now). To a
 * channel whose receiver has several instances, it goes to the instance of the sender's own
 * index modulo their number (instance 0 from a role of one instance). */
int ab_send(ab_ctx_t *ctx, int chan, const void *buf, size_t len, int64_t t_chain);
/* The same to receiving instance `to`, or to each of them (AB_ALL: returns the first
 * error, else 1 if any copy was dropped, else 0). -EINVAL for an index out of range. */
#define AB_ALL (-1)
int ab_send_to(ab_ctx_t *ctx, int chan, int to, const void *buf, size_t len, int64_t t_chain);
/* Write a message in place: returns a buffer of at least `len` bytes (a shared-memory slot
 * where the transport has one, else a staging buffer) to fill, then ab_send_end. */
void *ab_send_begin(ab_ctx_t *ctx, int chan, size_t len);
int ab_send_end(ab_ctx_t *ctx, int chan, size_t len, int64_t t_chain);
/* Receive one message: returns a pointer valid until ab_recv_done (in place where possible).
 * Non-blocking inside a step triggered by `chan`; returns NULL with *err = -EAGAIN if none. */
typedef struct ab_msg {
  uint64_t seq;
  int64_t t_sent, t_chain;
  uint32_t len;
} ab_msg_t;
const void *ab_recv(ab_ctx_t *ctx, int chan, ab_msg_t *msg, int *err);
void ab_recv_done(ab_ctx_t *ctx, int chan);

/* Registers: latest-value cells. load returns the version (0: never stored). */
void ab_store(ab_ctx_t *ctx, int reg, const void *val);
uint64_t ab_load(ab_ctx_t *ctx, int reg, void *val);

/* Metrics (histograms) and counters, preallocated: no malloc, no I/O. */
void ab_record(ab_ctx_t *ctx, int metric, int64_t value);
void ab_count(ab_ctx_t *ctx, int counter, int64_t n);

/* The role's device handle (opened by the runtime before init) and its pollable fd. */
void *ab_dev(ab_ctx_t *ctx);
int ab_role_index(const ab_ctx_t *ctx);
/* This instance's index among its role's (0 for a role of one instance), and how many
 * instances role `role` has. */
int ab_instance(const ab_ctx_t *ctx);
int ab_instances(const ab_ctx_t *ctx, int role);
/* Intended start of the current periodic activation (for chain timestamps). */
int64_t ab_intended(const ab_ctx_t *ctx);
/* Scenario-private shared state (see ab_run_shared). */
void *ab_shared(ab_ctx_t *ctx);
/* Per-role private pointer for the scenario. */
void **ab_priv(ab_ctx_t *ctx);
/* This instance's portable state (the role's state_size bytes, zeroed at the start), or NULL
 * without one. Under pool it is the copy travelling with the task. */
void *ab_state(ab_ctx_t *ctx);
double ab_ctx_param(const ab_ctx_t *ctx, const char *name);
int ab_stopping(const ab_ctx_t *ctx);
/* Fail the run from inside a role (any process): the message goes into the result, every
 * role is told to stop. Returns -EIO so a step can `return ab_fail(...)`. */
int ab_fail(ab_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- compute and blocking, through the context ------------------------------------------
 * A runtime can wrap what a role does here: hold a GIL model's lock while it computes and
 * release it while it blocks, account the time, inject a fault. The harness marks its own
 * waits (a period's sleep, a channel receive, a device wait) and the device I/O of hw/; a
 * scenario marks a blocking call of its own with ab_block_begin/end. */

/* About `ns` of calibrated real work (the run's kernel, calibrated by ab_run_kernel in
 * set-up), in slices a runtime may interleave. Returns a checksum, or 0 after failing the
 * run if no kernel was calibrated. */
double ab_compute(ab_ctx_t *ctx, int64_t ns);
/* A blocking call: nothing is computed between begin and end. Pairs nest; the outermost
 * one counts. */
void ab_block_begin(ab_ctx_t *ctx);
void ab_block_end(ab_ctx_t *ctx);
/* About `ns` of calibrated work inside a blocking section: what a C call that releases the
 * GIL computes (numpy, a native inference runtime). Without a GIL model, ab_compute's. */
double ab_compute_nogil(ab_ctx_t *ctx, int64_t ns);
/* A step (or .io) whose work goes on once fd is readable returns this: .io is called then,
 * and meanwhile no other role waits (on the loop the fd joins the epoll set). */
int ab_step_wait_fd(ab_ctx_t *ctx, int fd);
/* Sleep ns (clock_nanosleep, as Python's time.sleep): a blocking call. */
void ab_sleep(ab_ctx_t *ctx, int64_t ns);
/* The role's device kind (enum ab_dev_kind), AB_DEV_NONE if it owns none. */
int ab_dev_kind(const ab_ctx_t *ctx);

/* ---- compute: calibrated real work (harness/compute.c) ------------------------------- */

/* Dense matrix-vector products with normalisation over a private working set: real
 * arithmetic the compiler cannot remove. Calibrate once, then ab_compute_ns burns about
 * `ns` of CPU on this machine. */
typedef struct ab_kernel {
  double iters_per_us; /* measured */
  int64_t calib_ns;    /* how long calibration took */
} ab_kernel_t;
int ab_compute_calibrate(ab_kernel_t *k);
double ab_compute_iters(uint64_t iters); /* returns a checksum so the work is kept */
double ab_compute_ns(const ab_kernel_t *k, int64_t ns);

#endif
