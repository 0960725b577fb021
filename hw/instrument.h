/* The instrument: a lab device that speaks SCPI (scpi.h) over TCP and takes exactly one
 * connection, as a Red Pitaya's SCPI server does (port 5000). Two backends behind one
 * interface:
 *   real  --instrument HOST:PORT: that address, through the same code as the mock's (the
 *         result names the address); nothing on this machine is one, see the README.
 *   mock  the default ("mock-scpi"): a server in a helper process on 127.0.0.1
 *         (hw/instrument_mock.c), not counted in the architecture's costs, that keeps the
 *         instrument's rules and counts what it saw in a shared truth:
 *           - one connection: while one is open every other is accepted and closed at once,
 *             each counted a refusal;
 *           - commands served strictly in order, each message's replies sent in one line;
 *           - service times: `set` per setter or query, the acquisition `acq` from ACQ:TRIG
 *             to its end, replies paced at `link` bits per second;
 *           - modes: serial (after ACQ:TRIG the instrument serves nothing until the
 *             acquisition is done) or overlapped (it serves on; ACQ:TRIG:STAT? says WAIT or
 *             TD, *OPC? and the data wait for the end);
 *           - a header it does not know (or was told to reject) queues -113 for SYST:ERR?.
 *
 * Commands: *IDN? *RST *CLS *OPC? SYST:ERR? ACQ:START ACQ:STOP ACQ:TRIG <NOW> ACQ:TRIG:STAT?
 * ACQ:SOUR#:DATA? ACQ:DATA:FORMAT ASCII|BIN; SOUR#:FREQ:FIX SOUR#:VOLT OUTPUT#:STATE (Red
 * Pitaya's); PID#:SETPoint and IQ#:FREQuency, vendor-specific headers of our own (with '?').
 */
#ifndef AB_INSTRUMENT_H
#define AB_INSTRUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ab.h"
#include "hw.h"

enum ab_instr_mode { AB_INSTR_SERIAL = 0, AB_INSTR_OVERLAPPED = 1 };
/* Header families a mock can be told to reject, as a real instrument without them would. */
enum { AB_INSTR_REJECT_PID = 1, AB_INSTR_REJECT_IQ = 2 };

typedef struct ab_instr_cfg {
  int mode;           /* enum ab_instr_mode */
  int64_t acq_ns;     /* ACQ:TRIG -> done */
  int64_t set_ns;     /* each setter or query */
  double link_bps;    /* reply pacing */
  int samples;        /* per ACQ:SOUR#:DATA? */
  unsigned reject;    /* AB_INSTR_REJECT_* */
} ab_instr_cfg_t;

/* What the mock saw (the real backend: all zero). */
typedef struct ab_instr_stats {
  uint64_t connections, refusals, messages, commands, queries, errors, acquisitions, bytes_out;
  uint64_t overlong;      /* lines over AB_SCPI_LINE_MAX, refused */
  int64_t served_ns;      /* time spent serving commands (the busy share) */
} ab_instr_stats_t;

/* Supervisor, after prepare and before the run: the mock's rules (read at each connection).
 * 0, -EINVAL for a value out of range, -ENODEV on a real instrument (its rules are its own). */
int ab_instr_config(void *state, const ab_instr_cfg_t *cfg);
/* Supervisor, after the run. 0, or -ENODEV on a real instrument. */
int ab_instr_stats(const void *state, ab_instr_stats_t *out);
/* The address the owner connects to, "HOST:PORT" (for the mock, 127.0.0.1 and its port). */
const char *ab_instr_address(const void *state);
/* 1 for the mock. */
int ab_instr_is_mock(const void *state);

/* A connection: the owner's device handle, or one a scenario opens itself on the same
 * address (to show the one-connection rule). */
typedef struct ab_instr_conn ab_instr_conn_t;
/* Connect to "HOST:PORT" within timeout_ns, TCP_NODELAY. 0 with *out, or -errno with err. */
int ab_instr_connect(const char *address, int64_t timeout_ns, ab_instr_conn_t **out, char *err);
void ab_instr_conn_close(ab_instr_conn_t *c);
/* A connection around fd (taken over: closed with it), e.g. one passed from another
 * process; NULL without memory. */
ab_instr_conn_t *ab_instr_conn_wrap(int fd);
/* Close the socket now, keeping the handle (its owner closes it later): the connection is
 * given up, the instrument free for another. */
void ab_instr_conn_drop(ab_instr_conn_t *c);
int ab_instr_conn_fd(const ab_instr_conn_t *c);
/* Send one program message (a '\n' is added). 0 or -errno (-EPIPE: the peer closed). */
int ab_instr_send(ab_instr_conn_t *c, const char *msg);
/* The next reply (a line without its '\n', or a definite-length block's data) into *reply,
 * valid until the next call, waiting up to timeout_ns (0: only what has arrived). Returns its
 * length, -EAGAIN (none yet, timeout 0), -ETIMEDOUT, -ECONNRESET (closed by the peer: a
 * refused connection ends so), -EMSGSIZE (a reply over max bytes), -EPROTO (a malformed
 * block). */
ssize_t ab_instr_reply(ab_instr_conn_t *c, const char **reply, size_t max, int64_t timeout_ns);
/* Was the reply ab_instr_reply last returned a definite-length block (1) or a line (0)? */
int ab_instr_reply_was_block(const ab_instr_conn_t *c);
/* Send and wait for the reply: a query's round trip. */
ssize_t ab_instr_query(ab_instr_conn_t *c, const char *msg, const char **reply, size_t max, int64_t timeout_ns);

/* The owner role's connection (its device handle). */
ab_instr_conn_t *ab_instr_of(ab_ctx_t *ctx);

/* The mock server's main, on a listening socket (hw/instrument_mock.c). */
typedef struct ab__in_truth ab__in_truth_t;
int ab__instr_mock_run(int listen_fd, ab__in_truth_t *truth);

#endif
