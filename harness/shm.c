/* Shared memory: see shm.h. The object is unlinked as soon as it is mapped, so the name
 * exists for microseconds and nothing can be left in /dev/shm. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm.h"

void *ab_shm_alloc(size_t size, int shared)
{
  if (size == 0)
    size = 1;
  if (!shared) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  static unsigned serial;
  char name[64];
  snprintf(name, sizeof name, "/archbench-%d-%u", (int)getpid(), __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return NULL;
  shm_unlink(name);
  /* Reserve the pages now: ftruncate alone makes a sparse object, and the first write past
   * what tmpfs can hold would then fault (SIGBUS) in the middle of a run. */
  void *p = MAP_FAILED;
  int e = posix_fallocate(fd, 0, (off_t)size);
  if (e == 0) {
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    e = errno;
  }
  close(fd);
  errno = e;
  return p == MAP_FAILED ? NULL : p;
}

void ab_shm_free(void *p, size_t size, int shared)
{
  (void)shared;
  if (p)
    munmap(p, size ? size : 1);
}

int ab_arena_init(ab_arena_t *a, size_t size)
{
  a->used = 0;
  a->size = (size + 4095) & ~(size_t)4095;
  a->base = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (a->base == MAP_FAILED) {
    a->base = NULL;
    return -errno;
  }
  return 0;
}

void *ab_arena_alloc(ab_arena_t *a, size_t size)
{
  size_t align = size >= 4096 ? 4096 : 64, at = (a->used + align - 1) & ~(align - 1);
  if (!a->base || at + size > a->size || at + size < at) {
    errno = ENOMEM;
    return NULL;
  }
  a->used = at + size;
  return a->base + at;
}

void ab_arena_release(ab_arena_t *a, void *p, size_t size)
{
  (void)a;
  uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + size) & ~(uintptr_t)4095;
  if (hi > lo)
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int ab_arena_owns(const ab_arena_t *a, const void *p)
{
  return a && a->base && (const char *)p >= a->base && (const char *)p < a->base + a->size;
}

void ab_arena_free(ab_arena_t *a)
{
  if (a->base)
    munmap(a->base, a->size);
  a->base = NULL;
}
