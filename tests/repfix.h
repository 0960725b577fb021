/* The report's decision as the tests read it: load a run directory the way `archbench report`
 * does (reports/load.c, which also decides every group), find a group by its key, and check
 * the invariants every decision keeps. Shared by tests/test_report.c (hand-made results) and
 * tests/test_report_page.c (real ones).
 */
#ifndef AB_TEST_REPFIX_H
#define AB_TEST_REPFIX_H

#include "hist.h"
#include "report.h"
#include "test.h"

/* A metric whose p999 and max are v and the rest v/2, with buckets that hold its count. */
static inline json_t *fx_metric(long long v)
{
  long long h = v / 2;
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:[[I, I], [I, I]]}", "count", (json_int_t)1000,
                   "min", (json_int_t)h, "max", (json_int_t)v, "p50", (json_int_t)h, "p90", (json_int_t)h, "p99",
                   (json_int_t)h, "p999", (json_int_t)v, "p9999", (json_int_t)v, "mean", (double)h, "stddev", 0.0,
                   "hist", (json_int_t)ab_hist_upper(ab_hist_index(h)), (json_int_t)999, (json_int_t)ab_hist_upper(ab_hist_index(v)),
                   (json_int_t)1);
}

/* dir, loaded and decided; fails the test with load's own message. */
static inline void rep_load(ab_rep_t *rp, const char *dir)
{
  char err[1024] = "";
  int rc = ab_rep_load(rp, 1, (char *[]){ (char *)dir }, err, sizeof err);
  if (rc)
    AB_FAIL("ab_rep_load(%s) = %d: %s", dir, rc, err);
}

/* Every candidate once in order[], a kind set, a sentence naming the first as the pick. */
static inline void rep_check(const ab_rep_group_t *g)
{
  int seen[AB_REP_MAX_CAND] = { 0 };
  char pick[96];
  for (int i = 0; i < g->ncand; i++) {
    ASSERT(g->order[i] >= 0 && g->order[i] < g->ncand);
    if (seen[g->order[i]]++)
      AB_FAIL("group %s: candidate %s is twice in order[]", g->key, g->cand[g->order[i]].label);
  }
  if (g->kind < AB_REC_CLEAR || g->kind > AB_REC_NONE_PASS)
    AB_FAIL("group %s: kind %d is none of enum ab_rec_kind", g->key, g->kind);
  snprintf(pick, sizeof pick, "<b class=\"pick\">%s</b>", g->cand[g->order[0]].label);
  ASSERT_CONTAINS(g->sentence, pick);
}

/* The group keyed key ("robot", "agents n=2"), checked; fails the test, listing the keys. */
static inline const ab_rep_group_t *rep_group(const ab_rep_t *rp, const char *key)
{
  char keys[512] = "";
  for (int k = 0; k < rp->ngroup; k++) {
    if (!strcmp(rp->group[k].key, key)) {
      rep_check(&rp->group[k]);
      return &rp->group[k];
    }
    snprintf(keys + strlen(keys), sizeof keys - strlen(keys), " \"%s\"", rp->group[k].key);
  }
  AB_FAIL("no group \"%s\"; the groups:%s", key, keys);
  return NULL;
}

/* The label of the candidate at rank i (0: the pick). */
static inline const char *rep_at(const ab_rep_group_t *g, int i)
{
  ASSERT(i < g->ncand);
  return g->cand[g->order[i]].label;
}

/* The candidate labelled label. */
static inline const ab_rep_cand_t *rep_cand(const ab_rep_group_t *g, const char *label)
{
  for (int i = 0; i < g->ncand; i++)
    if (!strcmp(g->cand[i].label, label))
      return &g->cand[i];
  AB_FAIL("group %s has no candidate %s", g->key, label);
  return NULL;
}

#endif
