/* The report (`archbench report RUN_DIR...`): an HTML page with gnuplot figures that names the
 * architecture to use for each scenario and why, lists the primitives' prices and checks the
 * source documents' claims. It reads result files (result.h) and micro.json only, never the
 * engine: what it says, a reader of the JSON could say.
 *
 *   report.c     the command: load, decide, draw, write; the page's path on stdout
 *   load.c       the results of the run directories, as runs and candidates
 *   recommend.c  the decision for one group of candidates, and its sentence
 *   figures.c    the data files and the gnuplot templates (reports/<name>.gp) they feed
 *   html.c       the page
 *   claims.c     the claims table: every claim, measured, judged, or not measured yet
 */
#ifndef AB_REPORT_H
#define AB_REPORT_H

#include <limits.h>
#include <stdio.h>

#include "result.h"

#define AB_REP_MAX_CAND 32  /* architectures in one group */
#define AB_REP_MAX_REQ 24
#define AB_REP_MAX_GROUPS 256

/* One result file. */
typedef struct ab_rep_run {
  ab_result_t *r;
  char file[PATH_MAX];
  char label[64];   /* "threads", "procs/shm", "threads+gil" */
  char group[128];  /* what is compared: "robot", "agents n=10", "agents n=10 gil" */
  char point[64];   /* its sweep point "n=10", or "" */
  int rep;          /* its repeat (1 when none) */
} ab_rep_run_t;

/* One requirement of a candidate, over its repeats. */
typedef struct ab_rep_req {
  char name[96], op[4];
  double limit;
  double value;         /* the worst repeat's (what every repeat must meet; NaN: no data) */
  double mean, lo, hi;  /* mean, min, max over the repeats with data */
  int n, npass, nv;     /* repeats, those that passed it, those with data */
  double floor;         /* the baseline's own figure for it on the same runtime; NaN: none */
  int floor_pass;       /* that floor against the same limit: 1, 0, or -1 (no floor) */
} ab_rep_req_t;

/* One architecture in a group: its repeats pooled. */
typedef struct ab_rep_cand {
  char label[64];
  int run[100], nrep;   /* indices in ab_rep_t.run: its repeats (--repeat allows 100) */
  int ok;               /* every repeat ran to the end (status ok) */
  int missing;          /* requirements its group's others show and it does not */
  int pass;             /* ... and passed every requirement */
  double cpu, cpu_lo, cpu_hi; /* % of one CPU: mean, range */
  double cpu_sd, cpu_m2;      /* its standard deviation over the repeats (0 with one) */
  double pss, pss_lo, pss_hi; /* MB */
  int ncpu, npss;             /* repeats with each figure */
  int nreq;
  ab_rep_req_t req[AB_REP_MAX_REQ];
  double rank_key;      /* what it was ranked by when none passed */
  char why[768];        /* why it is not the choice (HTML) */
} ab_rep_cand_t;

enum ab_rec_kind {
  AB_REC_CLEAR = 1,   /* one passes at the lowest cost */
  AB_REC_TIE,         /* the cheapest differ by less than the spread: memory decides */
  AB_REC_NO_REQS,     /* nothing to meet: the cheapest */
  AB_REC_FLOOR_FAILS, /* none passes, and the machine's own floor already fails */
  AB_REC_NONE_PASS,   /* none passes, though the floor would: something must change */
};

typedef struct ab_rep_group {
  char key[128], scenario[48], point[64];
  int gil;
  ab_rep_cand_t cand[AB_REP_MAX_CAND];
  int ncand;
  /* the decision (ab_rep_recommend) */
  int kind, order[AB_REP_MAX_CAND], ntied;
  int spread_known;      /* every candidate was repeated */
  char machine[96];      /* AB_REC_FLOOR_FAILS: the requirement the machine's floor fails */
  char sentence[2048];   /* the recommendation, HTML */
  char spread_note[256]; /* how sure it is */
} ab_rep_group_t;

typedef struct ab_rep {
  ab_rep_run_t *run;
  int nrun, cap;
  ab_rep_group_t *group;
  int ngroup;
  json_t *micro;          /* micro.json of the first directory that has one, or NULL */
  char micro_file[PATH_MAX];
  char out[PATH_MAX];     /* RUN_DIR/report */
  char tmpl[PATH_MAX + 32];    /* the folder of the figures' templates (reports/) */
  int gnuplot;            /* gnuplot runs here */
  char **dirs;
  int ndirs;
} ab_rep_t;

/* `archbench report DIR...`: the page into DIR[0]/report/; 0 or an exit code after saying why. */
int ab_report(int ndirs, char **dirs);

/* load.c: the results of dirs, grouped (0, or AB_EXIT_USAGE with err saying why). */
int ab_rep_load(ab_rep_t *rp, int ndirs, char **dirs, char *err, size_t len);
void ab_rep_free(ab_rep_t *rp);
/* The group that stands for a scenario: without the GIL, at its largest sweep point. */
const ab_rep_group_t *ab_rep_main_group(const ab_rep_t *rp, const char *scenario);
/* What presents a result ("role", "chain", "rate", "count"): its "table", or for an older
 * result its scenario's descriptor; NULL: none. */
const char *ab_rep_table(const ab_result_t *r, const char *k);
/* A figure of a result by the requirements' names: "m.p999", a counter, a value; NaN. */
double ab_rep_figure(const ab_result_t *r, const char *name);
/* sweep.c: a sweep point's value in its parameter's base units (policy=250us: 250000); the
 * table of where each architecture stops meeting its requirements (the number shown). */
double ab_rep_point_value(const char *scenario, const char *point);
int ab_rep_sweep_passes(FILE *f, const ab_rep_t *rp, const char *scenario);

/* recommend.c: decide a group and write its sentence. */
void ab_rep_recommend(ab_rep_group_t *g);
/* "<=" as the page shows it ("≤"). */
const char *ab_rep_op(const char *op);
/* A requirement's value as a reader wants it ("1.23 ms", "0", "0.94"). */
const char *ab_rep_fmt(char *buf, size_t len, const char *name, double v);

/* figures.c: draw the figures of a scenario / the price list; each drawn figure's file name
 * (in rp->out) is added to names (up to max); the count, and what could not be drawn in
 * missing. */
int ab_rep_scenario_figures(ab_rep_t *rp, const char *scenario, char (*names)[96], char (*titles)[160], int max);
int ab_rep_price_figures(ab_rep_t *rp, char (*names)[96], char (*titles)[160], int max);
/* gnuplot -e VARS reports/TMPL.gp in the report's folder: 0 when it wrote OUT there. */
int ab_rep_gnuplot(const ab_rep_t *rp, const char *tmpl, const char *vars, const char *out);
/* The table of the prices the page links to (rows anchored price-<name>). */
void ab_rep_price_table(const ab_rep_t *rp, FILE *f);
/* The first benchmark whose name starts with prefix: its price in ns (NaN: none) and name. */
double ab_rep_micro_prefix(const ab_rep_t *rp, const char *prefix, const char **name);
/* A micro-benchmark's per-op time in ns (its real time), or NaN. */
double ab_rep_micro_ns(const ab_rep_t *rp, const char *name);

/* html.c */
int ab_rep_html(ab_rep_t *rp, const char *path);
void ab_rep_esc(FILE *f, const char *s);

/* claims.c: the claims table, every claim once */
void ab_rep_claims(ab_rep_t *rp, FILE *f);
int ab_rep_nclaims(void); /* how many claims there are in all, built or not */

#endif
