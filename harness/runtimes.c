/* The table of runtimes, expanded from AB_RUNTIMES (ab.h) as the scenarios' table is from
 * SCENARIOS: everything outside runtime_*.c asks the runtime what it is (ab_runtime_t's
 * fields), never which one it is. */
#include <string.h>

#include "internal.h"

#define AB__RT_EXTERN(up, low) extern const ab_runtime_t ab_rt_##low;
AB_RUNTIMES(AB__RT_EXTERN)

#define AB__RT_ENTRY(up, low) [AB_ARCH_##up] = &ab_rt_##low,
static const ab_runtime_t *const ab__runtimes[AB_ARCH_N] = { AB_RUNTIMES(AB__RT_ENTRY) };

const ab_runtime_t *ab_runtime_get(int arch)
{
  return arch >= 0 && arch < AB_ARCH_N ? ab__runtimes[arch] : NULL;
}

const char *ab_arch_name(int arch)
{
  const ab_runtime_t *rt = ab_runtime_get(arch);
  return rt ? rt->name : "?";
}

int ab_arch_find(const char *name)
{
  for (int i = 0; i < AB_ARCH_N; i++)
    if (!strcmp(ab__runtimes[i]->name, name))
      return i;
  return -1;
}
