/* Result-file accessors for the tests: see tests/jresult.h. */
#include <math.h>
#include <unistd.h>

#include "proc.h"
#include "jresult.h"
#include "result.h"
#include "test.h"

const char *run_baseline_pair(void)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--arch", "threads,procs", "--duration", "300ms", "--out", out), 60);
  if (p.code != 0)
    AB_FAIL("archbench exited %d: %s", p.code, p.err);
  proc_free(&p);
  return out;
}

void run_scenarios(scen_run_t *runs, int n)
{
  proc_t p[8];
  if (n > 8)
    AB_FAIL("run_scenarios: %d runs, at most 8", n);
  for (int k = 0; k < n; k++) { /* all started first: a test's runs wait side by side */
    const char *args[48] = { "run", runs[k].scenario, "--out", runs[k].out, "--quiet" };
    int m = 5;
    for (const char *const *l = runs[k].a; l; l = l == runs[k].a ? runs[k].b : NULL)
      for (int i = 0; l[i] && m < 47; i++)
        args[m++] = l[i];
    args[m] = NULL;
    start_ab(&p[k], args);
  }
  for (int k = 0; k < n; k++) {
    finish_ab(&p[k], 60);
    if (p[k].code != 0 && p[k].code != 1)
      AB_FAIL("`%s` exited %d, expected 0 or 1; stderr: \"%s\"", p[k].cmd, p[k].code, p[k].err);
    runs[k].code = p[k].code;
  }
  for (int k = 0; k < n; k++) {
    assert_nothing_left(&p[k]);
    proc_free(&p[k]);
    runs[k].r = load_result(runs[k].out, runs[k].file);
  }
}

json_t *run_scenario(const char *scenario, const char *out, const char *file, const char *const *a,
                     const char *const *b, int *code)
{
  scen_run_t r = { scenario, out, file, a, b, 0, NULL };
  run_scenarios(&r, 1);
  if (code)
    *code = r.code;
  return r.r;
}

ab_result_t *load_view(const char *out, const char *file)
{
  char path[512], err[512];
  snprintf(path, sizeof path, "%s/%s", out, file);
  ab_result_t *r = ab_result_load(path, err, sizeof err);
  if (!r)
    AB_FAIL("%s", err);
  return r;
}

json_t *load_result(const char *out, const char *file)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", out, file);
  if (access(path, F_OK) != 0) {
    char names[1024];
    AB_FAIL("no result file %s (the out dir holds: %s)", path,
            dir_entries(out, names, sizeof names) ? names : "nothing");
  }
  json_error_t je;
  json_t *r = json_load_file(path, 0, &je);
  if (!r)
    AB_FAIL("%s is not JSON: line %d: %s", path, je.line, je.text);
  ASSERT(json_is_object(r));
  json_t *s = json_object_get(r, "schema");
  ASSERT_STR(json_string_value(s), "archbench-result/1");
  return r;
}

json_t *jobj(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  if (!json_is_object(v))
    AB_FAIL("result: \"%s\" is missing or not an object", k);
  return v;
}

const char *jstr(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v))
    AB_FAIL("result: \"%s\" is missing or not a string", k);
  return json_string_value(v);
}

double jnum(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    AB_FAIL("result: \"%s\" is missing or not a number", k);
  return json_number_value(v);
}

/* A metric with every statistic, ordered min <= p50 <= ... <= max, and a histogram whose
 * counts add up to count. */
json_t *metric(json_t *res, const char *name)
{
  json_t *m = json_object_get(jobj(res, "metrics"), name);
  if (!json_is_object(m))
    AB_FAIL("result: metric \"%s\" is missing", name);
  static const char *const order[] = { "min", "p50", "p90", "p99", "p999", "p9999", "max" };
  double prev = -INFINITY, count = jnum(m, "count");
  jnum(m, "mean");
  jnum(m, "stddev");
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    double v = jnum(m, order[i]);
    if (count > 0 && v < prev)
      AB_FAIL("metric %s: %s = %.0f is below the statistic before it (%.0f)", name, order[i], v, prev);
    prev = v;
  }
  json_t *h = json_object_get(m, "hist");
  if (!json_is_array(h))
    AB_FAIL("metric %s: \"hist\" is missing or not an array", name);
  double sum = 0;
  size_t i;
  json_t *b;
  json_array_foreach(h, i, b) {
    if (!json_is_array(b) || json_array_size(b) != 2)
      AB_FAIL("metric %s: hist[%zu] is not [upper_ns, count]", name, i);
    sum += json_number_value(json_array_get(b, 1));
  }
  if (sum != count)
    AB_FAIL("metric %s: the histogram holds %.0f samples, count says %.0f", name, sum, count);
  return m;
}

double counter(json_t *res, const char *name)
{
  json_t *c = json_object_get(jobj(res, "counters"), name);
  if (!json_is_number(c))
    AB_FAIL("result: counter \"%s\" is missing", name);
  return json_number_value(c);
}

double samples_above(json_t *m, double lo_ns)
{
  /* Buckets are 1/256 of their value wide: a bucket whose upper bound reaches lo holds
   * values at or above lo, give or take that width; callers keep lo away from any sample. */
  json_t *h = json_object_get(m, "hist"), *b;
  double n = 0;
  size_t i;
  json_array_foreach(h, i, b)
    if (json_number_value(json_array_get(b, 0)) >= lo_ns)
      n += json_number_value(json_array_get(b, 1));
  return n;
}

json_t *requirement(json_t *res, const char *name)
{
  json_t *reqs = json_object_get(res, "requirements"), *q;
  size_t i;
  json_array_foreach(reqs, i, q) {
    json_t *n = json_object_get(q, "name");
    if (json_is_string(n) && !strcmp(json_string_value(n), name))
      return q;
  }
  AB_FAIL("result: no requirement named %s", name);
}
