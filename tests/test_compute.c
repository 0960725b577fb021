/* Calibrated compute kernel tests: calibration yields a rate, ab_compute_ns burns about the
 * CPU time asked (thread CPU clock, so preemption on a busy machine does not count), and the
 * work is real: its checksum depends on every iteration and is the same in any thread or
 * process.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "stats.h"
#include "test.h"

static int64_t cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * AB_NS_PER_S + ts.tv_nsec;
}

/* Median over a few runs of the CPU time ab_compute_ns(ns) takes. */
static double cpu_of(const ab_kernel_t *k, int64_t ns)
{
  double t[5];
  for (int i = 0; i < 5; i++) {
    int64_t t0 = cpu_ns();
    ab_compute_ns(k, ns);
    t[i] = (double)(cpu_ns() - t0);
  }
  return ab_median(t, 5);
}

TEST(compute_calibration_gives_positive_rate_and_its_duration)
{
  ab_kernel_t k = { 0, 0 };
  ASSERT_EQ(ab_compute_calibrate(&k), 0);
  printf("iters_per_us %.3f (%.0f ns per iteration), calibration took %.1f ms\n", k.iters_per_us,
         1000 / k.iters_per_us, k.calib_ns / 1e6);
  ASSERT_DBL(k.iters_per_us, >, 0);
  ASSERT_INT(k.calib_ns, >, 0);
  ASSERT_INT(k.calib_ns, <, 2 * AB_NS_PER_S); /* sanity: a start-up step, not a benchmark */
  ASSERT_EQ(ab_compute_calibrate(NULL), -EINVAL);
}

TEST(compute_ns_2ms_burns_between_half_and_twice_2ms_of_thread_cpu)
{
  ab_kernel_t k;
  ASSERT_EQ(ab_compute_calibrate(&k), 0);
  double t = cpu_of(&k, 2 * AB_NS_PER_MS);
  printf("ab_compute_ns(2 ms): %.3f ms of thread CPU (median of 5)\n", t / 1e6);
  ASSERT_DBL(t, >=, 0.5 * 2e6);
  ASSERT_DBL(t, <=, 2.0 * 2e6);
}

TEST(compute_ns_cost_scales_with_the_time_asked)
{
  ab_kernel_t k;
  ASSERT_EQ(ab_compute_calibrate(&k), 0);
  double t1 = cpu_of(&k, 500 * AB_NS_PER_US), t4 = cpu_of(&k, 2 * AB_NS_PER_MS);
  printf("0.5 ms -> %.3f ms, 2 ms -> %.3f ms, ratio %.2f\n", t1 / 1e6, t4 / 1e6, t4 / t1);
  ASSERT_DBL(t4 / t1, >, 2.0);
  ASSERT_DBL(t4 / t1, <, 8.0);
}

TEST(compute_nothing_asked_does_nothing)
{
  ab_kernel_t k = { 0, 0 };
  ASSERT_DBL(ab_compute_ns(&k, AB_NS_PER_MS), ==, 0); /* uncalibrated */
  ASSERT_DBL(ab_compute_ns(NULL, AB_NS_PER_MS), ==, 0);
  k.iters_per_us = 3;
  ASSERT_DBL(ab_compute_ns(&k, 0), ==, 0);
  ASSERT_DBL(ab_compute_ns(&k, -5), ==, 0);
  ASSERT_DBL(ab_compute_iters(0), ==, 0);
}

TEST(compute_checksum_depends_on_every_iteration)
{
  double prev = ab_compute_iters(1);
  ASSERT_DBL(prev, >, 0);
  for (uint64_t n = 2; n <= 2000; n++) {
    double c = ab_compute_iters(n);
    if (!(c > prev))
      AB_FAIL("checksum of %" PRIu64 " iterations %.17g not above that of %" PRIu64 ": %.17g", n, c, n - 1, prev);
    prev = c;
  }
}

static void *thread_checksum(void *arg)
{
  *(double *)arg = ab_compute_iters(12345);
  return NULL;
}

TEST(compute_checksum_is_deterministic_across_calls_threads_and_fork)
{
  double a = ab_compute_iters(12345), b = ab_compute_iters(12345);
  ASSERT_DBL(a, ==, b);
  double t = 0;
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, thread_checksum, &t), 0); /* fresh thread-local matrix */
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_DBL(t, ==, a);
  int fd[2];
  ASSERT_EQ(pipe(fd), 0);
  pid_t pid = fork();
  ASSERT_INT(pid, >=, 0);
  if (pid == 0) {
    double c = ab_compute_iters(12345);
    _exit(write(fd[1], &c, sizeof c) == sizeof c ? 0 : 1);
  }
  double c = 0;
  ASSERT_EQ(read(fd[0], &c, sizeof c), sizeof c);
  int st;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_DBL(c, ==, a);
  close(fd[0]);
  close(fd[1]);
}
