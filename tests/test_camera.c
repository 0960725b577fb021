/* Tests of hw/camera.c's synthetic backend, end to end: geometry and option checks, the frame
 * clock, skipped frames, pixels and truth, the fd's readiness, a forked owner, release. The
 * libv4l2 backend is tested in tests/test_camera_v4l2.c; the helpers both use are in
 * tests/camutil.h.
 */
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "camera.h"
#include "camutil.h"
#include "markers.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------------------- */

static void *prepare_synthetic(int w, int h, double fps)
{
  void *st = new_state();
  char err[AB_ERRLEN] = "";
  ab_dev_opts_t o = { .width = w, .height = h, .fps = fps };
  int r = ab_camera_ops.prepare(st, &o, err);
  if (r != 0)
    AB_FAIL("prepare: %d %s", r, err);
  return st;
}

/* ---- synthetic ------------------------------------------------------------------------ */

TEST(camera_synthetic_reports_backend_and_geometry)
{
  void *st = prepare_synthetic(640, 480, 30);
  int w = 0, h = 0;
  ab_camera_geometry(st, &w, &h);
  ASSERT_EQ(w, 640);
  ASSERT_EQ(h, 480);
  ASSERT_STR(ab_camera_ops.backend(st), "synthetic");
  ASSERT_STR(ab_camera_ops.kind, "camera");
  ab_camera_ops.release(st);

  ab_dev_opts_t zero = { 0 }; /* unset size and rate take the defaults */
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(ab_camera_ops.prepare(st, &zero, err), 0);
  ab_camera_geometry(st, &w, &h);
  ASSERT_EQ(w, 1920);
  ASSERT_EQ(h, 1080);
  ab_camera_ops.release(st);
}

TEST(camera_synthetic_rejects_out_of_range_options_naming_them)
{
  void *st = new_state();
  char err[AB_ERRLEN];
  ab_dev_opts_t o = { .width = 640, .height = 480, .fps = -2 };
  ASSERT_EQ(ab_camera_ops.prepare(st, &o, err), -EINVAL);
  ASSERT_CONTAINS(err, "fps -2");
  o.fps = 5000;
  ASSERT_EQ(ab_camera_ops.prepare(st, &o, err), -EINVAL);
  ASSERT_CONTAINS(err, "fps 5000");
  o.fps = 30;
  o.width = 8;
  ASSERT_EQ(ab_camera_ops.prepare(st, &o, err), -EINVAL);
  ASSERT_CONTAINS(err, "8x480");
  ab_camera_ops.release(st);
}

TEST(camera_open_before_prepare_fails)
{
  void *st = new_state(), *h = NULL;
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(ab_camera_ops.open(st, &h, err), -EINVAL);
  ASSERT_CONTAINS(err, "prepare");
}

TEST(camera_synthetic_frames_arrive_at_about_fps)
{
  double fps = 50;
  void *st = prepare_synthetic(320, 240, fps);
  ab_camera_t *c = open_cam(st);
  size_t cap = 320 * 240 * 3;
  uint8_t *buf = malloc(cap);
  ab_frame_meta_t m;
  uint64_t skipped = 0, grabs = 0, first = 0, last = 0;
  int64_t t0 = ab_now_ns();
  while (ab_now_ns() - t0 < AB_NS_PER_S) {
    ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &m, AB_NS_PER_S, &skipped), 0);
    if (grabs++ == 0)
      first = m.seq;
    last = m.seq;
  }
  double secs = (ab_now_ns() - t0) / 1e9, frames = (double)(last - first + 1);
  printf("     %.0f frames in %.2f s at %.0f fps, %" PRIu64 " grabs, %" PRIu64 " skipped\n",
         frames, secs, fps, grabs, skipped);
  ASSERT_DBL(frames, >=, 0.5 * fps * secs);
  ASSERT_DBL(frames, <=, 1.5 * fps * secs);
  ASSERT_EQ(grabs + skipped, last + 1); /* every frame either grabbed or counted skipped */
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
  free(buf);
}

TEST(camera_synthetic_seq_increases_and_t_capture_is_the_intended_time)
{
  double fps = 100;
  void *st = prepare_synthetic(160, 120, fps);
  ab_camera_t *c = open_cam(st);
  uint8_t buf[160 * 120 * 3];
  ab_frame_meta_t m, prev = { 0 };
  int64_t period = (int64_t)(1e9 / fps);
  for (int i = 0; i < 20; i++) {
    ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, &m, AB_NS_PER_S, NULL), 0);
    int64_t now = ab_now_ns();
    ASSERT_INT(m.t_capture, <=, now); /* complete before we got it */
    ASSERT_EQ(m.width, 160);
    ASSERT_EQ(m.height, 120);
    ASSERT_EQ(m.stride, 160 * 3);
    if (i > 0) {
      ASSERT_INT(m.seq, >, prev.seq);
      ASSERT_EQ(m.t_capture - prev.t_capture, (int64_t)(m.seq - prev.seq) * period);
    }
    prev = m;
  }
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
}

TEST(camera_synthetic_counts_skipped_frames_when_grabbing_slower_than_fps)
{
  void *st = prepare_synthetic(160, 120, 100);
  ab_camera_t *c = open_cam(st);
  uint8_t buf[160 * 120 * 3];
  ab_frame_meta_t a, b;
  uint64_t skipped = 0;
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, &a, AB_NS_PER_S, &skipped), 0);
  uint64_t before = skipped;
  usleep(100 * 1000); /* ten periods */
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, &b, AB_NS_PER_S, &skipped), 0);
  ASSERT_INT(skipped - before, >=, 5);
  ASSERT_EQ(b.seq - a.seq, skipped - before + 1);
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
}

TEST(camera_synthetic_pixels_equal_the_variant_render_and_its_truth)
{
  int w = 640, h = 480;
  void *st = prepare_synthetic(w, h, 60);
  ab_camera_t *c = open_cam(st);
  size_t cap = (size_t)w * h * 3;
  uint8_t *buf = malloc(cap), *ref = malloc(cap);
  int seen = 0;
  for (int i = 0; i < 8; i++) {
    ab_frame_meta_t m;
    ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &m, AB_NS_PER_S, NULL), 0);
    ASSERT_EQ(m.variant, (int)(m.seq % 4));
    seen |= 1 << m.variant;
    ab_markers_render(m.variant, ref, w, h, w * 3);
    ASSERT(memcmp(buf, ref, cap) == 0);
    ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
    int nt = ab_markers_truth(m.variant, w, h, t, AB_MARKERS_MAX);
    int nf = ab_markers_detect(buf, w, h, w * 3, 2, f, AB_MARKERS_MAX);
    ASSERT_INT(nt, >, 0);
    ASSERT_EQ(ab_markers_check(f, nf, t, nt, 2.0f), 0);
  }
  ASSERT_INT(seen, >, 1);
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
  free(buf);
  free(ref);
}

TEST(camera_synthetic_fd_is_readable_only_when_a_frame_is_due)
{
  void *st = prepare_synthetic(160, 120, 2); /* 500 ms period */
  ab_camera_t *c = open_cam(st);
  uint8_t buf[160 * 120 * 3];
  struct pollfd p = { .fd = ab_camera_ops.fd(c), .events = POLLIN };
  ASSERT_INT(p.fd, >=, 0);
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  ASSERT(p.revents & POLLIN);
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, NULL, 0, NULL), 0);
  ASSERT_EQ(poll(&p, 1, 0), 0); /* consumed; the next is ~500 ms away */
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
}

TEST(camera_synthetic_grab_times_out_when_no_frame_is_due)
{
  void *st = prepare_synthetic(160, 120, 1);
  ab_camera_t *c = open_cam(st);
  uint8_t buf[160 * 120 * 3];
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, NULL, 0, NULL), -ETIMEDOUT);
  int64_t t0 = ab_now_ns();
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, NULL, 20 * AB_NS_PER_MS, NULL), -ETIMEDOUT);
  int64_t dt = ab_now_ns() - t0;
  ASSERT_INT(dt, >=, 20 * AB_NS_PER_MS);
  ASSERT_INT(dt, <, 900 * AB_NS_PER_MS);
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf, NULL, 3 * AB_NS_PER_S, NULL), 0);
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
}

TEST(camera_grab_rejects_a_buffer_smaller_than_a_frame)
{
  void *st = prepare_synthetic(160, 120, 30);
  ab_camera_t *c = open_cam(st);
  uint8_t buf[160 * 120 * 3];
  ASSERT_EQ(ab_camera_grab_h(c, buf, sizeof buf - 1, NULL, AB_NS_PER_S, NULL), -EINVAL);
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
}

TEST(camera_synthetic_works_in_a_forked_owner)
{
  int w = 320, h = 240;
  void *st = prepare_synthetic(w, h, 30);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    /* The owner role: state and frames as the supervisor prepared them. */
    ab_camera_t *c = open_cam(st);
    size_t cap = (size_t)w * h * 3;
    uint8_t *buf = malloc(cap), *ref = malloc(cap);
    ab_frame_meta_t m;
    ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &m, AB_NS_PER_S, NULL), 0);
    ab_markers_render(m.variant, ref, w, h, w * 3);
    ASSERT(memcmp(buf, ref, cap) == 0);
    ab_camera_ops.close(c);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ab_camera_ops.release(st);
}

static int shm_mappings(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  ASSERT(f != NULL);
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f))
    n += strstr(line, "/archbench-") != NULL;
  fclose(f);
  return n;
}

TEST(camera_release_unmaps_the_prerendered_frames)
{
  void *st = new_state(); /* itself a shared mapping: counted in the baseline */
  int base = shm_mappings();
  char err[AB_ERRLEN] = "";
  ab_dev_opts_t o = { .width = 320, .height = 240, .fps = 30 };
  ASSERT_EQ(ab_camera_ops.prepare(st, &o, err), 0);
  ASSERT_EQ(shm_mappings(), base + 1);
  ab_camera_ops.release(st);
  ASSERT_EQ(shm_mappings(), base);
  ab_camera_ops.release(st); /* twice is harmless */
  ASSERT_EQ(shm_mappings(), base);
}
