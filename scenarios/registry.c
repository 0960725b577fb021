/* The scenario table: one SCENARIOS(X) line per scenario, expanded into the list the CLI,
 * `list` and `bench` walk. A new scenario is one file in scenarios/ and one name here. */
#include <string.h>

#include "internal.h"

#define SCENARIOS(X) X(baseline) X(robot) X(agents) X(gil)

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
