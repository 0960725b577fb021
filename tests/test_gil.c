/* The GIL model (harness/gil.c): its hand-over rules, deterministic (orderings and lower
 * bounds that follow from the rules, never a latency target), and the model around a run:
 * one GIL per process, I/O releases it (the convoy), the result records it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "gil.h"
#include "internal.h"
#include "result.h"
#include "stats.h"
#include "test.h"

#define IV (20 * AB_NS_PER_MS) /* a switch interval long against the machine's noise */

typedef struct {
  ab_gil_t g;
  uint32_t stop;
  int phase;           /* 1: A holds it; 2: B has it (atomic: both threads) */
  int64_t b_waited, b_asked;
  int a_forced, b_before_a;
} duo_t;

static void spin_us(int us)
{
  int64_t end = ab_now_ns() + us * AB_NS_PER_US;
  while (ab_now_ns() < end)
    ;
}

/* A computes, checking the eval breaker every microsecond, until B has had the GIL. */
static void *holder(void *p)
{
  duo_t *d = p;
  ab_gil_take(&d->g);
  __atomic_store_n(&d->phase, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&d->phase, __ATOMIC_ACQUIRE) < 2) {
    int forced;
    spin_us(1);
    int64_t w = ab_gil_check(&d->g, &forced);
    if (forced && ++d->a_forced == 1) /* forced switching: by the time A has it back, B had it */
      d->b_before_a = __atomic_load_n(&d->phase, __ATOMIC_ACQUIRE) >= 2;
    (void)w;
  }
  ab_gil_drop(&d->g);
  return NULL;
}

static void *taker(void *p)
{
  duo_t *d = p;
  while (__atomic_load_n(&d->phase, __ATOMIC_ACQUIRE) < 1)
    usleep(100);
  d->b_asked = ab_now_ns();
  d->b_waited = ab_gil_take(&d->g);
  __atomic_store_n(&d->phase, 2, __ATOMIC_RELEASE);
  spin_us(100);
  ab_gil_drop(&d->g);
  return NULL;
}

/* A and B on two different CPUs where this process may use two: a dropping A that could take
 * the GIL straight back would then do so before B has woken, whatever else runs (on one CPU a
 * woken B may preempt A, and would hide it). */
static void duo(duo_t *d)
{
  memset(d, 0, sizeof *d);
  ASSERT_EQ(ab_gil_init(&d->g, IV, &d->stop), 0);
  pthread_t a, b;
  pthread_attr_t at[2];
  cpu_set_t mine, one;
  int cpus[2], n = 0;
  sched_getaffinity(0, sizeof mine, &mine);
  for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
    if (CPU_ISSET(c, &mine))
      cpus[n++] = c;
  for (int k = 0; k < 2; k++) {
    pthread_attr_init(&at[k]);
    if (n == 2) {
      CPU_ZERO(&one);
      CPU_SET(cpus[k], &one);
      pthread_attr_setaffinity_np(&at[k], sizeof one, &one);
    }
  }
  ASSERT_EQ(pthread_create(&a, &at[0], holder, d), 0);
  ASSERT_EQ(pthread_create(&b, &at[1], taker, d), 0);
  pthread_attr_destroy(&at[0]);
  pthread_attr_destroy(&at[1]);
  pthread_join(b, NULL);
  pthread_join(a, NULL);
  ab_gil_destroy(&d->g);
}

/* A waiter gets in after about one interval, never before: the holder drops only on the
 * drop request, which the waiter sets after a whole interval with no switch. */
TEST(gil_waiter_gets_in_after_one_interval_never_before_the_drop_request)
{
  duo_t d;
  duo(&d);
  printf("waited %.2f ms for a %.0f ms interval; %d forced switch\n", d.b_waited / 1e6, IV / 1e6, d.a_forced);
  ASSERT_INT(d.b_waited, >=, IV);
  ASSERT_INT(d.b_waited, <, 10 * IV); /* a sanity bound, ten intervals */
  ASSERT_EQ(d.a_forced, 1);
}

/* Forced switching: the holder that dropped on a request cannot take it straight back; the
 * waiter has it first. Twenty times, each alike. */
TEST(gil_forced_drop_waits_until_another_thread_took_it)
{
  for (int i = 0; i < 20; i++) {
    duo_t d;
    duo(&d);
    if (!d.b_before_a)
      AB_FAIL("round %d: the dropping thread took the GIL back before the waiter had it", i);
  }
}

typedef struct {
  ab_gil_t *g;
  int *flag; /* atomic */
  int64_t waited;
} io_t;

static void *io_taker(void *p)
{
  io_t *t = p;
  t->waited = ab_gil_take(t->g);
  __atomic_store_n(t->flag, 1, __ATOMIC_RELEASE);
  ab_gil_drop(t->g);
  return NULL;
}

/* A blocking call drops it: another thread takes it while the first is still blocked (the
 * first waits for that, up to 10 s), without waiting for a drop request. */
TEST(gil_a_blocking_call_releases_it)
{
  ab_gil_t g;
  uint32_t stop = 0;
  int flag = 0;
  ASSERT_EQ(ab_gil_init(&g, IV, &stop), 0);
  ab_gil_take(&g);
  ASSERT(ab_gil_held(&g));
  ab_gil_drop(&g); /* the blocking call begins */
  io_t t = { &g, &flag, 0 };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, io_taker, &t), 0);
  for (int i = 0; i < 100000 && !__atomic_load_n(&flag, __ATOMIC_ACQUIRE); i++)
    usleep(100);
  ASSERT(__atomic_load_n(&flag, __ATOMIC_ACQUIRE)); /* the other thread ran while this one blocked */
  pthread_join(th, NULL);
  ASSERT_INT(t.waited, <, IV); /* no drop request was needed */
  ab_gil_take(&g);
  ab_gil_drop(&g);
  ab_gil_destroy(&g);
}

typedef struct {
  ab_gil_t *g;
  int waiting; /* atomic */
  int64_t t_in;
} late_t;

static void *late_taker(void *p)
{
  late_t *t = p;
  __atomic_store_n(&t->waiting, 1, __ATOMIC_RELEASE);
  ab_gil_take(t->g);
  t->t_in = ab_now_ns();
  ab_gil_drop(t->g);
  return NULL;
}

/* A thread already waiting gets in as soon as the holder blocks: the drop wakes it, long
 * before its interval would have timed out. */
TEST(gil_a_waiter_gets_in_as_soon_as_the_holder_blocks)
{
  ab_gil_t g;
  uint32_t stop = 0;
  ASSERT_EQ(ab_gil_init(&g, IV, &stop), 0);
  ab_gil_take(&g);
  late_t t = { &g, 0, 0 };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, late_taker, &t), 0);
  while (!__atomic_load_n(&t.waiting, __ATOMIC_ACQUIRE))
    usleep(100);
  usleep(2000); /* asleep on the condition variable, well inside its interval */
  int64_t t_drop = ab_now_ns();
  ab_gil_drop(&g); /* a blocking call begins */
  pthread_join(th, NULL);
  printf("in %.3f ms after the drop (interval %.0f ms)\n", (t.t_in - t_drop) / 1e6, IV / 1e6);
  ASSERT_INT(t.t_in - t_drop, <, IV / 2);
  ab_gil_destroy(&g);
}

/* ---- around a run ---------------------------------------------------------------------------- */

static ab_result_t *gil_run(int arch, const char *p1, const char *p2, int gil)
{
  ab_run_opts_t o = { .sc = ab_scenario_find("gil"), .arch = arch, .duration_ns = AB_NS_PER_S, .latency_target_us = -1,
                      .quiet = 1, .want_result = 1, .gil = gil, .gil_interval_ns = IV };
  o.params[o.nparams++] = p1;
  if (p2)
    o.params[o.nparams++] = p2;
  ASSERT(o.sc);
  ASSERT_EQ(ab_run_one(&o), AB_EXIT_OK);
  ASSERT(o.result);
  return o.result;
}

static int64_t counter(const ab_result_t *r, const char *name)
{
  int64_t v = -1;
  if (ab_result_counter(r, name, &v) < 0)
    AB_FAIL("no counter %s", name);
  return v;
}

/* Threads share one GIL: two CPU-bound workers hand it over on drop requests, each take
 * after a wait of an interval. Processes have one each: never a request, never a wait. */
TEST_T(gil_one_per_process, 60)
{
  ab_result_t *t = gil_run(AB_ARCH_THREADS, "cpu=2", NULL, 1);
  ab_result_t *p = gil_run(AB_ARCH_PROCS, "cpu=2", NULL, 1);
  ab_summary_t st, sp;
  ASSERT_EQ(ab_result_metric(t, "cpu.gil_wait_ns", &st), 0);
  ASSERT_EQ(ab_result_metric(p, "cpu.gil_wait_ns", &sp), 0);
  int64_t ft = counter(t, "cpu.gil_forced_switches"), fp = counter(p, "cpu.gil_forced_switches");
  printf("threads: %lld forced switches, wait p50 %.2f ms; procs: %lld, max wait %.3f ms\n", (long long)ft,
         st.p50 / 1e6, (long long)fp, sp.max / 1e6);
  ASSERT_INT(ft, >=, 10);      /* about one a 20 ms interval over 1 s */
  ASSERT_DBL(st.p50, >=, IV);  /* a CPU-bound waiter waits an interval, never less */
  ASSERT_EQ(fp, 0);
  ASSERT_DBL(sp.max, <, IV);   /* no one to wait for: never a drop request */
  ASSERT(t->gil && p->gil);
  ASSERT_DBL(t->gil_interval_s, ==, IV / 1e9);
  ab_result_free(t);
  ab_result_free(p);
}

/* The convoy: an I/O worker's short sleep costs it an interval behind a CPU-bound worker,
 * since it must wait for the drop request to get back in. Without the GIL (or with nearly
 * all the work free of it) the call is the sleep. */
TEST_T(gil_io_releases_it_and_pays_the_convoy, 60)
{
  ab_result_t *g = gil_run(AB_ARCH_THREADS, "io=1", NULL, 1);
  ab_result_t *n = gil_run(AB_ARCH_THREADS, "io=1", NULL, 0);
  ab_result_t *f = gil_run(AB_ARCH_THREADS, "io=1", "gil_free=0.95", 1);
  ab_summary_t sg, sn, sf;
  ASSERT_EQ(ab_result_metric(g, "io.call_ns", &sg), 0);
  ASSERT_EQ(ab_result_metric(n, "io.call_ns", &sn), 0);
  ASSERT_EQ(ab_result_metric(f, "io.call_ns", &sf), 0);
  printf("a 500 us sleep: %.2f ms under the GIL, %.2f ms without, %.2f ms with 95%% of the work free of it\n",
         sg.p50 / 1e6, sn.p50 / 1e6, sf.p50 / 1e6);
  ASSERT_DBL(sg.p50, >=, IV);          /* back in only after the drop request */
  ASSERT_DBL(sn.p50, <, sg.p50 / 4);   /* ratios within one run, not a latency target */
  ASSERT_DBL(sf.p50, <, sg.p50 / 4);
  ASSERT(!n->gil);
  ASSERT(json_is_null(json_object_get(n->doc, "gil")));
  ASSERT_DBL(f->gil_free, ==, 0.95);
  ab_result_free(g);
  ab_result_free(n);
  ab_result_free(f);
}

/* Under the loop only one thread ever runs the roles: nobody to contend with. */
TEST_T(gil_under_the_loop_is_never_contended, 60)
{
  ab_result_t *r = gil_run(AB_ARCH_LOOP, "cpu=2", "io=1", 1);
  ASSERT_EQ(counter(r, "cpu.gil_forced_switches") + counter(r, "io.gil_forced_switches"), 0);
  ASSERT_INT(counter(r, "cpu.units"), >, 0);
  ASSERT_INT(counter(r, "io.calls"), >, 0);
  ab_result_free(r);
}

/* A thread waiting a long time on its socket is one blocking section, however many times
 * the harness looks at the stop word meanwhile: it does not take the GIL on each look (as a
 * CPython thread in select() never does). Agents whose act is a second: a handful of takes
 * per step, not one per 50 ms slice. */
TEST_T(gil_a_long_wait_takes_it_once, 60)
{
  ab_run_opts_t o = { .sc = ab_scenario_find("agents"), .arch = AB_ARCH_THREADS, .duration_ns = 2 * AB_NS_PER_S,
                      .latency_target_us = -1, .quiet = 1, .want_result = 1, .gil = 1, .nparams = 4 };
  o.params[0] = "n=3";
  o.params[1] = "act=1s";
  o.params[2] = "cache=none";
  o.params[3] = "think=1ms";
  int code = ab_run_one(&o);
  ASSERT(code == AB_EXIT_OK || code == AB_EXIT_FAIL);
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(o.result, "agent.gil_wait_ns", &s), 0);
  int64_t steps = counter(o.result, "agent.steps");
  printf("%lld steps, %llu takes of the GIL\n", (long long)steps, (unsigned long long)s.count);
  ASSERT_INT(steps, >=, 3);
  ASSERT_INT(s.count, <=, 10 * (steps + 3)); /* a few per step and per agent's start */
  ab_result_free(o.result);
}
