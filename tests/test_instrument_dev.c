/* Tests of the instrument device (hw/instrument.c, hw/instrument_mock.c): the mock keeps the
 * instrument's rules, and the connection reads its replies.
 *   - one connection: every other is refused while it lasts, and counted; the next one after
 *     it closed is served;
 *   - service times as lower bounds (never upper: the machine is shared): a setter takes at
 *     least `set`, an acquisition at least `acq` from its trigger, a reply of B bytes at
 *     least B*8/link;
 *   - modes: serial serves nothing during an acquisition, overlapped serves on and says WAIT;
 *   - errors: an unknown or rejected header queues -113 for SYST:ERR?, an overlong line -223,
 *     and the connection goes on;
 *   - replies: ASCII lists and binary blocks read whole, the sine the generator was set to.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "ab.h"
#include "instrument.h"
#include "scpi.h"
#include "shm.h"
#include "test.h"

#define MS AB_NS_PER_MS
#define T_REPLY (5 * AB_NS_PER_S)

typedef struct mock {
  void *state;
  ab_instr_conn_t *c;
} mock_t;

static void mock_up(mock_t *m, int mode, int64_t acq, int64_t set, double link, int samples, unsigned reject)
{
  char err[AB_ERRLEN] = "";
  m->state = ab_shm_alloc(ab_instrument_ops.state_size, 1);
  ASSERT(m->state != NULL);
  if (ab_instrument_ops.prepare(m->state, &(ab_dev_opts_t){ 0 }, err))
    AB_FAIL("prepare: %s", err);
  ab_instr_cfg_t cfg = { .mode = mode, .acq_ns = acq, .set_ns = set, .link_bps = link, .samples = samples,
                         .reject = reject };
  ASSERT_EQ(ab_instr_config(m->state, &cfg), 0);
  ASSERT_STR(ab_instrument_ops.backend(m->state), "mock-scpi");
  void *h;
  if (ab_instrument_ops.open(m->state, &h, err))
    AB_FAIL("open: %s", err);
  m->c = h;
}

static void mock_down(mock_t *m)
{
  ab_instrument_ops.close(m->c);
  ab_instrument_ops.release(m->state);
  ab_shm_free(m->state, ab_instrument_ops.state_size, 1);
}

static const char *ask(mock_t *m, const char *q)
{
  static char out[256];
  const char *r;
  ssize_t n = ab_instr_query(m->c, q, &r, 1 << 24, T_REPLY);
  if (n < 0)
    AB_FAIL("'%s': %s", q, strerror((int)-n));
  snprintf(out, sizeof out, "%.*s", (int)(n < 255 ? n : 255), r);
  return out;
}

static ab_instr_stats_t stats(mock_t *m)
{
  ab_instr_stats_t s;
  ASSERT_EQ(ab_instr_stats(m->state, &s), 0);
  return s;
}

TEST(instrument_one_connection_others_refused_and_counted)
{
  mock_t m;
  mock_up(&m, AB_INSTR_SERIAL, 50 * MS, 0, 1e9, 16, 0);
  ASSERT_CONTAINS(ask(&m, "*IDN?"), "mock-scpi");
  char err[AB_ERRLEN];
  for (int k = 0; k < 3; k++) { /* each refused: closed before any reply */
    ab_instr_conn_t *c2;
    ASSERT_EQ(ab_instr_connect(ab_instr_address(m.state), AB_NS_PER_S, &c2, err), 0);
    const char *r;
    ab_instr_send(c2, "*IDN?");
    ASSERT_EQ(ab_instr_reply(c2, &r, 256, T_REPLY), -ECONNRESET);
    ab_instr_conn_close(c2);
  }
  /* refused too while the first is busy acquiring (serial: nothing served for 50 ms) */
  ab_instr_send(m.c, "ACQ:START;:ACQ:TRIG NOW;:ACQ:TRIG:STAT?");
  ab_instr_conn_t *c3;
  ASSERT_EQ(ab_instr_connect(ab_instr_address(m.state), AB_NS_PER_S, &c3, err), 0);
  const char *r;
  ASSERT_EQ(ab_instr_reply(c3, &r, 256, T_REPLY), -ECONNRESET);
  ab_instr_conn_close(c3);
  ASSERT_STR(({ const char *x; ssize_t n = ab_instr_reply(m.c, &x, 256, T_REPLY); n == 2 ? "TD" : "?"; }), "TD");
  ab_instr_stats_t s = stats(&m);
  ASSERT_EQ((long)s.refusals, 4);
  ASSERT_EQ((long)s.connections, 1);
  ab_instr_conn_close(m.c); /* the one connection closed: the next is served */
  ASSERT_EQ(ab_instr_connect(ab_instr_address(m.state), AB_NS_PER_S, &m.c, err), 0);
  ASSERT_CONTAINS(ask(&m, "*IDN?"), "mock-scpi");
  ASSERT_EQ((long)stats(&m).connections, 2);
  mock_down(&m);
}

TEST(instrument_service_times_are_lower_bounds)
{
  mock_t m;
  mock_up(&m, AB_INSTR_SERIAL, 40 * MS, 2 * MS, 1e6, 1000, 0); /* 1 Mbit/s */
  int64_t t0 = ab_now_ns();
  ASSERT_STR(ask(&m, "SOUR1:FREQ:FIX 2000;:SOUR1:FREQ:FIX?"), "2000"); /* two at 2 ms */
  ASSERT_DBL((double)(ab_now_ns() - t0), >=, 4 * MS);
  t0 = ab_now_ns();
  ASSERT_STR(ask(&m, "ACQ:START;:ACQ:TRIG NOW;:ACQ:TRIG:STAT?"), "TD"); /* serial: after it */
  ASSERT_DBL((double)(ab_now_ns() - t0), >=, 40 * MS);
  t0 = ab_now_ns();
  const char *r;
  ssize_t n = ab_instr_query(m.c, "ACQ:SOUR1:DATA?", &r, 1 << 20, T_REPLY);
  int64_t took = ab_now_ns() - t0;
  ASSERT_DBL((double)n, >, 1000 * 4);               /* 1000 samples "x.xxxx," */
  ASSERT_DBL((double)took, >=, (double)n * 8e9 / 1e6 * 0.99); /* paced at 1 Mbit/s */
  float f[1000];
  ASSERT_EQ(ab_scpi_floats(r, (size_t)n, f, 1000), 1000);
  /* the generator's 2 kHz at 1 V: sample 0 is 0, and the trace reaches +-1 */
  double mx = 0;
  for (int i = 0; i < 1000; i++)
    mx = fmax(mx, fabs(f[i]));
  ASSERT_DBL(fabs(f[0]), <, 1e-3);
  ASSERT_DBL(mx, >, 0.99);
  mock_down(&m);
}

TEST(instrument_serial_serves_nothing_during_an_acquisition_overlapped_serves_on)
{
  for (int mode = 0; mode < 2; mode++) {
    mock_t m;
    mock_up(&m, mode, 60 * MS, 0, 1e9, 16, 0);
    ASSERT_EQ(ab_instr_send(m.c, "ACQ:START;:ACQ:TRIG NOW"), 0);
    int64_t t0 = ab_now_ns();
    ASSERT_STR(ask(&m, "SOUR1:FREQ:FIX 3000;:SOUR1:FREQ:FIX?"), "3000");
    int64_t setter = ab_now_ns() - t0;
    const char *stat = ask(&m, "ACQ:TRIG:STAT?");
    if (mode == AB_INSTR_SERIAL) {
      ASSERT_DBL((double)setter, >=, 50 * MS); /* it waited for the acquisition */
      ASSERT_STR(stat, "TD");
    } else {
      ASSERT_STR(stat, "WAIT");                /* served during it */
      ASSERT_STR(ask(&m, "*OPC?"), "1");       /* *OPC? waits for its end */
      ASSERT_DBL((double)(ab_now_ns() - t0), >=, 50 * MS);
      ASSERT_STR(ask(&m, "ACQ:TRIG:STAT?"), "TD");
    }
    ASSERT_EQ((long)stats(&m).acquisitions, 1);
    mock_down(&m);
  }
}

TEST(instrument_errors_are_queued_and_the_connection_goes_on)
{
  mock_t m;
  mock_up(&m, AB_INSTR_SERIAL, MS, 0, 1e9, 16, AB_INSTR_REJECT_PID);
  ASSERT_STR(ask(&m, "SYST:ERR?"), "0,\"No error\"");
  ab_instr_send(m.c, "PID1:SETP 0.5"); /* rejected: this instrument has no such header */
  ASSERT_STR(ask(&m, "SYST:ERR?"), "-113,\"Undefined header\"");
  ASSERT_STR(ask(&m, "IQ1:FREQ 1.5kHz;FREQ?"), "1500");
  ab_instr_send(m.c, "SOUR1:FREQ:FIX 1.5kHzz");
  ASSERT_STR(ask(&m, "SYST:ERR?"), "-102,\"Syntax error\"");
  ab_instr_send(m.c, "ACQ:TRIG NOW"); /* not armed */
  ASSERT_STR(ask(&m, "SYST:ERR?"), "-221,\"Settings conflict\"");
  static char longline[AB_SCPI_LINE_MAX * 2];
  memset(longline, 'A', sizeof longline - 1);
  ab_instr_send(m.c, longline);
  ASSERT_STR(ask(&m, "SYST:ERR?"), "-223,\"Too much data\"");
  ASSERT_STR(ask(&m, "SYST:ERR?"), "0,\"No error\"");
  ASSERT_CONTAINS(ask(&m, "*IDN?"), "mock-scpi");
  ab_instr_stats_t s = stats(&m);
  ASSERT_EQ((long)s.overlong, 1);
  ASSERT_EQ((long)s.errors, 4);
  mock_down(&m);
}

TEST(instrument_binary_block_reply_is_read_whole)
{
  mock_t m;
  mock_up(&m, AB_INSTR_OVERLAPPED, MS, 0, 1e9, 4096, 0);
  ASSERT_STR(ask(&m, "ACQ:DATA:FORMAT BIN;FORMAT?"), "BIN");
  ASSERT_EQ(ab_instr_send(m.c, "ACQ:START;:ACQ:TRIG NOW"), 0);
  const char *r;
  ssize_t n = ab_instr_query(m.c, "ACQ:SOUR1:DATA?", &r, 1 << 20, T_REPLY);
  ASSERT_EQ((long)n, 4096 * 4);
  ASSERT_CONTAINS(ask(&m, "*IDN?"), "mock-scpi"); /* the block's terminator was taken */
  ASSERT_EQ((long)ab_instr_query(m.c, "ACQ:SOUR1:DATA?", &r, 100, T_REPLY), -EMSGSIZE); /* over max */
  mock_down(&m);
}

TEST(instrument_address_that_is_no_host_port_is_refused_naming_it)
{
  char err[AB_ERRLEN];
  void *st = ab_shm_alloc(ab_instrument_ops.state_size, 1);
  const char *bad[] = { "192.168.1.100", "host:0", "host:70000", "host:50x", ":5000" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    ASSERT_EQ(ab_instrument_ops.prepare(st, &(ab_dev_opts_t){ .instrument = bad[i] }, err), -EINVAL);
    ASSERT_CONTAINS(err, bad[i]);
    ASSERT_CONTAINS(err, "HOST:PORT");
  }
  ASSERT_EQ(ab_instrument_ops.prepare(st, &(ab_dev_opts_t){ .instrument = "127.0.0.1:9" }, err), 0);
  ASSERT_STR(ab_instrument_ops.backend(st), "127.0.0.1:9"); /* a real address: named, not "mock" */
  void *h;
  ASSERT(ab_instrument_ops.open(st, &h, err) < 0); /* nothing listens on the discard port */
  ASSERT_CONTAINS(err, "127.0.0.1:9");
  ab_instrument_ops.release(st);
  ab_shm_free(st, ab_instrument_ops.state_size, 1);
}
