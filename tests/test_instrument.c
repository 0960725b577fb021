/* The instrument scenario (scenarios/instrument.c) as a user runs it: every owner variant's
 * replies checked at the client, the one-connection rule seen from both ends, head-of-line
 * blocking against the instrument's mode as a ratio within one test, the real path through
 * an address (the mock served by `archbench mock-instrument`), a header the instrument rejects
 * skipped and said, and a mock that dies mid-run failing the run cleanly.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jresult.h"
#include "proc.h"
#include "test.h"

#define T_S 60.0

/* `archbench run instrument` with args into out; exits 0 or 1 (a requirement). */
static json_t *run_in(const char *out, const char *file, const char *const *extra, int *code)
{
  return run_scenario("instrument", out, file, L("--duration", "1500ms"), extra, code);
}

static double replies_of(json_t *r, const char *m) { return jnum(metric(r, m), "count"); }

/* naive, mux and async route every reply to the client that asked (mux and async serve every
 * client; naive's lock is not fair); broken, the clients on the connection itself with no
 * lock and no IDs, gets others'. */
TEST_T(instrument_replies_reach_their_sender_but_in_broken, 90)
{
  const char *out = temp_path(1), *outs[2] = { out, out };
  proc_t p;
  run_ab(&p, L("run", "instrument", "--arch", "threads,procs", "--duration", "1s", "--sweep",
               "owner=naive,mux,async,broken", "--param", "mode=overlapped", "--out", out, "--quiet"), 120);
  ASSERT_EQ(p.code, 1); /* broken's requirement */
  proc_free(&p);
  const char *arch[] = { "threads", "procs.shm" };
  const char *own[] = { "naive", "mux", "async", "broken" };
  for (int a = 0; a < 2; a++)
    for (int o = 0; o < 4; o++) {
      char f[96];
      snprintf(f, sizeof f, "instrument.%s.owner=%s.mode=overlapped.json", arch[a], own[o]);
      json_t *r = load_result(outs[a], f);
      double mis = counter(r, "misrouted");
      printf("%s %s: %.0f requests, %.0f replies, %.0f misrouted, %.0f timeouts; scope %.0f, asg %.0f\n", arch[a], own[o],
             counter(r, "requests"), counter(r, "replies"), mis, counter(r, "timeouts"), replies_of(r, "scope.latency_ns"),
             replies_of(r, "asg.latency_ns"));
      ASSERT_STR(jstr(jobj(r, "devices"), "instrument"), "mock-scpi");
      if (o == 3) {
        ASSERT_DBL(mis, >, 0);
        /* and a reply taken by the wrong client is not counted its answer */
        ASSERT_DBL(counter(r, "replies"), <=, 0.9 * counter(r, "requests"));
      } else {
        ASSERT_DBL(mis, ==, 0);
        ASSERT_DBL(counter(r, "timeouts"), ==, 0);
        ASSERT_DBL(replies_of(r, "scope.latency_ns"), >=, 5);
        if (o) { /* every client served (naive's lock is not fair: a setter may starve) */
          ASSERT_DBL(replies_of(r, "asg.latency_ns"), >=, 5);
          ASSERT_DBL(replies_of(r, "pid.latency_ns"), >=, 3);
          ASSERT_DBL(replies_of(r, "iq.latency_ns"), >=, 2);
        }
        /* naive's lock starves its setters (the scope takes it back first): a second of it
         * is the scope's 15 or so and a few setters' (18 was seen) */
        ASSERT_DBL(counter(r, "replies"), >=, o ? 20 : 15);
        ASSERT_DBL(counter(r, "instrument.connections"), ==, 1);
        ASSERT_DBL(counter(r, "instrument.refusals"), ==, 0);
      }
      json_decref(r);
    }
}

/* A connection per client: the instrument serves the first and refuses the others, each
 * refusal counted by the instrument and seen by the client it refused. */
TEST_T(instrument_a_connection_per_client_is_refused_and_counted, 60)
{
  const char *out = temp_path(1);
  json_t *r = run_in(out, "instrument.threads.mode=serial.json", L("--arch", "threads", "--param", "owner=direct"), NULL);
  double dev = counter(r, "instrument.refusals"), cl = counter(r, "refused");
  printf("direct: the instrument refused %.0f connections, the clients saw %.0f refusals; %.0f connections served\n", dev,
         cl, counter(r, "instrument.connections"));
  ASSERT_DBL(dev, >=, 3);
  ASSERT_DBL(cl, >=, 3);
  ASSERT_DBL(cl, <=, dev); /* a refusal the run's end cut short is the instrument's alone */
  ASSERT_DBL(counter(r, "misrouted"), ==, 0);
  ASSERT_DBL(counter(r, "replies"), >=, 1); /* the one connection served someone */
  json_decref(r);
}

/* Head-of-line blocking is the instrument's, not the IDs': with mux on a serial instrument
 * the generator's setter waits for the scope's acquisition; on an overlapped one it does not.
 * Bounds: at least a quarter of the acquisition while serial (a physical floor: the data's
 * transfer alone adds to it), and serial over overlapped at least 4x. */
TEST_T(instrument_serial_mode_holds_the_setter_behind_the_acquisition, 60)
{
  /* four runs side by side, each with a mock of its own: they mostly wait */
  const char *const acq[] = { "--arch", "threads", "--param", "acq=40ms", NULL };
  scen_run_t runs[4] = {
    { "instrument", temp_path(1), "instrument.threads.mode=serial.json", acq, L("--param", "mode=serial", "--duration", "1500ms") },
    { "instrument", temp_path(1), "instrument.threads.mode=overlapped.json", acq,
      L("--param", "mode=overlapped", "--param", "worker=serial", "--duration", "1500ms") },
    { "instrument", temp_path(1), "instrument.threads.mode=overlapped.json", acq, L("--param", "mode=overlapped", "--duration", "1500ms") },
    /* naive: a setter that barges in on the lock ahead of the scope is served at once (idle);
     * one that waits while the scope holds it, or takes it, waits the acquisition out */
    { "instrument", temp_path(1), "instrument.threads.mode=serial.json", acq,
      L("--param", "owner=naive", "--duration", "2s") },
  };
  run_scenarios(runs, 4);
  json_t *s = runs[0].r, *w = runs[1].r, *o = runs[2].r, *n = runs[3].r;
  double ser = jnum(jobj(s, "values"), "asg.during_acq_p50_ms");
  /* replies per second is the clients' throughput: their checked replies over the window */
  ASSERT_DBL(fabs(jnum(jobj(s, "values"), "replies_per_s") * jnum(s, "duration_s") - counter(s, "replies")), <=, 1);
  json_decref(s);
  double wser = jnum(jobj(w, "values"), "asg.during_acq_p50_ms");
  json_decref(w);
  double ovl = jnum(jobj(o, "values"), "asg.during_acq_p50_ms");
  json_decref(o);
  json_t *nb = metric(n, "asg.during_acq_ns"), *ni = metric(n, "asg.idle_ns");
  double nbusy = jnum(nb, "p50"), nidle = jnum(ni, "p50"), nnb = jnum(nb, "count"), nni = jnum(ni, "count");
  json_decref(n);
  printf("mux: the setter's p50 while the scope acquires: serial %.2f ms, overlapped %.2f ms, overlapped with a serial "
         "worker %.2f ms; naive serial: %.0f during at p50 %.2f ms, %.0f otherwise at %.2f ms\n",
         ser, ovl, wser, nnb, nbusy / 1e6, nni, nidle / 1e6);
  ASSERT_DBL(ser, >=, 10);
  ASSERT_DBL(ser, >=, 4 * ovl);
  ASSERT_DBL(nnb, >=, 1);
  ASSERT_DBL(nni, >=, 1);
  ASSERT_DBL(nbusy, >=, 4 * nidle); /* the split: the same setter, the scope's request not in the way */
  ASSERT_DBL(wser, >=, 10);      /* the worker carries the acquisition through: IDs do not help */
  ASSERT_DBL(wser, >=, 4 * ovl);
}

/* A reply that comes after its timeout is a timeout, never another request's answer: the
 * trace (2000 samples at 100 kbit/s, 1.3 s) outlasts the 1 s timeout; mux and async count
 * timeouts and no misroute, and the owner drops the late reply (late_replies) so that the
 * next exchange is in step. */
TEST_T(instrument_a_reply_past_its_timeout_is_a_timeout_never_a_misroute, 60)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "instrument", "--arch", "threads", "--sweep", "owner=mux,async", "--param", "mode=overlapped",
               "--param", "samples=2000", "--param", "link=1e5", "--param", "timeout=1s", "--duration", "2s", "--out", out,
               "--quiet"), T_S);
  ASSERT_EQ(p.code, 1); /* the timeouts' requirement */
  proc_free(&p);
  const char *f[] = { "instrument.threads.owner=mux.mode=overlapped.json", "instrument.threads.owner=async.mode=overlapped.json" };
  for (int i = 0; i < 2; i++) {
    json_t *r = load_result(out, f[i]);
    printf("%s: %.0f requests, %.0f replies, %.0f timeouts, %.0f late, %.0f misrouted\n", f[i], counter(r, "requests"),
           counter(r, "replies"), counter(r, "timeouts"), counter(r, "late_replies"), counter(r, "misrouted"));
    ASSERT_DBL(counter(r, "timeouts"), >=, 1);
    ASSERT_DBL(counter(r, "late_replies"), >=, 1);
    ASSERT_DBL(counter(r, "misrouted"), ==, 0);
    ASSERT_DBL(counter(r, "replies"), >=, 10); /* the setters still served in between */
    const char *m[] = { "scope.latency_ns", "asg.latency_ns", "pid.latency_ns", "iq.latency_ns" };
    for (int k = 0; k < 4; k++) /* no reply past its timeout counted as answered */
      if (metric(r, m[k]) && jnum(metric(r, m[k]), "count") > 0)
        ASSERT_DBL(jnum(metric(r, m[k]), "max"), <=, 1.0e9 + 25e6);
    json_decref(r);
  }
}

/* The real path: the same run against an address (the mock behind it, started apart, as an
 * instrument on the network would be); the result names the address, not the mock. A header
 * that instrument rejects (PID here) is found at the start: its client is skipped and the
 * result says which, and no reply is faked for it. */
TEST_T(instrument_real_path_through_an_address_and_a_rejected_header_skipped, 60)
{
  proc_t m;
  const char *ab = getenv("AB_BIN") ? getenv("AB_BIN") : "build/archbench";
  start_prog(&m, ab, L("mock-instrument", "--mode", "overlapped", "--reject", "pid"));
  char addr[64] = "";
  for (double t0 = now_s(); !addr[0] && now_s() - t0 < 10; usleep(20000)) {
    char *o = slurp(m.fo);
    sscanf(o, "listening on %63s", addr);
    free(o);
  }
  ASSERT(addr[0]);
  const char *out = temp_path(1);
  json_t *r = run_in(out, "instrument.threads.json", L("--arch", "threads", "--instrument", addr), NULL);
  ASSERT_STR(jstr(jobj(r, "devices"), "instrument"), addr);
  ASSERT_STR(jstr(jobj(r, "calibration"), "instrument.skipped"), "pid");
  ASSERT_CONTAINS(jstr(jobj(r, "calibration"), "instrument.mode"), "own"); /* not the mock's param */
  ASSERT_CONTAINS(jstr(jobj(r, "calibration"), "instrument.idn"), "mock-scpi");
  ASSERT_DBL(replies_of(r, "pid.latency_ns"), ==, 0);
  ASSERT_DBL(counter(r, "skipped"), >=, 10);
  ASSERT_DBL(replies_of(r, "asg.latency_ns"), >=, 5);
  ASSERT_DBL(counter(r, "misrouted"), ==, 0);
  json_decref(r);
  kill(m.pid, SIGINT);
  ASSERT(wait_ab(&m, 10));
  ASSERT_CONTAINS(m.out, "served 1 connections");
  proc_free(&m);
}

/* The mock killed mid-run: the owner's next exchange finds the connection gone, the run fails
 * naming the instrument, exits 1, and leaves nothing behind. */
TEST_T(instrument_mock_that_dies_mid_run_fails_the_run_cleanly, 60)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "instrument", "--arch", "procs", "--duration", "5s", "--out", out, "--quiet"));
  pid_t mock = 0;
  for (double t0 = now_s(); !mock && now_s() - t0 < 20; usleep(20000))
    mock = session_find(p.pid, "instrument-mock", 0);
  ASSERT(mock > 0);
  usleep(500000);
  ASSERT_EQ(kill(mock, SIGKILL), 0);
  ASSERT(wait_ab(&p, 30));
  printf("exit %d; stderr: %s\n", p.code, p.err);
  ASSERT_EQ(p.code, 1);
  ASSERT_CONTAINS(p.err, "instrument 127.0.0.1:");
  assert_nothing_left(&p);
  json_t *r = load_result(out, "instrument.procs.shm.mode=serial.json");
  ASSERT_STR(jstr(r, "status"), "failed");
  json_decref(r);
  proc_free(&p);
}

TEST(instrument_bad_address_exits_2_and_an_unreachable_one_3_naming_it)
{
  proc_t p;
  run_ab(&p, L("run", "instrument", "--instrument", "redpitaya", "--duration", "1s", "--out", temp_path(1)), 20);
  ASSERT_EQ(p.code, 2);
  ASSERT_CONTAINS(p.err, "redpitaya");
  ASSERT_CONTAINS(p.err, "HOST:PORT");
  proc_free(&p);
  run_ab(&p, L("run", "instrument", "--instrument", "127.0.0.1:9", "--duration", "1s", "--out", temp_path(1)), 20);
  ASSERT_EQ(p.code, 3);
  ASSERT_CONTAINS(p.err, "127.0.0.1:9");
  proc_free(&p);
  run_ab(&p, L("run", "instrument", "--param", "owner=lockfree", "--duration", "1s", "--out", temp_path(1)), 20);
  ASSERT_EQ(p.code, 2);
  ASSERT_CONTAINS(p.err, "lockfree");
  proc_free(&p);
}
