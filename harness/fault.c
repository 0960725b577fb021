/* Faults injected on purpose (--fault SPEC), so the tests can check the harness's accounting
 * exactly instead of waiting for the machine to misbehave: a stall of a known size in a known
 * activation must show as exactly that lateness and those missed periods, under every runtime;
 * a message corrupted in transit must fail the run. A result that had faults injected lists
 * them, so it is never mistaken for a measurement.
 *
 *   stall:ROLE:K:DUR   ROLE's activation K (from 0) is blocked for DUR before its step runs
 *   slow:ROLE:DUR      every step of ROLE does DUR more of busy work first (a spin on the
 *                      monotonic clock, not a sleep: the role keeps its CPU, as a slower step
 *                      would), so a regression gate can be shown a slowdown of a known size
 *   corrupt:CHAN:K     the K-th message (from 0) received on CHAN has its payload inverted
 *                      from byte 256 on (the whole payload if it is no longer than that)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define AB__CORRUPT_FROM 256

/* A role's or a channel's index by name, or -1. */
static int ab__target(const ab_scenario_t *sc, int role, const char *name)
{
  int n = role ? sc->nroles : sc->nchans;
  for (int i = 0; i < n; i++)
    if (!strcmp(role ? sc->roles[i].name : sc->chans[i].name, name))
      return i;
  return -1;
}

/* f->ns from v, from 1ns to max (spelled top). */
static int ab__fault_duration(const char *spec, const char *v, int64_t max, const char *top, ab_fault_t *f,
                              char *err, size_t len)
{
  if (ab_parse_duration(v, &f->ns) < 0 || f->ns <= 0 || f->ns > max) {
    snprintf(err, len, "--fault %s: %s is not a duration from 1ns to %s", spec, v, top);
    return -EINVAL;
  }
  return 0;
}

int ab_fault_parse(const ab_scenario_t *sc, const char *spec, ab_fault_t *f, char *err, size_t len)
{
  memset(f, 0, sizeof *f);
  if (strlen(spec) >= sizeof f->spec) {
    snprintf(err, len, "--fault %.40s...: too long", spec);
    return -EINVAL;
  }
  snprintf(f->spec, sizeof f->spec, "%s", spec);
  char buf[96];
  snprintf(buf, sizeof buf, "%s", spec);
  char *field[5] = { 0 };
  int n = 0;
  for (char *p = buf, *save = NULL, *tok; n < 5 && (tok = strtok_r(p, ":", &save)); p = NULL)
    field[n++] = tok;
  const char *kind = n > 0 ? field[0] : "";
  int stall = !strcmp(kind, "stall") && n == 4, slow = !strcmp(kind, "slow") && n == 3;
  int corrupt = !strcmp(kind, "corrupt") && n == 3;
  if (!stall && !slow && !corrupt) {
    snprintf(err, len, "--fault %s: expected stall:ROLE:K:DURATION, slow:ROLE:DURATION or corrupt:CHANNEL:K",
             spec);
    return -EINVAL;
  }
  f->kind = stall ? AB_FAULT_STALL : slow ? AB_FAULT_SLOW : AB_FAULT_CORRUPT;
  f->target = ab__target(sc, !corrupt, field[1]);
  if (f->target < 0) {
    snprintf(err, len, "--fault %s: scenario %s has no %s named %s", spec, sc->name,
             corrupt ? "channel" : "role", field[1]);
    return -EINVAL;
  }
  if (slow) /* the busy work is paid again at every step: a second is already absurd */
    return ab__fault_duration(spec, field[2], AB_NS_PER_S, "1s", f, err, len);
  int64_t k;
  if (ab_parse_int(field[2], &k) < 0 || k < 0) {
    snprintf(err, len, "--fault %s: %s is not an activation or message number (expected 0 or more)", spec,
             field[2]);
    return -EINVAL;
  }
  f->k = (uint64_t)k;
  return stall ? ab__fault_duration(spec, field[3], 60 * AB_NS_PER_S, "60s", f, err, len) : 0;
}

void ab__fault_step(ab_ctx_t *ctx)
{
  const ab_run_t *run = ctx->run;
  for (int i = 0; i < run->nfaults; i++) {
    const ab_fault_t *f = &run->faults[i];
    if (f->kind == AB_FAULT_CORRUPT || f->target != ctx->role)
      continue;
    if (f->kind == AB_FAULT_SLOW) {
      for (int64_t end = ab_now_ns() + f->ns; ab_now_ns() < end;)
        ;
    } else if (f->k == ctx->activation) {
      struct timespec ts = ab_ts(ab_now_ns() + f->ns);
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    }
  }
}

void ab__fault_recv(ab_ctx_t *ctx, int chan, const void *data, uint32_t len)
{
  const ab_run_t *run = ctx->run;
  for (int i = 0; i < run->nfaults; i++) {
    const ab_fault_t *f = &run->faults[i];
    if (f->kind != AB_FAULT_CORRUPT || f->target != chan || f->k != ctx->received[chan])
      continue;
    unsigned char *p = (unsigned char *)data; /* the receiver's copy, or its slot */
    for (uint32_t b = len > AB__CORRUPT_FROM ? AB__CORRUPT_FROM : 0; b < len; b++)
      p[b] = (unsigned char)~p[b];
  }
}
