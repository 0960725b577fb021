/* The result: the one seam between a run and everything that presents or compares it (the
 * summary table, the report, compare). A result is a JSON document (schema
 * archbench-result/1, DESIGN.md) held as a jansson tree, plus a typed view of the fields the
 * presenters read, parsed from that tree and nothing else: a result built from a run in
 * memory and the same result read back from its file give the same view, and writing what
 * was read gives the file back byte for byte (numbers are written in the shortest form that
 * reads back as the same double).
 */
#ifndef AB_RESULT_H
#define AB_RESULT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "stats.h"

#define AB_RESULT_SCHEMA "archbench-result/1"

/* "ok", "partial", "failed": enum ab_status as the document spells it. */
extern const char *const ab_result_status_names[3];
extern const char *const ab_claim_sense_names[4]; /* enum ab_claim_sense, as the result writes it */

typedef struct ab_result_req {
  const char *name, *op;
  double limit, value;             /* value: NaN when there was no data */
  int have, pass;
} ab_result_req_t;

typedef struct ab_result {
  json_t *doc;                     /* the whole document, owned */
  const char *scenario, *arch, *transport, *status_name, *error, *started_at;
  const char *offload;             /* the loop's offload variant ("inline", "thread"...), else NULL */
  int gil;                         /* run under the GIL model (--gil) */
  double gil_interval_s, gil_free; /* its switch interval, and the compute it ran without it */
  const char *sweep_param, *sweep_value; /* a point of a sweep (--sweep), else NULL */
  int repeat_index, repeat_of;     /* a round of --repeat K: index 1..K of K; 0 and 0: none */
  int status;                      /* enum ab_status */
  double duration_s;
  int nfaults;                     /* injected on purpose: a test's figures */
  double cpu_percent;              /* of one CPU, over the window */
  double rss_kb, pss_kb;           /* the run's total at the end of the window; NaN: unknown */
  int nreqs, req_failed;
  ab_result_req_t *reqs;
} ab_result_t;

/* The result of a finished run (after its requirements are evaluated); NULL if out of memory. */
struct ab_run;
ab_result_t *ab_result_of_run(const struct ab_run *run);
/* A result file, read and checked: NULL with err naming the file and the field at fault. */
ab_result_t *ab_result_load(const char *path, char *err, size_t len);
/* Takes doc (even on failure): the view parsed from it, or NULL with err. */
ab_result_t *ab_result_parse(json_t *doc, char *err, size_t len);
/* The document as the file holds it (malloc'd), and written under a temporary name in the
 * same directory, synced and renamed: 0 or -errno. */
char *ab_result_dumps(const ab_result_t *r);
int ab_result_save(const ab_result_t *r, const char *path);
void ab_result_free(ab_result_t *r);

/* A metric's summary: 0, -ENOENT (no such metric), -ENODATA (it holds no sample). */
int ab_result_metric(const ab_result_t *r, const char *name, ab_summary_t *s);
/* A metric's histogram rebuilt from its buckets (count, min, max exact; the sums from the
 * mean and the standard deviation): 0, -ENOENT, or -EINVAL for a bucket bound that is not
 * one of ab_hist's or buckets that do not add up to the count. */
int ab_result_hist(const ab_result_t *r, const char *name, ab_hist_t *h);
/* A periodic role's lateness series ("inner.lateness_ns"): its window length, and its first
 * cap windows into the arrays (each may be NULL; max_ns -1 for a window without activation).
 * Returns how many windows it has, or -ENOENT. */
int ab_result_series(const ab_result_t *r, const char *name, int64_t *window_ns, int64_t *max_ns, int64_t *count,
                     int64_t *missed, int cap);
/* A counter: 0 and *v, or -ENOENT. */
int ab_result_counter(const ab_result_t *r, const char *name, int64_t *v);
/* "threads", or "procs/shm" for a runtime whose channels use a transport. */
const char *ab_result_label(const ab_result_t *r, char *buf, size_t len);

#endif
