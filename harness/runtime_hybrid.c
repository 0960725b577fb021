/* The hybrid runtime, as the agents document proposes it: the pooled (CPU-flagged) roles'
 * steps in a process pool, as under pool, and their waits and I/O in a pool of 20 threads in
 * the supervisor's process, so a worker never sits idle on I/O. The machinery is pool.c's. */
#include "internal.h"

const ab_runtime_t ab_rt_hybrid = { .name = "hybrid", AB__POOL_OPS, .io_threads = AB_POOL_IO_THREADS };
