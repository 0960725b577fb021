/* What the robot device's two files share (hw/franka.c: the device, the owner's I/O and the
 * results; hw/franka_robot.c: the mock robot). Not for anyone else.
 *
 * The truth is one block of shared memory made by prepare, before the robot is forked, so
 * the robot writes where the supervisor reads whatever the runtime (the device's own state
 * block is private memory under threads and loop). The robot is its only writer once START
 * has come. It publishes `sent` and `judged_to` with release stores; an entry's t_resp and
 * flags can change after it is judged (a late command), so they are written t_resp first,
 * flags last, and read flags first, each atomically.
 */
#ifndef AB_FRANKA_IMPL_H
#define AB_FRANKA_IMPL_H

#include <stdint.h>

#include "franka.h"

enum ab__fk_flags {
  AB__FK_JUDGED = 1,
  AB__FK_ON_TIME = 2,
  AB__FK_LATE = 4,
  AB__FK_MISSED = 8,
  AB__FK_IN_REFLEX = 16,
  AB__FK_REFLEX = 32, /* this state's violation triggered a reflex */
};

typedef struct ab__fk_entry {
  int64_t t_sent;   /* the robot's CLOCK_MONOTONIC when the state left */
  int64_t t_resp;   /* arrival of the first command it accepted for the state; 0: none */
  uint32_t flags;   /* enum ab__fk_flags */
  uint32_t refused; /* commands for the state refused during a reflex */
} ab__fk_entry_t;

/* The verdicts of the states beyond the log, as they come. */
typedef struct ab__fk_counts {
  uint64_t states, on_time, late, missed, in_reflex, reflexes, refused;
} ab__fk_counts_t;

typedef struct ab__fk_truth {
  /* Set by prepare (defaults) and ab_franka_config; the robot copies them at START. */
  int64_t period_ns, duration_ns, reflex_reset_ns;
  int32_t reflex_after;
  /* The robot's. */
  int64_t t_start, period;  /* as START and the configuration made them; 0 before START */
  uint64_t sent;            /* states sent */
  int64_t judged_to;        /* every state sent whose deadline is at or before it is judged */
  uint32_t done;            /* no more states will be sent, and every one sent is judged */
  uint64_t bad, duplicate;
  uint64_t send_errors;     /* states whose sendto failed (counted as sent all the same) */
  int64_t send_late_max;    /* over every state, the log's and those beyond */
  int32_t sched_fifo;       /* the robot runs SCHED_FIFO (1), or could not (0: not allowed) */
  ab__fk_counts_t over;     /* states from AB_FRANKA_LOG_STATES on */
  ab__fk_entry_t log[AB_FRANKA_LOG_STATES];
} ab__fk_truth_t;

/* Serve the robot on `sock` (bound to 127.0.0.1, not connected) until killed. */
int ab__fk_robot_run(int sock, ab__fk_truth_t *tr);

#endif
