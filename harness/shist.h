/* Sparse histograms for role instances: the same buckets as ab_hist_t (hist.h), but an
 * instance holds only what it records. A histogram is a header (count, min, max, sums, and
 * a page table) and the pages of AB_SH_PAGE buckets that its values reached, all taken on
 * first use from one pool shared by the run's instances (in memory shared across fork, its
 * pages only backed once touched). One writer per histogram (its instance); the pool's
 * cursor is atomic. The supervisor merges an instance's histogram into a full ab_hist_t
 * after the roles stop: exactly what ab_hist_record would have counted.
 *
 * A pool that runs out keeps count, min, max and sums exact and counts the values whose
 * bucket it could not hold (`lost`): the run fails naming them rather than reporting
 * quantiles from part of the data.
 */
#ifndef AB_SHIST_H
#define AB_SHIST_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define AB_SH_PAGE 32 /* buckets per page: 256 bytes */
#define AB_SH_NPAGES ((AB_HIST_NBUCKETS + AB_SH_PAGE - 1) / AB_SH_PAGE)

typedef struct ab_shist {
  uint64_t count;
  int64_t min, max;
  double sum, sumsq;
  uint32_t page[AB_SH_NPAGES]; /* pool page of each run of buckets, 0: none yet */
} ab_shist_t;

typedef struct ab_spool {
  uint32_t next;      /* the next free page (page 0 is never used: 0 means none) */
  uint32_t cap;       /* pages */
  uint64_t lost;      /* values whose bucket found no page */
  uint64_t pad[6];
  uint64_t pages[][AB_SH_PAGE];
} ab_spool_t;

/* A pool of `pages` pages (each 256 bytes), mapped shared and not touched: NULL and errno. */
ab_spool_t *ab_spool_new(uint32_t pages, size_t *size);
void ab_spool_free(ab_spool_t *p, size_t size);
/* Record v into the histogram whose header is *h (0: none yet; it is made here). */
void ab_shist_record(ab_spool_t *p, uint32_t *h, int64_t v);
/* Add histogram h (0: nothing) into dst. */
void ab_shist_merge(ab_hist_t *dst, const ab_spool_t *p, uint32_t h);
/* Pages taken so far (the memory the pool holds is that times 256 bytes). */
uint32_t ab_spool_used(const ab_spool_t *p);

#endif
