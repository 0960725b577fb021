/* Helpers of the serial tests (tests/test_serial.c, test_motorsim.c): the byte counts of the
 * motor protocol's frames, the targets the motion tests drive to, and a simulated controller
 * forked on an fd. The code is in tests/test_serialutil.c (named test_*.c so that the
 * Makefile's wildcard builds it; it holds no TEST).
 */
#ifndef AB_TEST_SERIALUTIL_H
#define AB_TEST_SERIALUTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "ab.h"
#include "motor_proto.h"

#define SET_BYTES (4 + AB_MP_SET_LEN + 2)
#define READ_BYTES 6
#define STATUS_BYTES (4 + AB_MP_STATUS_LEN + 2)
#define NAK_BYTES 7
#define SANE_NS AB_NS_PER_S /* no exchange here has any business taking a second */

/* The targets of the motion tests: no 0xA5 in any byte, largest move 0.3 rad. */
extern const int32_t T[AB_MP_JOINTS];

/* Fork a simulator on fd; other_end is closed in it so that our closing it means EOF. */
pid_t start_sim(int fd, int baud, int other_end);

/* Fail unless the child pid exits with 0. */
void expect_clean_exit(pid_t pid);

#endif
