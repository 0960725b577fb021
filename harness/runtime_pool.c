/* The pool runtime: Python's multiprocessing.Pool. The pooled roles' steps are tasks for W
 * worker processes (--param workers, the CPU count by default), each carrying a copy of its
 * instance's state; a step's waits and I/O stay in its worker. Every other role is a thread
 * in the supervisor's process. The machinery is pool.c's. */
#include "internal.h"

const ab_runtime_t ab_rt_pool = { .name = "pool", AB__POOL_OPS };
