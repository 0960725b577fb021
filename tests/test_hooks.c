/* Compute and blocking go through the context (ab.h): a runtime's hooks see every compute
 * slice and every blocking section (a period's sleep, a channel wait, a send over a kernel
 * transport, device I/O, a scenario's own), balanced, never a compute inside a block, under
 * every runtime. The GIL model and fault injection stand on this. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"
#include "result.h"
#include "serial.h"
#include "test.h"

enum { R_TICK, R_SINK, NR };
enum { C_WORK };

typedef struct counts {
  long begins[NR + 1], ends[NR + 1]; /* [NR]: the runtime's own waits (ctx NULL) */
  long slices[NR], slice_calls[NR];
  long compute_in_block, bad_depth, steps[NR], nodev;
} counts_t;

static counts_t *cnt; /* shared: procs' roles count in their own processes */

static void on_block(void *arg, ab_ctx_t *ctx, int begin)
{
  (void)arg;
  int r = ctx ? ctx->role : NR;
  if (ctx && ctx->blocking != (begin ? 1 : 0))
    __atomic_add_fetch(&cnt->bad_depth, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(begin ? &cnt->begins[r] : &cnt->ends[r], 1, __ATOMIC_RELAXED);
}

static void on_compute(void *arg, ab_ctx_t *ctx, int begin)
{
  (void)arg;
  if (ctx->blocking)
    __atomic_add_fetch(&cnt->compute_in_block, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(begin ? &cnt->slices[ctx->role] : &cnt->slice_calls[ctx->role], 1, __ATOMIC_RELAXED);
}

static const ab_hooks_t hooks = { .block = on_block, .compute = on_compute, .slice_ns = 20 * AB_NS_PER_US };

static int tick_step(ab_ctx_t *ctx)
{
  ab_compute(ctx, 200 * AB_NS_PER_US);
  uint64_t x = 1;
  __atomic_add_fetch(&cnt->steps[R_TICK], 1, __ATOMIC_RELAXED);
  if (ab_serial_write(ctx, "x", 1) == -ENODEV) /* owns no serial device */
    __atomic_add_fetch(&cnt->nodev, 1, __ATOMIC_RELAXED);
  return ab_send(ctx, C_WORK, &x, sizeof x, 0) < 0 ? 0 : 0;
}

static int sink_step(ab_ctx_t *ctx)
{
  ab_msg_t m;
  int err;
  if (!ab_recv(ctx, C_WORK, &m, &err))
    return 0;
  ab_recv_done(ctx, C_WORK);
  ab_block_begin(ctx); /* a blocking call of the scenario's own, nested */
  ab_block_begin(ctx);
  struct timespec ts = { 0, 50 * 1000 };
  nanosleep(&ts, NULL);
  ab_block_end(ctx);
  ab_block_end(ctx);
  ab_compute(ctx, 50 * AB_NS_PER_US);
  __atomic_add_fetch(&cnt->steps[R_SINK], 1, __ATOMIC_RELAXED);
  return 0;
}

static int hk_setup(ab_run_t *run) { return ab_run_kernel(run); }

static const ab_role_desc_t roles[NR] = {
  [R_TICK] = { .name = "tick", .period_ns = 2 * AB_NS_PER_MS, .trigger = -1, .step = tick_step },
  [R_SINK] = { .name = "sink", .trigger = C_WORK, .step = sink_step },
};
static const ab_chan_desc_t chans[] = {
  [C_WORK] = { .name = "work", .from = R_TICK, .to = R_SINK, .msg_max = 64, .depth = 64, .policy = AB_DROP },
};
static const ab_scenario_t hk = { .name = "hooks", .summary = "test", .roles = roles, .nroles = NR, .chans = chans,
                                  .nchans = 1, .archs = AB_ARCHS_DEDICATED, .setup = hk_setup };

static void run_with_hooks(int arch, const char *transport)
{
  cnt = mmap(NULL, sizeof *cnt, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT(cnt != MAP_FAILED);
  ab_run_opts_t o = { .sc = &hk, .arch = arch, .transport = transport, .duration_ns = 300 * AB_NS_PER_MS,
                      .latency_target_us = -1, .quiet = 1, .hooks = &hooks };
  ASSERT_EQ(ab_run_one(&o), AB_EXIT_OK);
  printf("%s: tick %ld steps, %ld blocks, %ld slices; sink %ld steps, %ld blocks, %ld slices; runtime %ld\n",
         ab_arch_name(arch), cnt->steps[R_TICK], cnt->begins[R_TICK], cnt->slices[R_TICK], cnt->steps[R_SINK],
         cnt->begins[R_SINK], cnt->slices[R_SINK], cnt->begins[NR]);
  ASSERT(cnt->steps[R_TICK] > 50);
  ASSERT(cnt->steps[R_SINK] > 50);
  for (int r = 0; r <= NR; r++)
    ASSERT_EQ(cnt->begins[r], cnt->ends[r]);
  ASSERT_EQ(cnt->bad_depth, 0);
  ASSERT_EQ(cnt->compute_in_block, 0);
  ASSERT_EQ(cnt->nodev, cnt->steps[R_TICK]);
  /* 200 us in 20 us slices, 50 us in 20 us slices (20 + 20 + 10) */
  ASSERT_EQ(cnt->slices[R_TICK], 10 * cnt->steps[R_TICK]);
  ASSERT_EQ(cnt->slices[R_SINK], 3 * cnt->steps[R_SINK]);
  ASSERT_EQ(cnt->slice_calls[R_TICK], cnt->slices[R_TICK]);
  /* the sink's own (nested pair: once per step) on top of its waits for messages */
  ASSERT(cnt->begins[R_SINK] >= cnt->steps[R_SINK]);
  if (arch == AB_ARCH_LOOP) {
    ASSERT(cnt->begins[NR] > 50); /* the loop's epoll_wait between periods */
  } else {
    /* every period's sleep, and a send over a kernel transport besides */
    long want = cnt->steps[R_TICK] * (transport && strcmp(transport, "shm") ? 2 : 1);
    ASSERT(cnt->begins[R_TICK] >= want);
    ASSERT(cnt->begins[R_SINK] >= 2 * cnt->steps[R_SINK] - 1); /* a wait for each message */
  }
  munmap(cnt, sizeof *cnt);
}

TEST(hooks_see_every_compute_slice_and_block_under_threads) { run_with_hooks(AB_ARCH_THREADS, NULL); }
TEST(hooks_see_every_compute_slice_and_block_under_procs_pipe) { run_with_hooks(AB_ARCH_PROCS, "pipe"); }
TEST(hooks_see_every_compute_slice_and_block_under_loop) { run_with_hooks(AB_ARCH_LOOP, NULL); }

static int nohk_step(ab_ctx_t *ctx)
{
  ab_compute(ctx, 10 * AB_NS_PER_US);
  return 0;
}

/* ab_compute with no kernel calibrated fails the run, naming the role and the cure. */
TEST(compute_without_a_kernel_fails_the_run_naming_it)
{
  static const ab_role_desc_t r1[] = { { .name = "w", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = nohk_step } };
  static const ab_scenario_t sc = { .name = "nokernel", .summary = "test", .roles = r1, .nroles = 1,
                                    .archs = AB_ARCHS_DEDICATED };
  ab_run_opts_t o = { .sc = &sc, .arch = AB_ARCH_THREADS, .duration_ns = 100 * AB_NS_PER_MS,
                      .latency_target_us = -1, .quiet = 1, .want_result = 1 };
  ASSERT_EQ(ab_run_one(&o), AB_EXIT_FAIL);
  ASSERT(o.result);
  ASSERT_CONTAINS(o.result->error, "ab_run_kernel");
}
