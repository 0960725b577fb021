/* Fuzz target: the scenario parameter resolver, ab_param_resolve (harness/runtime.c), as
 * `archbench run SCENARIO --param k=v ...` calls it. The first byte picks a registered
 * scenario; the rest, split at newlines, is up to AB_MAX_PARAMS "k=v" strings. For a run
 * handle zeroed as ab_run_one makes it:
 *   - the defaults alone resolve (the descriptor is sound);
 *   - it returns 0, -EINVAL or -ERANGE, and on an error says so, naming --param;
 *   - when it accepts: every value is within its declared range (an enum: one of its
 *     choices), a parameter given is marked given and holds what was given last, one not
 *     given holds its default;
 *   - what it records is what ran: resolving "name=<recorded string>" alone gives the same
 *     value, so a result file's params reproduce the run.
 * A value too long to be recorded whole (64 characters or more) is refused: it once was
 * accepted and recorded cut short, a value that never ran.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_INPUT 1024

static ab_run_t run, again;

static int nscenarios(void)
{
  int n = 0;
  while (ab_scenarios[n])
    n++;
  return n;
}

static int resolve(ab_run_t *r, const ab_scenario_t *sc, const char *const *kv, int n,
                   char *err, size_t len)
{
  memset(r, 0, sizeof *r);
  r->sc = sc;
  err[0] = 0;
  int e = ab_param_resolve(r, kv, n, err, len);
  assert(e == 0 || e == -EINVAL || e == -ERANGE);
  assert(e == 0 || strstr(err, "--param"));
  return e;
}

static int nchoices(const char *c)
{
  int n = c && *c ? 1 : 0;
  for (; c && *c; c++)
    n += *c == '|';
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char buf[MAX_INPUT + 1];
  const char *kv[AB_MAX_PARAMS];
  char err[512];
  int n = 0;
  if (size < 1 || size > MAX_INPUT)
    return 0;
  const ab_scenario_t *sc = ab_scenarios[data[0] % nscenarios()];
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = 0;
  if (strlen(buf) != size - 1)
    return 0; /* a NUL inside: no argv string holds one */
  for (char *s = buf, *nl; n < AB_MAX_PARAMS; s = nl + 1) {
    kv[n++] = s;
    if (!(nl = strchr(s, '\n')))
      break;
    *nl = 0;
  }
  if (size == 1)
    n = 0;

  assert(resolve(&run, sc, NULL, 0, err, sizeof err) == 0);
  if (resolve(&run, sc, kv, n, err, sizeof err) < 0)
    return 0;

  for (int i = 0; i < sc->nparams; i++) {
    const ab_param_desc_t *p = &sc->params[i];
    const char *last = NULL;
    size_t len = strlen(p->name);
    for (int k = 0; k < n; k++)
      if (!strncmp(kv[k], p->name, len) && kv[k][len] == '=')
        last = kv[k] + len + 1;
    assert(run.pset[i] == (last != NULL));
    if (p->type == AB_P_ENUM)
      assert(run.pval[i] >= 0 && run.pval[i] < nchoices(p->choices) &&
             run.pval[i] == (int)run.pval[i]);
    else
      assert(run.pval[i] >= p->min && run.pval[i] <= p->max);

    /* The recorded string is what was given, and resolves alone to the same value. */
    const char *given = last ? last : p->def;
    assert(strlen(given) < sizeof run.pstr[i]); /* accepted, so it fits */
    if (strcmp(run.pstr[i], given)) {
      fprintf(stderr, "--param %s=%s is recorded as '%s'\n", p->name, given, run.pstr[i]);
      abort();
    }
    char one[sizeof run.pstr[i] + AB_NAMELEN + 2];
    snprintf(one, sizeof one, "%s=%s", p->name, run.pstr[i]);
    const char *alone[1] = { one };
    assert(resolve(&again, sc, alone, 1, err, sizeof err) == 0);
    assert(again.pval[i] == run.pval[i]);
  }
  return 0;
}
