/* Helpers of the camera tests (tests/test_camera.c, test_camera_v4l2.c): a device state in
 * shared memory, as the supervisor allocates it, and opening it. The code is in
 * tests/test_camutil.c (named test_*.c so that the Makefile's wildcard builds it; it holds
 * no TEST).
 */
#ifndef AB_TEST_CAMUTIL_H
#define AB_TEST_CAMUTIL_H

#include "camera.h"

/* A fresh state of ab_camera_ops.state_size in shared memory; fails the test if none. */
void *new_state(void);

/* ab_camera_ops.open on st; fails the test, naming why, if it fails. */
ab_camera_t *open_cam(void *st);

#endif
