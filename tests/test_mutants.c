/* Every mutant in tests/mutants/ still applies to this tree. A patch that no longer applies
 * is reported "broken" by make mutants, in CI, after the suite has passed: the rule it guards
 * went unguarded from the change that moved its lines. Checked here, in a second, so that the
 * change that moves them fails at once and names the patch to regenerate.
 */
#include <glob.h>

#include "proc.h"
#include "test.h"

TEST(mutants_every_patch_applies_to_this_tree)
{
  glob_t g;
  ASSERT(glob("tests/mutants/*.patch", 0, NULL, &g) == 0);
  ASSERT(g.gl_pathc >= 200); /* the set is found, not an empty folder */
  globfree(&g);
  proc_t p;
  run_prog(&p, "/bin/bash",
           L("-c", "for p in tests/mutants/*.patch; do git apply --check \"$p\" 2>/dev/null"
                   " || echo \"$p\"; done"),
           60);
  ASSERT_INT(p.code, ==, 0);
  if (p.out[0])
    AB_FAIL("these mutants no longer apply (regenerate them against the tree):\n%s", p.out);
  proc_free(&p);
}
