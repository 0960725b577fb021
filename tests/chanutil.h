/* Helpers of the channel tests (tests/test_chan.c, test_chan_ring.c, test_chan_kernel.c): a
 * payload pattern that shows a lost, reordered or misplaced chunk, channels made as the
 * runtimes make them, and the two ends of one run in threads or across a fork. The code is in
 * tests/test_chanutil.c (named test_*.c so that the Makefile's wildcard builds it; it holds
 * no TEST).
 */
#ifndef AB_TEST_CHANUTIL_H
#define AB_TEST_CHANUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

#define FRAME (1920 * 1080 * 3) /* 6220800: a raw 1080p RGB frame */

/* The transports each behaviour is pinned for: kernel ones carry bytes through a kernel
 * object, shared ones work between processes, and the ring serves threads alone. */
#define KERNEL_TRANSPORTS(X) X(pipe) X(unix) X(mq) X(tcp)
#define SHARED_TRANSPORTS(X) X(shm) KERNEL_TRANSPORTS(X)
#define ALL_TRANSPORTS(X) X(ring) SHARED_TRANSPORTS(X)

/* A pattern from seq and position: a lost, reordered or misplaced chunk shows. */
void fill(void *p, size_t n, uint64_t seq);

/* Fail, naming the first bad byte, unless p holds fill's pattern for n and seq. */
void verify(const void *p, size_t n, uint64_t seq);

/* Every transport but the private ring is one the procs runtime can use. */
int is_procs_transport(const char *t);

void mk_shared(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy,
               int want_fd, int shared);

/* ring is the private ring; everything else as the procs runtime makes it (shared). */
void mk(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy, int want_fd);

/* Fail unless the child pid exits with 0. */
void wait_child_ok(pid_t pid);

/* Run tx and rx on the two ends: a forked child sends while we receive, or a thread sends.
 * A private channel is attached from both threads at once, as the threads runtime does. */
typedef void (*side_fn)(ab_chan_t *c, void *arg);
typedef struct { ab_chan_t *c; side_fn fn; void *arg; int attach; } thr_arg_t;

/* A thread's body: attaches a->c's sending side if a->attach, then runs a->fn. */
void *thr_main(void *p);

void run_pair(ab_chan_t *c, int procs, side_fn tx, side_fn rx, void *arg);

#endif
