/* The command line's pieces beside harness/cli.c: the options, the plan of runs (plan.c)
 * and its running (execute.c), the summary table (table.c) and the output directory with
 * its result locks (outdir.c).
 * Internal to the CLI. */
#ifndef AB_CLI_H
#define AB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "result.h"

#define AB_MAX_PLAN 128
#define AB__PLAN_MAX_TEXT "128"
#define AB_MAX_SWEEP 16
#define AB_MAX_REPEAT 100

/* The options of `run` and `bench`, as parsed. */
typedef struct ab__cli {
  const char *scenario;
  const char *arch, *transport, *offload, *outdir;
  int64_t duration_ns;
  int duration_set;
  const char *params[AB_MAX_PARAMS];
  int nparams;
  const char *faults[AB_MAX_FAULTS];
  int nfaults;
  ab_dev_opts_t dev;
  int rt_prio, quiet;
  int detail;                    /* --per-instance */
  int gil;                       /* --gil */
  const char *sweep;             /* --sweep k=a,b,c */
  int repeat;                    /* --repeat K (0: once) */
  int64_t gil_interval_ns;       /* --gil-interval (0: CPython's 5 ms) */
  int latency_us, latency_set, latency_off;
  cpu_set_t cpus;
  int cpus_set;
} ab__cli_t;

/* A plan: the (scenario, arch, transport) runs of one command, their result files and locks.
 * With --repeat K every run is made K times, in rounds: round r (from 0) makes run k as the
 * plan's (r * n + k)-th, with its own result file. */
typedef struct ab__plan {
  ab_run_opts_t run[AB_MAX_PLAN];
  ab_run_t *made[AB_MAX_PLAN];  /* each run resolved (ab_run_new) before the first starts */
  char *path[AB_MAX_PLAN * AB_MAX_REPEAT]; /* each made run's result file */
  int lock[AB_MAX_PLAN * AB_MAX_REPEAT];   /* its lock, held for the command */
  int n;
  int rounds;                   /* K of --repeat K (1: once) */
  /* --sweep: the scenario being planned's param and points; each run's own "k=v" and its
   * "k\0v" (a later scenario's sweep, in bench, replaces the former) */
  char sweep_key[32], sweep_vals[AB_MAX_SWEEP][32], sweep_kv[AB_MAX_PLAN][72], sweep_at[AB_MAX_PLAN][72];
  int nsweep;
} ab__plan_t;

/* "archbench: " + the message, one line, on stderr; returns AB_EXIT_USAGE. */
int ab_usage_error(const char *fmt, const char *a, const char *b);
/* Add the runs of scenario sc that --arch and --transport ask for (deduplicated). 0 or an
 * exit code after saying why. */
int ab_plan_scenario(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, const char *archs,
                     const char *transports);

/* Validate every run, create the output directory, claim the results, run them, print
 * the table (bench: a failed requirement is a finding, not an error). The exit code. */
int ab_plan_execute(ab__plan_t *p, const ab__cli_t *c, int bench);

typedef struct ab__row {
  char scenario[48], arch[32];     /* the scenario with its sweep point: "agents n=10" */
  int repeat;                      /* its round of --repeat (1..K); 0: not repeated */
  double rate;                     /* the scenario's table_rate value */
  int has_rate;
  int64_t count;                   /* ... and its table_count counter (-1: none) */
  int status, req_failed, nreqs, faults;
  double lat[3];
  int64_t missed;
  double chain[3];
  int64_t chain_lost;
  int has_lat, has_chain, has_lost, has_missed;
  double cpu_pct, pss_mb;
  char failed_reqs[200];
} ab__row_t;

typedef struct ab__table {
  ab__row_t *rows;
  int n, cap;
} ab__table_t;

/* A row from a finished run: what it measured and its requirements as evaluated. */
void ab_table_add(ab__table_t *tb, const ab_result_t *r);
/* The table as text, header first, a line per row. */
void ab_table_write(const ab__table_t *tb, FILE *f);
/* The same rows for programs: a header line (ab_table_csv_header), then a line per row,
 * numbers in base units (ns, counts, percent, MB), the round of --repeat in a column of its
 * own (the arch column as the label alone), an empty cell for none, a field holding
 * a comma or a quote quoted as RFC 4180 says (lines end in CRLF, as it says too). */
extern const char ab_table_csv_header[];
void ab_table_csv(const ab__table_t *tb, FILE *f);
/* The table on stdout, and in <out>/summary.txt and summary.csv (nothing when it has no row). */
void ab_table_print(const ab__table_t *tb, const char *out);

/* Where the results go, and what creating it changed (undone if no result lands). */
typedef struct ab__out {
  char *dir;
  int created;       /* the directory did not exist before */
  int is_default;    /* results/<run-id>, with results/latest repointed */
  char *prev_latest; /* where results/latest pointed before (NULL: nowhere) */
} ab__out_t;

/* Checked, then created: outdir (--out), or results/<run-id>/ when NULL. 0 or an exit code
 * after saying why; nothing is created when the check refuses. */
int ab_outdir_make(const char *outdir, ab__out_t *out);
/* After the runs: the directory made goes again if nothing landed in it (results/latest
 * back where it was); frees what ab_outdir_make kept. */
void ab_outdir_done(ab__out_t *out);
/* <result>.lock, flock'ed: 0 and the fd, or an exit code (another run holds it: 3). */
int ab_result_lock(const char *result, int *fd_out);
void ab_result_unlock(const char *result, int fd);

#endif
