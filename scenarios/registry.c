/* The scenario table: one SCENARIOS(X) line per scenario, expanded into the list the CLI,
 * `list` and `bench` walk. A new scenario is one file in scenarios/ and one name here. */
#include <string.h>

#include "internal.h"

#define SCENARIOS(X) X(baseline) X(robot) X(agents) X(gil) X(franka) X(instrument) X(audio)

#define AB__DECL(n) extern const ab_scenario_t ab_scenario_##n;
SCENARIOS(AB__DECL)
#define AB__REF(n) &ab_scenario_##n,
const ab_scenario_t *const ab_scenarios[] = { SCENARIOS(AB__REF) NULL };

const ab_scenario_t *ab_scenario_find(const char *name)
{
  for (int i = 0; ab_scenarios[i]; i++)
    if (!strcmp(ab_scenarios[i]->name, name))
      return ab_scenarios[i];
  return NULL;
}

/* WORKLOADS.md's claims of the workloads still to be built, each with the scenario that will
 * measure it. A claim about a primitive's price is measured now, by the micro-benchmarks;
 * when its scenario is built, its claims move into its descriptor. */
static const ab_claim_t instrument_claims[] = {
  { "instrument_multiplexing", "command-ID multiplexing alone lets the generator proceed while the scope acquires",
    0, "ms", "", "", AB_ABOUT },
};
const ab_claim_set_t ab_claims_pending[] = {
  { "instrument", "seeds/003_2571d265ae705938.txt", instrument_claims,
    sizeof instrument_claims / sizeof instrument_claims[0] },
  { NULL, NULL, NULL, 0 },
};
