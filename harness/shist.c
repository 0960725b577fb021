/* Sparse histograms for role instances: see shist.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shist.h"

#define AB__SH_HDR_PAGES ((sizeof(ab_shist_t) + sizeof(uint64_t) * AB_SH_PAGE - 1) / (sizeof(uint64_t) * AB_SH_PAGE))

ab_spool_t *ab_spool_new(uint32_t pages, size_t *size)
{
  *size = sizeof(ab_spool_t) + (size_t)(pages + 1) * sizeof(uint64_t) * AB_SH_PAGE;
  /* Shared with forked roles; anonymous, so no tmpfs limit applies and a page is backed
   * only once an instance writes to it. */
  ab_spool_t *p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  p->next = 1;
  p->cap = pages + 1;
  return p;
}

void ab_spool_free(ab_spool_t *p, size_t size)
{
  if (p)
    munmap(p, size);
}

/* n pages, or 0 when the pool is out of them: the cursor never moves past its end, so it
 * cannot wrap however often a full pool is asked. */
static uint32_t ab__spool_take(ab_spool_t *p, uint32_t n)
{
  uint32_t at = __atomic_load_n(&p->next, __ATOMIC_RELAXED);
  do {
    if ((uint64_t)at + n > p->cap)
      return 0;
  } while (!__atomic_compare_exchange_n(&p->next, &at, at + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return at;
}

uint32_t ab_spool_used(const ab_spool_t *p)
{
  uint32_t n = __atomic_load_n(&p->next, __ATOMIC_RELAXED);
  return (n < p->cap ? n : p->cap) - 1;
}

void ab_shist_record(ab_spool_t *p, uint32_t *h, int64_t v)
{
  if (!*h) {
    uint32_t at = ab__spool_take(p, AB__SH_HDR_PAGES);
    if (!at) {
      __atomic_add_fetch(&p->lost, 1, __ATOMIC_RELAXED);
      return;
    }
    ab_shist_t *s = (ab_shist_t *)p->pages[at];
    s->min = INT64_MAX;
    s->max = INT64_MIN;
    *h = at;
  }
  ab_shist_t *s = (ab_shist_t *)p->pages[*h];
  int b = ab_hist_index(v);
  uint32_t *pg = &s->page[b / AB_SH_PAGE];
  if (!*pg)
    *pg = ab__spool_take(p, 1);
  if (*pg)
    p->pages[*pg][b % AB_SH_PAGE]++;
  else
    __atomic_add_fetch(&p->lost, 1, __ATOMIC_RELAXED);
  s->count++;
  s->sum += (double)v;
  s->sumsq += (double)v * (double)v;
  s->min = v < s->min ? v : s->min;
  s->max = v > s->max ? v : s->max;
}

void ab_shist_merge(ab_hist_t *dst, const ab_spool_t *p, uint32_t h)
{
  if (!h)
    return;
  const ab_shist_t *s = (const ab_shist_t *)p->pages[h];
  if (!s->count)
    return;
  for (int g = 0; g < AB_SH_NPAGES; g++) {
    if (!s->page[g])
      continue;
    for (int i = 0; i < AB_SH_PAGE && g * AB_SH_PAGE + i < AB_HIST_NBUCKETS; i++)
      dst->buckets[g * AB_SH_PAGE + i] += p->pages[s->page[g]][i];
  }
  ab_hist_merge_head(dst, s->count, s->min, s->max, s->sum, s->sumsq);
}
