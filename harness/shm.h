/* Shared memory for the procs runtime: POSIX shared memory objects, unlinked the moment they
 * are mapped, so no /dev/shm entry outlives even a SIGKILL. Mapped before fork and inherited.
 * With shared == 0 the same calls hand out ordinary private memory (threads, loop). */
#ifndef AB_SHM_H
#define AB_SHM_H

#include <stddef.h>

void *ab_shm_alloc(size_t size, int shared); /* zeroed, page aligned; NULL + errno on failure */
void ab_shm_free(void *p, size_t size, int shared);

/* An arena: one shared anonymous mapping (inherited across fork, backed only where written)
 * that many allocations are carved from, so a thousand queues are one mapping rather than
 * two thousand: every mapping costs every forked process at fork, at exit and in each read
 * of its smaps. Carves are zeroed, 64-byte aligned, page aligned from a page up. Releasing a
 * carve drops this process's pages of it (madvise), the memory stays the arena's. */
typedef struct ab_arena {
  char *base;
  size_t size, used;
} ab_arena_t;
int ab_arena_init(ab_arena_t *a, size_t size); /* 0 or -errno */
void *ab_arena_alloc(ab_arena_t *a, size_t size); /* NULL + ENOMEM when full */
void ab_arena_release(ab_arena_t *a, void *p, size_t size);
int ab_arena_owns(const ab_arena_t *a, const void *p);
void ab_arena_free(ab_arena_t *a);

#endif
