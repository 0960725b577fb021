/* Registers: latest-value cells (command state, flags). A seqlock: writers serialise on the
 * sequence word (odd while a write is in progress), readers never block a writer and retry
 * if the sequence moved under them. Data is copied in 8-byte atomic words (release stores,
 * acquire loads: reg.c says why), so a reader racing a writer is well defined and any torn
 * copy is detected and retried. Lives in shared memory for procs (no pointers inside). */
#ifndef AB_REG_H
#define AB_REG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ab_reg ab_reg_t;

/* size in bytes (rounded up to 8). Returns NULL + errno. */
ab_reg_t *ab_reg_create(size_t size, int shared);
/* The memory the register holds (its seqlock and value), for the harness's account. */
size_t ab_reg_bytes(const ab_reg_t *r);
void ab_reg_destroy(ab_reg_t *r);
size_t ab_reg_size(const ab_reg_t *r);
void ab_reg_store(ab_reg_t *r, const void *val);
/* Copies the latest value; returns its version (number of stores so far, 0 = never). */
uint64_t ab_reg_load(ab_reg_t *r, void *val);

#endif
