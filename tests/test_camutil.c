/* Not tests: the helpers of tests/camutil.h, shared by the camera tests (a state, opening
 * it). The name only matches the Makefile's tests/test_*.c.
 */
#include "ab.h"
#include "camutil.h"
#include "shm.h"
#include "test.h"

void *new_state(void)
{
  void *st = ab_shm_alloc(ab_camera_ops.state_size, 1);
  ASSERT(st != NULL);
  return st;
}

ab_camera_t *open_cam(void *st)
{
  void *h = NULL;
  char err[AB_ERRLEN] = "";
  int r = ab_camera_ops.open(st, &h, err);
  if (r != 0)
    AB_FAIL("open: %d %s", r, err);
  return h;
}
