/* The mock instrument's shared truth: its rules (written by the supervisor before the run,
 * read by the mock at each connection) and its counts (written by the mock only, read after
 * the run). Private to hw/instrument.c and hw/instrument_mock.c.
 */
#ifndef AB_INSTRUMENT_IMPL_H
#define AB_INSTRUMENT_IMPL_H

#include "instrument.h"

struct ab__in_truth {
  ab_instr_cfg_t cfg;
  /* counts: the mock's alone while it runs (its single thread), relaxed atomics for readers */
  uint64_t connections, refusals, messages, commands, queries, errors, acquisitions, bytes_out, overlong;
  int64_t served_ns;
};

#endif
