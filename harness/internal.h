/* Harness internals: the run, a role's context, the runtime interface. Not for scenarios.
 *
 * Memory layout of a run: everything the roles write during the run lives in one block
 * from ab_shm_alloc (shared for procs, private otherwise) with no pointers inside that
 * would differ between processes: the control words (stop, barrier, start time), one row
 * of histograms and counters per role, per-role resource figures, the registers, the
 * channels' control blocks and the scenario's shared state. The supervisor merges the rows
 * after the roles stop.
 */
#ifndef AB_INTERNAL_H
#define AB_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ab.h"
#include "chan.h"
#include "gil.h"
#include "hist.h"
#include "hw.h"
#include "reg.h"
#include "shist.h"
#include "shm.h"

#define AB_MAX_MT (AB_MAX_METRICS + 4 * AB_MAX_ROLES + AB_MAX_CHANS) /* with the automatic ones: step,
                               * lateness or a pool's transfer and queue, the GIL's wait; a channel's latency */
#define AB_MAX_CT (AB_MAX_COUNTERS + 3 * AB_MAX_ROLES + 4 * AB_MAX_CHANS)
#define AB_MAX_VALUES 16
#define AB_MAX_FAULTS 4
#define AB_MAX_HELPERS 4
#define AB_MAX_CALIB (24 + AB_MAX_CHANS) /* with a policy note per channel */
#define AB_NAMELEN 48

enum ab_status { AB_ST_OK = 0, AB_ST_PARTIAL, AB_ST_FAILED };

typedef struct ab_res {          /* one role's (or process's) costs over the measured window */
  double cpu_user_s, cpu_sys_s;
  int64_t ctx_vol, ctx_invol;
  int64_t rss_kb, pss_kb;          /* per process, from the snapshot at the end of the window */
  int64_t maxrss_kb;               /* per process: its peak RSS (VmHWM) */
  int32_t pid, tid;
  int32_t valid;
  int32_t apportioned;             /* user/sys split pro rata of a shared thread's, not measured */
} ab_res_t;

/* The memory of every process of the run, read at one instant inside the measured window
 * by the supervisor (the same way under every runtime): a process's shared pages are
 * counted once across the run only if every sharer is read while it is alive. */
typedef struct ab_mem {
  int64_t rss_kb, pss_kb;          /* the last complete snapshot, at the end of the window */
  int64_t rss_peak_kb, pss_peak_kb; /* the largest sums over every snapshot */
  int64_t t_ns;                    /* when the last snapshot was taken (CLOCK_MONOTONIC) */
  int64_t snap_ns;                 /* how long the last one took to read every process */
  int samples;                     /* complete snapshots taken */
  int64_t rt_rss_kb, rt_pss_kb;    /* the last snapshot's runtime processes (rt_pids) */
  int valid;                       /* the last snapshot read every process */
  /* the last snapshot per process: [slot] for instances with a process of their own
   * (slot_pid), [nslots] the supervisor's */
  int64_t *proc_rss_kb, *proc_pss_kb;
} ab_mem_t;

/* Faults injected on purpose (--fault), for the tests: the result lists them. */
enum ab_fault_kind { AB_FAULT_STALL = 1, AB_FAULT_CORRUPT, AB_FAULT_SLOW };
typedef struct ab_fault {
  int kind;
  int target;                      /* role (stall, slow) or channel (corrupt) index */
  uint64_t k;                      /* which activation / received message, from 0 */
  int64_t ns;                      /* stall: how long; slow: how much busy work a step */
  char spec[96];                   /* as given */
} ab_fault_t;

typedef struct ab_ctl {          /* control words, shared */
  uint32_t stop;                 /* futex word too */
  uint32_t ready;                /* instances past init */
  uint32_t go;                   /* futex: 1 when released */
  uint32_t failed_slot_plus1;    /* the first instance that failed the run */
  int64_t t_start, t_end;
  int64_t t_stop;                  /* when the supervisor set stop (0: not yet) */
  ab_res_t res_runtime;            /* the runtime's own work outside every role (loop) */
} ab_ctl_t;

/* One role instance's part of the shared block: how its start went (or why it failed the
 * run), its costs over the window, its activations. */
typedef struct ab_slot {
  int32_t init_err;
  int64_t steps;
  ab_res_t res;
  char init_msg[AB_ERRLEN];
} ab_slot_t;

/* One window of a periodic role's lateness series (series.c): the activations intended in it, the missed
 * periods among them and the largest lateness; every instance, in any process, adds with relaxed atomics. */
#define AB_SERIES_MAX 2000 /* windows of a series, at most */
typedef struct ab_win { int64_t max_ns, count, missed; } ab_win_t;

typedef struct ab_runtime ab_runtime_t;

/* What a runtime (or a layer such as a GIL model) wraps around a role's work: the outermost
 * blocking section's begin and end, and each slice of ab_compute (slice_ns of work; 0: one
 * slice). ctx is NULL for a wait of the runtime's own that belongs to no role (the loop's
 * epoll_wait). Called on the role's own thread. */
typedef struct ab_hooks {
  void (*block)(void *arg, ab_ctx_t *ctx, int begin);
  void (*compute)(void *arg, ab_ctx_t *ctx, int begin);
  void (*leave)(void *arg, ab_ctx_t *ctx); /* the role is done (finish): release what it holds */
  int64_t slice_ns;
  double free;   /* this fraction of each ab_compute runs inside a blocking section, as a
                  * C call that releases the GIL does (numpy's BLAS); 0: none */
  void *arg;
} ab_hooks_t;

typedef struct ab_calib {
  char key[AB_NAMELEN];
  double num;
  char str[64];
  int is_str;
} ab_calib_t;

/* A requirement as evaluated once after the run; the table and the result read this. */
typedef struct ab_req_eval {
  double value, limit;
  int have;                        /* 0: no data (the metric is empty): a failure */
  int pass;
} ab_req_eval_t;

/* The loop runtime's offload variants (DESIGN.md: options of the runtime, not new
 * scenarios): where its offloadable roles run (ab__offloadable). */
enum ab_offload { AB_OFF_INLINE = 0, AB_OFF_EXECUTOR, AB_OFF_THREAD, AB_OFF_PROCESS, AB_OFF_N };
extern const char *const ab_offload_names[AB_OFF_N + 1]; /* "inline", ..., NULL */
int ab_offload_find(const char *name);

struct ab_run {
  const ab_scenario_t *sc;
  const ab_runtime_t *rt;
  void *rt_state;                  /* the runtime's own, rt->state_size bytes */
  int arch;
  const ab_transport_t *transport; /* procs; NULL otherwise */
  const char *transport_name;      /* "shm", "pipe", ... or "ring" for threads/loop */
  int offload;                     /* loop: enum ab_offload */
  uint8_t offloaded[AB_MAX_ROLES]; /* ... role r runs off the loop */
  int executor_threads;            /* ... executor: its pool's size */
  int shared;                      /* procs: the block is shared memory */
  int64_t duration_ns;
  int rt_prio;                     /* SCHED_FIFO priority for periodic roles, 0 = none */
  int latency_target_us;           /* PM QoS via /dev/cpu_dma_latency; < 0: none */
  int latency_fd;                  /* held open for the run */
  char latency_note[96];           /* what the result's env says about it */
  ab_fault_t faults[AB_MAX_FAULTS];
  int nfaults;
  cpu_set_t *cpus;                 /* NULL: no pinning */
  int quiet;
  ab_dev_opts_t devopts;

  /* parameters, resolved */
  double pval[AB_MAX_PARAMS];
  char pstr[AB_MAX_PARAMS][64];
  int pset[AB_MAX_PARAMS];         /* given on the command line */

  ab_calib_t calib[AB_MAX_CALIB];
  int ncalib;
  ab_kernel_t kernel;              /* ab_compute's, once ab_run_kernel calibrated it */
  const ab_hooks_t *hooks;         /* NULL: nothing wraps the roles' work */
  /* the GIL model (--gil, gil.c): one per process; its hooks are run->hooks */
  int gil_on, gil_ready;
  int64_t gil_interval_ns;         /* the switch interval */
  int64_t gil_check_ns;            /* work between two eval-breaker checks */
  double gil_free;                 /* --param gil_free: compute run without the GIL */
  const char *sweep_key, *sweep_value, *sweep_points; /* a sweep's point (the options') */
  int repeat_index, repeat_of;     /* a round of --repeat (the options'); 0: not repeated */
  ab_gil_t gil;
  ab_hooks_t gil_hooks;

  /* the metric and counter tables: automatic ones first, then the scenario's */
  int nmt, nct;
  char mt_name[AB_MAX_MT][AB_NAMELEN];
  char ct_name[AB_MAX_CT][AB_NAMELEN];
  int mt_base, ct_base;            /* where the scenario's own start */
  int mt_lateness[AB_MAX_ROLES], mt_step[AB_MAX_ROLES], mt_chan[AB_MAX_CHANS];
  int mt_gil[AB_MAX_ROLES], ct_gil_forced[AB_MAX_ROLES]; /* with --gil */
  int mt_gil_wake[AB_MAX_ROLES];   /* with --gil on the loop: the take after a wait for events */
  int mt_transfer[AB_MAX_ROLES];   /* a pooled role's task transfer (pool, hybrid), else -1 */
  int mt_queue[AB_MAX_ROLES];      /* ... and its tasks' wait for a free worker */
  int ct_missed[AB_MAX_ROLES], ct_closed[AB_MAX_ROLES], ct_msgs[AB_MAX_CHANS],
      ct_drops[AB_MAX_CHANS], ct_maxdepth[AB_MAX_CHANS], ct_bytes[AB_MAX_CHANS];
  double values[AB_MAX_VALUES];    /* the scenario's derived values (finish) */
  int value_set[AB_MAX_VALUES];

  /* Role instances: slot s is instance slot_inst[s] of role slot_role[s]; role r's are the
   * slots role_first[r] .. role_first[r] + role_n[r] - 1. A role of one instance declared
   * without `instances` keeps a full row of histograms (role_row[r] >= 0); an instanced
   * role's instances keep sparse ones in the pool (sidx). */
  int nslots;
  int role_n[AB_MAX_ROLES], role_first[AB_MAX_ROLES], role_row[AB_MAX_ROLES];
  int *slot_role, *slot_inst;
  int32_t *slot_pid;               /* an instance's own process (procs), else 0 */
  uint8_t *slot_wedged;            /* its thread never returned: it still uses the run, and
                                    * its figures are still being written (left unread) */
  int detail;                      /* per-instance figures in the result */
  /* How long a waiting instance sleeps before it looks at the stop word again: 50 ms, longer
   * with many instances (each look is a wake-up the machine pays: a thousand instances at
   * 50 ms are 20,000 a second), at most 1 s. */
  int64_t slice_ns;
  int workers;                     /* pool, hybrid: worker processes (--param workers) */
  /* Processes of the runtime's own beside the supervisor (a pool's workers), read with the
   * run's memory: [n_rt_pids] */
  pid_t *rt_pids;
  int n_rt_pids;
  ab_res_t res_rt_procs;           /* ... their accounts over the window, summed (join) */

  /* the shared block */
  void *blk;
  size_t blk_size;
  ab_ctl_t *ctl;
  ab_slot_t *slots;                /* [nslots] */
  ab_hist_t *hists;                /* [rows][nmt]: the full rows */
  int64_t *counters;               /* [nslots][nct] */
  uint32_t *sidx;                  /* [nslots][nmt]: sparse histogram headers, 0: none */
  ab_spool_t *spool;               /* the sparse histograms' pages */
  size_t spool_size;
  char *state;                     /* the instances' portable state (ab_state), in the block
                                    * (private memory for a pool: state_private): */
  int state_private;
  size_t state_off[AB_MAX_ROLES], state_size[AB_MAX_ROLES]; /* role r's instance i at
                                    * state + state_off[r] + i * state_size[r] */
  void *scen_shared;
  size_t scen_shared_size;
  pid_t helpers[AB_MAX_HELPERS];   /* the scenario's helper processes (ab_run_helper) */
  int nhelpers;

  size_t chan_size[AB_MAX_CHANS];
  int64_t period[AB_MAX_ROLES];    /* from the descriptor; set-up may change it */
  /* Periodic role r's lateness series: AB_SERIES_MAX windows in the block (NULL: not
   * periodic), of series_w[r] ns each (whole periods), series_n[r] of them spanning the
   * requested duration from ctl->t_start (ab__series_plan, after set-up). */
  ab_win_t *series[AB_MAX_ROLES];
  int64_t series_w[AB_MAX_ROLES];
  int series_n[AB_MAX_ROLES];
  /* Channel k is chan_n[k] queues (one per instance of its receiver) from pchans +
   * chan_first[k]; several sending instances share each (locked). */
  ab_chan_t *pchans;
  uint8_t *pchan_made;
  ab_arena_t arena;                /* the queues' shared memory, when there are many */
  int nphys;
  int chan_first[AB_MAX_CHANS], chan_n[AB_MAX_CHANS];
  ab_reg_t *regs[AB_MAX_REGS];
  void *devstate[AB_MAX_DEVS];
  const ab_devops_t *devops[AB_MAX_DEVS];
  int dev_prepared[AB_MAX_DEVS];

  /* outcome */
  int status;
  char error[512];
  int64_t t_setup0, t_setup1, t_run1, t_teardown1;
  char started_at[32];
  ab_hist_t *merged;               /* [nmt] after the run */
  int64_t *ctotal;                 /* [nct] */
  ab_res_t res_total;              /* the whole run, measured as a whole (not summed) */
  ab_res_t res_super;              /* the supervisor: its thread, or its process (procs) */
  ab_mem_t mem;
  int64_t *mem_scratch_rss, *mem_scratch_pss; /* [nslots + 1], for the snapshot in progress */
  ab_req_eval_t req[AB_MAX_REQS];
  int req_failed;
  int interrupted;
  int mlock_err;                   /* 0: memory locked (mlockall) for the run */
  struct ab_result *result;        /* built once after the requirements (result.h) */
};

/* One role instance's view. */
struct ab_ctx {
  ab_run_t *run;
  int role, slot, inst;            /* its role, its slot in the run, its index in the role */
  const ab_role_desc_t *desc;
  ab_hist_t *hists;                /* this role's row of full histograms, or NULL: */
  uint32_t *sidx;                  /* ... this instance's sparse ones */
  int64_t *counters;
  void *dev;                       /* opened device handle, or NULL */
  int devi;                        /* index of the device it owns, or -1 */
  int dev_fd;
  int64_t intended;
  uint64_t activation;
  uint64_t next_k;                 /* periodic: the next activation on the schedule */
  uint64_t received[AB_MAX_CHANS]; /* messages received, per channel (faults count them) */
  int waiting_dev;                 /* a step asked for its device (AB_STEP_WAIT_DEV) */
  int ep_fd;                       /* loop: the fd of that wait in its epoll set, or -1 */
  int wait_fd;                     /* ... or for this fd (ab_step_wait_fd); -1: its device's */
  ab_res_t res;                    /* loop: this role's callbacks' costs, summed */
  void *priv;
  void *state;                     /* ab_state: the block's, or a pool task's copy */
  /* the trigger message the runtime fetched before calling step */
  int stash_chan;
  ab_msg_t stash_msg;
  const void *stash_data;
  int held[AB_MAX_CHANS];          /* a received message not yet released */
  int blocking;                    /* depth of ab_block_begin: > 0 while blocked */
};

struct ab_runtime {
  const char *name;
  /* Its state for one run (threads, pids, the loop's contexts): the supervisor allocates
   * this many zeroed bytes at run->rt_state before start and frees them with the run. The
   * runtime keeps nothing in file statics, so runs never share state. */
  size_t state_size;
  int same_process;   /* every role in the supervisor's process (its costs are the total's) */
  int uses_transport; /* channels cross processes: --transport chooses how */
  int one_thread;     /* every role on one thread: a step blocks the others */
  /* The pooled roles' steps run as tasks in worker processes, every other role and the
   * runtime's own threads in the supervisor's process (ab__role_pooled). */
  int pooled;
  int io_threads;     /* pooled: a thread pool of this size runs the pooled roles' waits */
  /* Spawn the roles: each attaches, opens its device, runs init and reaches the barrier.
   * Returns when every role is ready or one failed (0) or on a spawn error (-errno). */
  int (*start)(ab_run_t *run);
  /* Is a role gone before it was told to stop? Fills who/how; returns 1 if so. */
  int (*check)(ab_run_t *run, char *msg, size_t len);
  /* After ctl->stop is set: wait for the roles (bounded), collect their costs. */
  int (*join)(ab_run_t *run);
};

#define AB_MAX_STATE 65536  /* a role instance's portable state (ab_state), bytes */
#define AB_POOL_IO_THREADS 20 /* hybrid: the I/O thread pool, the document's size */
/* pool.c: the pool runtimes' operations; runtime_pool.c and runtime_hybrid.c are these with
 * a name (and hybrid, its I/O thread pool). */
int ab__pool_start(ab_run_t *run);
int ab__pool_check(ab_run_t *run, char *msg, size_t len);
int ab__pool_join(ab_run_t *run);
#define AB__POOL_OPS .state_size = sizeof(void *), .pooled = 1, .start = ab__pool_start, \
                     .check = ab__pool_check, .join = ab__pool_join
/* Is role r one whose steps a pool runs as tasks (pool, hybrid)? */
static inline int ab__offloadable(const ab_scenario_t *sc, int r)
{
  int owns = 0;
  for (int d = 0; d < sc->ndevs; d++)
    owns |= sc->devs[d].owner == r;
  return sc->roles[r].trigger >= 0 && sc->roles[r].period_ns == 0 && !sc->roles[r].continuous && !sc->roles[r].instances &&
         !sc->roles[r].on_device && (sc->roles[r].flags & AB_ROLE_CPU) && !owns;
}
static inline int ab__role_pooled(const ab_run_t *run, int r)
{
  return run->rt->pooled && run->sc->roles[r].continuous && (run->sc->roles[r].flags & AB_ROLE_CPU);
}
/* runtime_threads.c: a role instance's whole life on the calling thread (ab_ctx_t *arg). */
void *ab__role_thread(void *arg);
/* Start slot's thread on ab__role_thread(ctx): 1, or 0 with the slot failed as at the barrier
 * (its init_err, message, and its count among the ready). */
int ab__role_thread_start(ab_run_t *run, pthread_t *t, ab_ctx_t *ctx);
/* Join t by deadline (CLOCK_MONOTONIC): 1, or 0 with it detached (it never returned). */
int ab__thread_join_by(pthread_t t, int64_t deadline);
/* The same for slot's role thread: one that never returned fails the run naming its role,
 * and its slot is wedged (its memory stays in use). */
int ab__role_thread_join(ab_run_t *run, pthread_t t, int slot, int64_t deadline);

/* runtimes.c: the table of AB_RUNTIMES; NULL for a number it does not hold. */
const ab_runtime_t *ab_runtime_get(int arch);
const char *ab_arch_name(int arch);
int ab_arch_find(const char *name);

/* runtime.c: the pieces every runtime shares */
void ab__ctx_init(ab_ctx_t *ctx, ab_run_t *run, int slot);
/* Record into metric m of this instance: its role's full row, or its sparse histogram. */
static inline void ab__rec(ab_ctx_t *ctx, int m, int64_t v)
{
  if (ctx->hists)
    ab_hist_record(&ctx->hists[m], v);
  else
    ab_shist_record(ctx->run->spool, &ctx->sidx[m], v);
}
/* "agent[17]", or the role's name for a role of one instance. */
const char *ab__who(const ab_ctx_t *ctx, char *buf, size_t len);
const char *ab__slot_name(const ab_run_t *run, int slot, char *buf, size_t len);
/* The queue of channel chan that receiving instance inst reads. */
static inline ab_chan_t *ab__pchan(const ab_run_t *run, int chan, int inst)
{
  return &run->pchans[run->chan_first[chan] + inst];
}
int ab__role_prepare(ab_ctx_t *ctx, int side_attach); /* attach channels, open the device, init */
void ab__role_ready(ab_ctx_t *ctx);                    /* signal ready, wait for go */
void ab__role_run(ab_ctx_t *ctx);                      /* the activation loop (threads, procs) */
int ab__role_step_stashed(ab_ctx_t *ctx);              /* one step on the stashed trigger message */
/* How long the end waits for a role to stop: the scenario's stop_grace_ns, else def (less if AB_STOP_GRACE
 * says so). One that overran it is terminated, left to that scenario's finish; else the run fails. */
int64_t ab__stop_grace_ns(const ab_run_t *run, int64_t def);
void ab__stop_overrun(ab_run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* runtime_procs.c: a forked role instance's whole life, then _exit (procs, the loop's
 * process offload). */
void ab__role_child(ab_run_t *run, int slot, pid_t parent) __attribute__((noreturn));
struct rusage;
void ab__res_reaped(ab_run_t *run, int slot, pid_t pid, const struct rusage *ru);
void ab__role_finish(ab_ctx_t *ctx);                   /* fini, close device */
int ab__role_activate(ab_ctx_t *ctx, int64_t intended, int64_t now); /* one periodic step */
/* At the end of a periodic role's run: every activation due before the stop (or the end of
 * the window) that never started is a missed period, its lateness at least now - intended. */
void ab__role_close_due(ab_ctx_t *ctx);
/* series.c: the lateness series. Plan the windows from the periods set-up chose and the
 * requested duration; record an activation (or a period closed as missed) into the window
 * of its intended start; the windows the run covered, as the result writes them. */
void ab__series_plan(ab_run_t *run);
void ab__series_rec(ab_ctx_t *ctx, int64_t intended, int64_t late, int missed);
struct json_t;
struct json_t *ab__series_json(const ab_run_t *run);
/* After go, before the first activation: devices start their clocks at the run's start. */
void ab__role_begin(ab_ctx_t *ctx);
/* Threads and procs: a step asked for its device; wait for it (or the stop), then .io. */
int ab__role_wait_dev(ab_ctx_t *ctx);
int ab__role_deliver(ab_ctx_t *ctx);                   /* fetch+step all trigger messages ready */
int ab__role_continue(ab_ctx_t *ctx);                  /* loop: one step of a continuous role */
void ab__sleep_to_start(ab_ctx_t *ctx);                /* until the window opens (blocking) */
void ab__sleep_until(ab_ctx_t *ctx, int64_t t);        /* absolute CLOCK_MONOTONIC, blocking */
int ab__role_io(ab_ctx_t *ctx);
/* The fd a waiting step waits on: the one it named (ab_step_wait_fd), else its device's. */
static inline int ab__wait_fd(const ab_ctx_t *ctx) { return ctx->wait_fd >= 0 ? ctx->wait_fd : ctx->dev_fd; }
/* role.c: a message received on chan (the role's own count of it, faults injected on it). */
void ab__got(ab_ctx_t *ctx, int chan, const ab_msg_t *m, const void *data);
void ab__res_begin(ab_res_t *r, int who);              /* RUSAGE_THREAD or RUSAGE_SELF */
void ab__res_end(ab_res_t *r, int who);
void ab__res_add(ab_res_t *sum, const ab_res_t *r);
/* A part of a thread's work charged exactly: CPU from the thread's CPU clock (getrusage's
 * per-thread times only move when the scheduler next accounts, so a short part would read 0
 * and the next switch take the lump), switches from getrusage. ab__charge adds the CPU since
 * the mark to r's cpu_user_s (a caller splits user and system if it can) and the switches. */
typedef struct ab__mark {
  int64_t cpu_ns;
  struct rusage ru;
} ab__mark_t;
void ab__mark(ab__mark_t *m);
void ab__charge(ab_res_t *r, const ab__mark_t *m);
/* The whole's user:system ratio applied to a part charged so (exact CPU, not split). */
void ab__split(ab_res_t *r, double user_share);
void ab__name_self(const char *role, int process);
/* A forked process of the run (a procs role, a pool worker), first thing: it dies with the
 * supervisor (parent), leaves Ctrl-C and SIGTERM to it, and takes no signal mask over. */
void ab__child_enter(pid_t parent);
void ab__apply_sched(ab_run_t *run, int periodic);
int ab__lock_memory(void);
int ab_stopped(const ab_run_t *run);

/* Where the window is, for whoever draws progress. */
typedef struct ab_progress {
  const char *scenario, *label;    /* label: "threads", "procs/shm" */
  double elapsed_s, total_s;
  int done;                        /* the window is over */
} ab_progress_t;

/* The whole run: set up, start, supervise, stop, collect, write. Returns an exit code.
 * The supervisor prints nothing: what it has to say goes to the caller's callbacks. */
typedef struct ab_run_opts {
  const ab_scenario_t *sc;
  int arch;
  const char *transport;
  const char *offload;               /* loop: an enum ab_offload's name; NULL: inline */
  int64_t duration_ns;
  const char *params[AB_MAX_PARAMS]; /* "k=v" */
  int nparams;
  ab_dev_opts_t dev;
  const char *result_path;           /* where the result goes (NULL: nowhere) */
  int rt_prio;
  int latency_target_us;             /* < 0: none */
  int latency_explicit;              /* asked for: failing to hold it is an error */
  const char *faults[AB_MAX_FAULTS];
  int nfaults;
  cpu_set_t *cpus;
  int quiet;
  /* Progress through the window (every tick and once at its end), and one line for each
   * thing worth saying: a warning, why the run could not start or failed, a result that
   * could not be written. NULL: not said. */
  void (*on_progress)(void *arg, const ab_progress_t *p);
  void (*on_message)(void *arg, const char *msg);
  void *cb_arg;
  int want_result;                   /* hand the result over (o->result) */
  int detail;                        /* per-instance figures in the result */
  const ab_hooks_t *hooks;           /* wrap the roles' work (tests) */
  int gil;                           /* the GIL model (--gil) */
  /* one point of a sweep (--sweep k=a,b,c): its param (also in params), its value, all the
   * points as given; NULL: not swept */
  const char *sweep_key, *sweep_value, *sweep_points;
  /* one of the runs of --repeat K (K > 1): round repeat_index of repeat_of; 0: not repeated */
  int repeat_index, repeat_of;
  int64_t gil_interval_ns;           /* --gil-interval; 0: 5 ms, CPython's default */
  int wedged;                        /* out: a role thread never stopped; run nothing more */
  struct ab_result *result;          /* out: the run's result if it ran and want_result was
                                      * set; the caller frees it (ab_result_free) */
} ab_run_opts_t;

int ab_run_one(ab_run_opts_t *o);
/* The same in two steps, so that a command refuses what is wrong in any of its runs before
 * the first starts, and resolves each once: ab_run_new resolves and checks the options with
 * nothing created (NULL, *code and err when refused); ab_run_exec runs it and frees it (o is
 * the options it was made from: callbacks, result path). */
ab_run_t *ab_run_new(const ab_run_opts_t *o, int *code, char *err, size_t len);
int ab_run_exec(ab_run_t *run, ab_run_opts_t *o);
/* Does a role thread still use this run (never returned)? Then nothing of it may be freed. */
int ab_run_wedged(const ab_run_t *run);
/* "threads", or "procs/shm" for a runtime whose roles use a transport. */
const char *ab_run_label(const ab_run_t *run, char *buf, size_t len);
/* "<=", "<", ">=", "==": a requirement's comparison as the result and the messages show it. */
const char *ab_req_op_name(int op);
/* `archbench run ARGS` parsed and planned, nothing validated against the machine nor
 * created: 0 or the exit code the command would give. (For the fuzzer.) */
int ab_cli_plan_only(int argc, char **argv);
/* The result file's name (malloc'd): <scenario>.<arch>[.<transport>][.<k>=<v>][.gil][.r<i>].json,
 * with a sweep's point, the GIL model, and a round of --repeat. */
char *ab_result_name(const ab_run_opts_t *o);
/* A parameter's descriptor, the scenario's or the harness's own (gil_free); NULL: none. */
const ab_param_desc_t *ab_param_desc(const ab_scenario_t *sc, const char *name);
/* text as that parameter's value (units, range, a choice's index): 0 or -errno. */
int ab_param_text_value(const ab_param_desc_t *p, const char *text, double *out);
/* Does the run's value of the parameter equal text's (10 = 010, 1ms = 1000us)? */
int ab_run_param_is(const ab_run_t *run, const char *name, const char *text);
void ab_run_free(ab_run_t *run);
int ab_param_resolve(ab_run_t *run, const char *const *kv, int n, char *err, size_t len);
int ab_run_result_write(ab_run_t *run, const char *path);
void ab_run_total(const ab_run_t *run, ab_res_t *total);

/* queues.c: room for `need` file descriptors, the soft limit raised to the hard one when it
 * is short: 0, or -EMFILE with *max the hard limit when even that is too few. */
int ab__fd_reserve(uint64_t need, uint64_t *max);

/* validate.c: the supervisor's checks, shared with ab_run_one. Fill the run from the
 * options, refusing what is wrong (0 or an exit code, err set); hold PM QoS (the fd or
 * -errno); map -errno to DESIGN.md's exit codes. */
int ab__resolve(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len);
int ab__latency_open(int us, char *err, size_t len);
int ab__exit_for(int err);

/* The descriptor's own consistency (limits, indices, names every requirement and table
 * column refers to, defaults in range): a scenario bug, caught before anything runs. */
int ab_scenario_check(const ab_scenario_t *sc, char *err, size_t len);
/* "stall:ROLE:K:DUR", "slow:ROLE:DUR" or "corrupt:CHAN:K" against a scenario; 0 or -EINVAL with err. */
int ab_fault_parse(const ab_scenario_t *sc, const char *spec, ab_fault_t *f, char *err, size_t len);
void ab__fault_step(ab_ctx_t *ctx);
void ab__fault_recv(ab_ctx_t *ctx, int chan, const void *data, uint32_t len);
/* hw/devices.c: the device operations for a kind (the table of AB_DEVICES), or NULL for a
 * kind this build does not know. */
const ab_devops_t *ab_devops_for(int kind);
/* queues.c: the run's channels (a queue per receiving instance) and registers; 0 or -errno
 * with err set. */
int ab__build(ab_run_t *run, char *err, size_t len);
/* block.c: the run's memory. Allocate the slot tables, the shared block, the sparse pool
 * and the merged tables (0 or -errno); free them; merge every instance's figures after the
 * roles stop; what the harness holds for the run, channels' payload apart. */
int ab__block_alloc(ab_run_t *run);
void ab__block_free(ab_run_t *run);
void ab__block_merge(ab_run_t *run);
int64_t ab__harness_bytes(const ab_run_t *run);
/* Does scenario sc declare a device of this kind? */
int ab_scenario_has_dev(const ab_scenario_t *sc, int kind);
/* The runtime's own wait (the loop's epoll_wait), marked as blocking for the hooks. */
void ab__block_run(ab_run_t *run, int begin);
/* The GIL model around the run's roles (gil.c): after the control block exists, before any
 * role starts; teardown after every role has ended. */
int ab__gil_setup(ab_run_t *run);
void ab__gil_teardown(ab_run_t *run);
/* The loop's take of the GIL after its wait (ab__block_run), recorded as the wait of the role
 * ctx that the wake-up runs first; nothing when already charged or without --gil. */
void ab__gil_charge(ab_run_t *run, ab_ctx_t *ctx);

/* units.c */
int ab_parse_duration(const char *s, int64_t *ns);
/* The environment's duration `name` (tests: AB_STOP_GRACE, AB_START_LEAD) within [lo, hi], else def. */
int64_t ab__env_ns(const char *name, int64_t lo, int64_t hi, int64_t def);
int ab_parse_size(const char *s, int64_t *bytes);
int ab_parse_int(const char *s, int64_t *v);
int ab_parse_double(const char *s, double *v);
void ab_fmt_ns(char *buf, size_t len, double ns); /* "1.23 ms" */
/* The shortest of %.15g..%.17g that reads back as v (buf of 32 bytes or more). */
void ab_fmt_exact(char *buf, size_t len, double v);

/* sysinfo.c */
typedef struct ab_sysinfo {
  char kernel[200], cpu[128], virt[300], sched[48], clocksource[32], governor[32], host[72];
  char cpus[128]; /* the roles' CPUs (--cpus), or "all" */
  int ncpu;
} ab_sysinfo_t;
void ab_sysinfo(ab_sysinfo_t *s, const ab_run_t *run);
/* RSS and PSS of process pid (smaps_rollup), kB; 0 or -errno (the process is gone). */
int ab_mem_pid(int pid, int64_t *rss_kb, int64_t *pss_kb);

/* scenarios/registry.c */
extern const ab_scenario_t *const ab_scenarios[];
const ab_scenario_t *ab_scenario_find(const char *name);

/* requirements: evaluate into value/pass */
int ab_metric_index(const ab_run_t *run, const char *name);
int ab_counter_index(const ab_run_t *run, const char *name);
int ab_value_index(const ab_run_t *run, const char *name);
/* 0 and *value; -ENODATA when the figure has no data (an empty metric, the missed periods
 * of a role that never ran, a value never set); -ENOENT when the name resolves to nothing. */
int ab_req_value(const ab_run_t *run, const char *name, double *value);
/* Does the name resolve, given the tables (no data needed)? */
int ab_req_resolves(const ab_run_t *run, const char *name);
/* Every requirement evaluated into run->req (a limit_param's limit is the parameter times
 * limit_scale), and run->req_failed counted: once, after the run. */
void ab_run_requirements(ab_run_t *run);
/* The metric and counter tables of a run from its scenario (before anything else). */
void ab__tables(ab_run_t *run);

#endif
