/* Shared memory for the procs runtime: POSIX shared memory objects, unlinked the moment they
 * are mapped, so no /dev/shm entry outlives even a SIGKILL. Mapped before fork and inherited.
 * With shared == 0 the same calls hand out ordinary private memory (threads, loop). */
#ifndef AB_SHM_H
#define AB_SHM_H

#include <stddef.h>

void *ab_shm_alloc(size_t size, int shared); /* zeroed, page aligned; NULL + errno on failure */
void ab_shm_free(void *p, size_t size, int shared);

#endif
