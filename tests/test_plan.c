/* The plan of a command (harness/plan.c): bench plans every scenario into one plan, each
 * with its own sweep, so that each run must keep its own point: its param, the value, the
 * result file's name and its "sweep" all from its scenario, never from one planned after. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "test.h"

/* Plan scenario name's sweep, on threads, into p. */
static void plan(ab__plan_t *p, const char *name, const char *sweep)
{
  const ab_scenario_t *sc = ab_scenario_find(name);
  ASSERT(sc != NULL);
  ab__cli_t c;
  memset(&c, 0, sizeof c);
  c.duration_ns = AB_NS_PER_S;
  c.sweep = sweep;
  ASSERT_EQ(ab_plan_scenario(p, &c, sc, "threads", NULL), 0);
}

TEST(plan_each_run_keeps_its_own_sweep_point_when_a_later_scenario_sweeps_another)
{
  ab__plan_t *p = calloc(1, sizeof *p);
  ASSERT(p != NULL);
  plan(p, "agents", "n=1,10,50");
  plan(p, "instrument", "owner=naive,mux");
  ASSERT_EQ(p->n, 5);
  static const char *const key[] = { "n", "n", "n", "owner", "owner" };
  static const char *const val[] = { "1", "10", "50", "naive", "mux" };
  for (int k = 0; k < p->n; k++) {
    const ab_run_opts_t *o = &p->run[k];
    char kv[64];
    snprintf(kv, sizeof kv, "%s=%s", key[k], val[k]);
    if (!o->sweep_key || strcmp(o->sweep_key, key[k]) || strcmp(o->sweep_value, val[k]))
      AB_FAIL("run %d (%s): sweep %s=%s, expected %s", k, o->sc->name, o->sweep_key ? o->sweep_key : "(none)",
              o->sweep_value ? o->sweep_value : "(none)", kv);
    ASSERT_STR(o->params[o->nparams - 1], kv);
    ASSERT_STR(o->sweep_points, k < 3 ? "1,10,50" : "naive,mux");
  }
  free(p);
}
