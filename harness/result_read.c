/* Reading a result (result.h): the typed view is parsed from the JSON tree, whether the
 * tree was just built from a run or read from a file, and every field it needs is checked:
 * a file that is not a result says which field is missing or of the wrong type. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "result.h"


typedef struct ab__rd {
  char *err;
  size_t len;
  int bad;
} ab__rd_t;

static void ab__bad(ab__rd_t *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ab__bad(ab__rd_t *rd, const char *fmt, ...)
{
  if (rd->bad++)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rd->err, rd->len, fmt, ap);
  va_end(ap);
}

static json_t *ab__get(ab__rd_t *rd, json_t *o, const char *k, json_type type, const char *what)
{
  json_t *v = json_object_get(o, k);
  if (!v || json_typeof(v) != type)
    ab__bad(rd, "\"%s\": %s, expected %s", k, v ? "of the wrong type" : "missing", what);
  return v && json_typeof(v) == type ? v : NULL;
}

static const char *ab__gets(ab__rd_t *rd, json_t *o, const char *k, int nullable)
{
  json_t *v = json_object_get(o, k);
  if (nullable && json_is_null(v))
    return NULL;
  if (!json_is_string(v)) {
    ab__bad(rd, "\"%s\": %s, expected a string", k, v ? "of the wrong type" : "missing");
    return "";
  }
  return json_string_value(v);
}

/* A number, or NaN for null ("no data") where that is allowed. */
static double ab__getn(ab__rd_t *rd, json_t *o, const char *k, int nullable)
{
  json_t *v = json_object_get(o, k);
  if (nullable && json_is_null(v))
    return NAN;
  if (!json_is_number(v)) {
    ab__bad(rd, "\"%s\": %s, expected a number", k, v ? "of the wrong type" : "missing");
    return NAN;
  }
  return json_number_value(v);
}

/* "gil": null (or absent, before the model existed), or the model's settings. */
static void ab__view_gil(ab__rd_t *rd, ab_result_t *r)
{
  json_t *g = json_object_get(r->doc, "gil");
  if (!g || json_is_null(g))
    return;
  if (!(g = ab__get(rd, r->doc, "gil", JSON_OBJECT, "an object or null")))
    return;
  r->gil = 1;
  r->gil_interval_s = ab__getn(rd, g, "interval_s", 0);
  r->gil_free = ab__getn(rd, g, "free", 0);
  if (!rd->bad && !(r->gil_interval_s > 0 && r->gil_interval_s <= 1))
    ab__bad(rd, "\"gil\": interval_s %g, expected more than 0 and at most 1", r->gil_interval_s);
  if (!rd->bad && !(r->gil_free >= 0 && r->gil_free <= 1))
    ab__bad(rd, "\"gil\": free %g, expected 0 to 1", r->gil_free);
}

static void ab__view_reqs(ab__rd_t *rd, ab_result_t *r)
{
  json_t *a = ab__get(rd, r->doc, "requirements", JSON_ARRAY, "an array");
  if (!a)
    return;
  r->reqs = calloc(json_array_size(a) + 1, sizeof *r->reqs);
  if (!r->reqs) {
    ab__bad(rd, "out of memory");
    return;
  }
  size_t i;
  json_t *q;
  json_array_foreach(a, i, q) {
    ab_result_req_t *e = &r->reqs[r->nreqs++];
    if (!json_is_object(q)) {
      ab__bad(rd, "requirements[%zu]: expected an object", i);
      return;
    }
    e->name = ab__gets(rd, q, "name", 0);
    e->op = ab__gets(rd, q, "op", 0);
    e->limit = ab__getn(rd, q, "limit", 0);
    e->value = ab__getn(rd, q, "value", 1);
    e->have = !isnan(e->value);
    json_t *p = json_object_get(q, "pass");
    if (!json_is_boolean(p))
      ab__bad(rd, "requirements[%zu] \"pass\": expected true or false", i);
    e->pass = json_is_true(p);
    if (e->pass && !e->have)
      ab__bad(rd, "requirements[%zu]: passes with no value (a figure without data fails)", i);
    r->req_failed += !e->pass;
  }
}

/* A figure that fits what reads it: a whole number of at most 2^63 (counts, ns, bytes). */
static int ab__whole(json_t *v, int nonneg)
{
  if (json_is_integer(v))
    return !nonneg || json_integer_value(v) >= 0;
  double d = json_is_real(v) ? json_real_value(v) : NAN;
  return isfinite(d) && d == floor(d) && fabs(d) < 9.2e18 && (!nonneg || d >= 0);
}

/* Every metric an object of whole statistics (mean and stddev finite), its histogram pairs
 * of whole numbers; every counter a whole number. */
static void ab__view_figures(ab__rd_t *rd, ab_result_t *r)
{
  static const char *const whole[] = { "count", "min", "max", "p50", "p90", "p99", "p999", "p9999" };
  const char *k;
  json_t *m, *ms = json_object_get(r->doc, "metrics"), *cs = json_object_get(r->doc, "counters");
  json_object_foreach(ms, k, m) {
    if (!json_is_object(m)) {
      ab__bad(rd, "metrics \"%s\": expected an object", k);
      return;
    }
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
      if (!ab__whole(json_object_get(m, whole[i]), i == 0))
        ab__bad(rd, "metrics \"%s\" \"%s\": expected a whole number", k, whole[i]);
    if (!isfinite(ab__getn(rd, m, "mean", 0)) || !isfinite(ab__getn(rd, m, "stddev", 0)))
      ab__bad(rd, "metrics \"%s\": mean and stddev must be numbers", k);
    json_t *h = json_object_get(m, "hist"), *pair;
    size_t i;
    if (!json_is_array(h))
      ab__bad(rd, "metrics \"%s\" \"hist\": expected an array", k);
    json_array_foreach(h, i, pair) if (json_array_size(pair) != 2 || !ab__whole(json_array_get(pair, 0), 1) ||
                                       !ab__whole(json_array_get(pair, 1), 1))
      ab__bad(rd, "metrics \"%s\" \"hist\"[%zu]: expected [upper_ns, count]", k, i);
  }
  json_object_foreach(cs, k, m) if (!ab__whole(m, 0)) ab__bad(rd, "counters \"%s\": expected a whole number", k);
}

/* "series" (absent before it existed): per periodic role, a window length and three arrays
 * of one length, at most AB_SERIES_MAX: whole counts, and maxima whole or null (empty). */
static void ab__view_series(ab__rd_t *rd, ab_result_t *r)
{
  json_t *all = json_object_get(r->doc, "series"), *s;
  const char *k;
  if (!all)
    return;
  if (!json_is_object(all)) {
    ab__bad(rd, "\"series\": of the wrong type, expected an object");
    return;
  }
  json_object_foreach(all, k, s) {
    static const char *const arrays[] = { "max_ns", "count", "missed" };
    json_t *w = json_object_get(s, "window_ns");
    if (!json_is_object(s) || !ab__whole(w, 1) || json_number_value(w) <= 0 || !ab__whole(json_object_get(s, "t0_ns"), 1)) {
      ab__bad(rd, "series \"%s\": expected an object with a window_ns above 0 and a t0_ns", k);
      return;
    }
    size_t n = json_array_size(json_object_get(s, "count")), i;
    for (int a = 0; a < 3; a++) {
      json_t *v = json_object_get(s, arrays[a]), *e;
      if (!json_is_array(v) || json_array_size(v) != n || n > AB_SERIES_MAX) {
        ab__bad(rd, "series \"%s\" \"%s\": expected an array as long as \"count\", at most %d", k, arrays[a],
                AB_SERIES_MAX);
        return;
      }
      json_array_foreach(v, i, e) if (!ab__whole(e, 1) && !(a == 0 && json_is_null(e)))
        ab__bad(rd, "series \"%s\" \"%s\"[%zu]: expected a whole number%s", k, arrays[a], i, a ? "" : " or null");
    }
  }
}

static void ab__view_costs(ab__rd_t *rd, ab_result_t *r)
{
  json_t *res = ab__get(rd, r->doc, "resources", JSON_OBJECT, "an object");
  json_t *t = res ? ab__get(rd, res, "total", JSON_OBJECT, "an object") : NULL;
  r->rss_kb = r->pss_kb = r->cpu_percent = NAN;
  if (!t)
    return;
  r->cpu_percent = ab__getn(rd, res, "cpu_percent", 0);
  r->rss_kb = ab__getn(rd, t, "rss_kb", 1);
  r->pss_kb = ab__getn(rd, t, "pss_kb", 1);
}

ab_result_t *ab_result_parse(json_t *doc, char *err, size_t len)
{
  ab__rd_t rd = { err, len, 0 };
  ab_result_t *r = calloc(1, sizeof *r);
  if (!r || !json_is_object(doc)) {
    snprintf(err, len, r ? "not a JSON object" : "out of memory");
    json_decref(doc);
    free(r);
    return NULL;
  }
  r->doc = doc;
  const char *schema = ab__gets(&rd, doc, "schema", 0);
  if (!rd.bad && strcmp(schema, AB_RESULT_SCHEMA))
    ab__bad(&rd, "\"schema\": \"%s\", expected \"%s\"", schema, AB_RESULT_SCHEMA);
  r->scenario = ab__gets(&rd, doc, "scenario", 0);
  r->arch = ab__gets(&rd, doc, "arch", 0);
  r->transport = ab__gets(&rd, doc, "transport", 0);
  r->offload = json_is_string(json_object_get(doc, "offload")) ? json_string_value(json_object_get(doc, "offload")) : NULL;
  r->status_name = ab__gets(&rd, doc, "status", 0);
  r->status = -1;
  for (int s = 0; s < 3; s++)
    if (!strcmp(r->status_name, ab_result_status_names[s]))
      r->status = s;
  if (r->status < 0 && !rd.bad)
    ab__bad(&rd, "\"status\": \"%s\", expected ok, partial or failed", r->status_name);
  r->error = ab__gets(&rd, doc, "error", 1);
  ab__view_gil(&rd, r);
  json_t *w = json_object_get(doc, "sweep");
  if (w && !json_is_null(w) && (w = ab__get(&rd, doc, "sweep", JSON_OBJECT, "an object or null"))) {
    r->sweep_param = ab__gets(&rd, w, "param", 0);
    r->sweep_value = ab__gets(&rd, w, "value", 0);
    ab__get(&rd, w, "points", JSON_ARRAY, "an array");
  }
  json_t *k = json_object_get(doc, "repeat");
  if (k && !json_is_null(k) && (k = ab__get(&rd, doc, "repeat", JSON_OBJECT, "an object or null"))) {
    double i = ab__getn(&rd, k, "index", 0), of = ab__getn(&rd, k, "of", 0);
    if (!rd.bad && !(i == floor(i) && of == floor(of) && i >= 1 && i <= of && of <= 1000))
      ab__bad(&rd, "\"repeat\": index %g of %g, expected whole numbers with 1 <= index <= of", i, of);
    if (!rd.bad)
      r->repeat_index = (int)i, r->repeat_of = (int)of;
  }
  r->started_at = ab__gets(&rd, doc, "started_at", 0);
  r->duration_s = ab__getn(&rd, doc, "duration_s", 0);
  json_t *f = json_object_get(doc, "faults");
  r->nfaults = json_is_array(f) ? (int)json_array_size(f) : 0;
  ab__get(&rd, doc, "metrics", JSON_OBJECT, "an object");
  ab__get(&rd, doc, "counters", JSON_OBJECT, "an object");
  if (!rd.bad)
    ab__view_figures(&rd, r);
  if (!rd.bad)
    ab__view_series(&rd, r);
  ab__view_costs(&rd, r);
  ab__view_reqs(&rd, r);
  if (rd.bad) {
    ab_result_free(r);
    return NULL;
  }
  return r;
}

ab_result_t *ab_result_load(const char *path, char *err, size_t len)
{
  json_error_t je;
  json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!doc) {
    snprintf(err, len, "%s: %s (line %d)", path, je.text, je.line);
    return NULL;
  }
  char e[256];
  ab_result_t *r = ab_result_parse(doc, e, sizeof e);
  if (!r)
    snprintf(err, len, "%s: not an %s result: %s", path, AB_RESULT_SCHEMA, e);
  return r;
}

void ab_result_free(ab_result_t *r)
{
  if (!r)
    return;
  json_decref(r->doc);
  free(r->reqs);
  free(r);
}

static json_t *ab__section(const ab_result_t *r, const char *sect, const char *name)
{
  return json_object_get(json_object_get(r->doc, sect), name);
}

int ab_result_metric(const ab_result_t *r, const char *name, ab_summary_t *s)
{
  json_t *m = ab__section(r, "metrics", name);
  if (!json_is_object(m))
    return -ENOENT;
  const char *k[] = { "count", "min", "max", "p50", "p90", "p99", "p999", "p9999", "mean", "stddev" };
  double v[10];
  for (int i = 0; i < 10; i++) {
    json_t *x = json_object_get(m, k[i]);
    if (!json_is_number(x))
      return -ENOENT;
    v[i] = json_number_value(x);
  }
  *s = (ab_summary_t){ (uint64_t)v[0], (int64_t)v[1], (int64_t)v[2], (int64_t)v[3], (int64_t)v[4],
                       (int64_t)v[5], (int64_t)v[6], (int64_t)v[7], v[8], v[9] };
  return s->count ? 0 : -ENODATA;
}

int ab_result_hist(const ab_result_t *r, const char *name, ab_hist_t *h)
{
  ab_summary_t s;
  int e = ab_result_metric(r, name, &s);
  json_t *b = json_object_get(ab__section(r, "metrics", name), "hist");
  if (e == -ENOENT || !json_is_array(b))
    return -ENOENT;
  ab_hist_init(h);
  size_t i;
  json_t *p;
  uint64_t total = 0;
  json_array_foreach(b, i, p) {
    json_t *u = json_array_get(p, 0), *c = json_array_get(p, 1);
    if (!json_is_integer(u) || !json_is_integer(c) || json_integer_value(c) < 0)
      return -EINVAL;
    json_int_t up = json_integer_value(u), n = json_integer_value(c);
    int k = ab_hist_index(up);
    if (ab_hist_upper(k) != up)
      return -EINVAL;
    h->buckets[k] += (uint64_t)n;
    total += (uint64_t)n;
  }
  if (total != s.count)
    return -EINVAL; /* the buckets must hold what the count says */
  h->count = s.count;
  if (s.count) {
    h->min = s.min, h->max = s.max;
    h->sum = s.mean * s.count;
    h->sumsq = (s.stddev * s.stddev + s.mean * s.mean) * s.count;
  }
  return 0;
}

int ab_result_series(const ab_result_t *r, const char *name, int64_t *window_ns, int64_t *max_ns, int64_t *count,
                     int64_t *missed, int cap)
{
  json_t *s = ab__section(r, "series", name);
  if (!json_is_object(s))
    return -ENOENT;
  json_t *mx = json_object_get(s, "max_ns"), *ct = json_object_get(s, "count"), *ms = json_object_get(s, "missed");
  int n = (int)json_array_size(ct);
  if (window_ns)
    *window_ns = (int64_t)json_number_value(json_object_get(s, "window_ns"));
  for (int k = 0; k < n && k < cap; k++) {
    json_t *m = json_array_get(mx, k);
    if (max_ns)
      max_ns[k] = json_is_number(m) ? (int64_t)json_number_value(m) : -1;
    if (count)
      count[k] = (int64_t)json_number_value(json_array_get(ct, k));
    if (missed)
      missed[k] = (int64_t)json_number_value(json_array_get(ms, k));
  }
  return n;
}

int ab_result_counter(const ab_result_t *r, const char *name, int64_t *v)
{
  json_t *c = ab__section(r, "counters", name);
  if (!json_is_number(c))
    return -ENOENT;
  *v = (int64_t)json_number_value(c);
  return 0;
}

const char *ab_result_label(const ab_result_t *r, char *buf, size_t len)
{
  const ab_runtime_t *rt = ab_runtime_get(ab_arch_find(r->arch));
  if (rt && rt->uses_transport)
    snprintf(buf, len, "%s/%s%s", r->arch, r->transport, r->gil ? "+gil" : "");
  else if (r->offload && strcmp(r->offload, "inline"))
    snprintf(buf, len, "%s/%s%s", r->arch, r->offload, r->gil ? "+gil" : "");
  else
    snprintf(buf, len, "%s%s", r->arch, r->gil ? "+gil" : "");
  const ab_scenario_t *sc = ab_scenario_find(r->scenario);
  const char *fp = sc ? sc->file_param : NULL;
  const char *v = fp ? json_string_value(json_object_get(json_object_get(r->doc, "params"), fp)) : NULL;
  const char *k;
  json_t *dv;
  json_object_foreach(json_object_get(r->doc, "devices"), k, dv) /* a param of the mock: not of a real device */
    if (json_is_string(dv) && strncmp(json_string_value(dv), "mock", 4))
      v = NULL;
  if (v) /* "threads mode=serial" */
    snprintf(buf + strlen(buf), len - strlen(buf), " %s=%s", fp, v);
  return buf;
}
