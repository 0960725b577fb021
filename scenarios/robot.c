/* robot: a mobile manipulator, a 20 Hz vision loop over a 100 Hz control loop
 * (WORKLOADS.md section 1).
 *
 *   camera  --frame (6.2 MB, in place on shm)-->  vision  --[target register]-->  inner
 *   (20 Hz, owns the camera)                     (markers)                       (100 Hz, IK)
 *                                                    ^                              |
 *                                              [encoders register]            --motor-->
 *                                                    |                              v
 *                                                    +------------------------  driver
 *                                                                      (owns the serial link)
 *
 * camera grabs the newest frame straight into the frame channel (when none is ready it asks
 * the runtime to wait on the camera's fd, which on the loop means epoll, never a blocking
 * grab); vision verifies the frame arrived intact, finds the fiducial markers (real image
 * processing, padded to the target cost by the full-resolution edge pass a detector's
 * refinement makes), checks them against the ones drawn, and publishes the observation;
 * inner plans a straight Cartesian path from the tool's pose (from the latest encoders) to
 * it, solves damped-least-squares IK at each waypoint, and sends the first joint targets to
 * the driver; the driver, sole owner of the serial port, writes a SET frame
 * and, when the controller's STATUS comes back (its fd is watched, never blocked on), stores
 * the encoders. A command that arrives while an exchange is on the wire replaces any
 * pending one (counted): at 115200 baud a SET + STATUS exchange takes about 5 ms of wire.
 *
 * Chains: observation -> the first motor command written for it (obs_to_cmd_ns), and frame
 * capture -> that command (frame_to_cmd_ns). Observations are numbered by vision; one that
 * a newer one replaced before any command carried it never completes its chain, and is
 * counted (obs_to_cmd.lost) instead of vanishing from the percentiles; at the stop, one
 * that has had a whole outer period is lost too, a younger one pending_at_stop. So
 * observations = commanded (the chain's count) + lost + pending. The outer loop is
 * held to its rate: frames vision handled against the camera activations due (vision.rate).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "camera.h"
#include "robot.h"
#include "ik.h"
#include "markers.h"
#include "motor_proto.h"
#include "serial.h"
#include "stats.h"

enum { R_CAMERA, R_VISION, R_INNER, R_DRIVER };
enum { CH_FRAME, CH_MOTOR };
enum { G_TARGET, G_ENC };
enum { D_CAMERA, D_SERIAL };
enum { M_DETECT, M_OBS_CMD, M_FRAME_CMD, M_SERIAL_RTT, M_IK, M_FRAME_AGE, M_ENC_AGE };
enum { C_FRAMES, C_MARKER_ERR, C_MARKERS, C_CAM_SKIP, C_CAM_WAITS, C_SER_TIMEOUT, C_SER_CRC,
       C_COALESCED, C_IK_FAIL, C_CORRUPT, C_OBS, C_OBS_LOST, C_OBS_PENDING };
enum { V_RATE };

typedef struct target {
  ab_pose_t pose;
  uint64_t obs_seq;
  int64_t t_obs, t_frame;
  int32_t nmarkers, pad;
} target_t;

typedef struct encoders {
  int32_t q[AB_MP_JOINTS];
  int64_t t;
  uint64_t seq;
} encoders_t;

typedef struct motor_msg {
  int32_t q[AB_MP_JOINTS];
  uint64_t obs_seq;
  int64_t t_obs, t_frame;
} motor_msg_t;

/* ---- camera ----------------------------------------------------------------------------- */

/* The newest frame, straight into the channel; only called when one is ready. */
static int camera_capture(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  size_t px = (size_t)sh->width * sh->height * 3, len = sizeof(ab_frame_meta_t) + px;
  uint8_t *buf = ab_send_begin(ctx, CH_FRAME, len);
  if (!buf)
    return -ENOMEM;
  ab_frame_meta_t meta;
  uint64_t skipped = 0;
  int r = ab_camera_grab(ctx, buf + sizeof meta, px, &meta, 0, &skipped);
  if (r == -ETIMEDOUT)
    return AB_STEP_WAIT_DEV; /* the staged slot is simply not committed */
  if (r < 0)
    return ab_fail(ctx, "camera: grab failed: %s", strerror(-r));
  memcpy(buf, &meta, sizeof meta);
  ab_record(ctx, M_FRAME_AGE, ab_now_ns() - meta.t_capture);
  ab_count(ctx, C_CAM_SKIP, (int64_t)skipped);
  return ab_send_end(ctx, CH_FRAME, len, meta.t_capture);
}

/* A frame not ready yet is waited for on the camera's fd, by the runtime: never a grab
 * that blocks (on the loop it would block every other role). */
static int camera_step(ab_ctx_t *ctx)
{
  if (!ab_camera_ready(ctx)) {
    ab_count(ctx, C_CAM_WAITS, 1);
    return AB_STEP_WAIT_DEV;
  }
  return camera_capture(ctx);
}

/* ---- vision ------------------------------------------------------------------------------- */

/* The observation becomes a reachable target pose: the first marker's place in the image
 * maps to a point in front of the arm, its rotation to the tool's yaw. */
static void marker_target(const ab_marker_t *m, int w, int h, ab_pose_t *t)
{
  double u = m->cx / w - 0.5, v = m->cy / h - 0.5;
  t->p[0] = -0.45 + 0.20 * u;
  t->p[1] = -0.20 + 0.20 * v;
  t->p[2] = 0.25 + 0.10 * (m->side / (double)h);
  double yaw = m->rot * M_PI / 2 * 0.25, c = cos(yaw), s = sin(yaw);
  /* tool pointing down (z flipped), yawed */
  double R[3][3] = { { c, s, 0 }, { s, -c, 0 }, { 0, 0, -1 } };
  memcpy(t->R, R, sizeof R);
}

typedef struct vision_priv {
  uint64_t observations;
  int edge_row; /* where the next edge pass starts: the pad walks the whole frame in turn */
} vision_priv_t;

static int vision_init(ab_ctx_t *ctx)
{
  return (*ab_priv(ctx) = calloc(1, sizeof(vision_priv_t))) ? 0 : -ENOMEM;
}

static int vision_step(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  vision_priv_t *p = *ab_priv(ctx);
  ab_msg_t msg;
  int err;
  const uint8_t *buf = ab_recv(ctx, CH_FRAME, &msg, &err);
  if (!buf)
    return err == -EAGAIN ? 0 : err;
  ab_frame_meta_t meta;
  memcpy(&meta, buf, sizeof meta);
  const uint8_t *px = buf + sizeof meta;

  int64_t t0 = ab_now_ns();
  ab_marker_t found[AB_MARKERS_MAX];
  int corrupt;
  int n = robot_vision_detect(sh, &meta, px, &p->edge_row, found, &corrupt);
  if (n < 0)
    return ab_fail(ctx, "vision: marker detection failed: %s", strerror(-n));
  ab_record(ctx, M_DETECT, ab_now_ns() - t0);
  ab_count(ctx, C_CORRUPT, corrupt);
  ab_count(ctx, C_FRAMES, 1);
  ab_count(ctx, C_MARKERS, n);
  if (meta.variant >= 0) {
    ab_marker_t truth[AB_MARKERS_MAX];
    int nt = ab_markers_truth(meta.variant, meta.width, meta.height, truth, AB_MARKERS_MAX);
    if (ab_markers_check(found, n, truth, nt, 2.0f) != 0)
      ab_count(ctx, C_MARKER_ERR, 1);
  }
  ab_recv_done(ctx, CH_FRAME);

  encoders_t enc;
  if (ab_load(ctx, G_ENC, &enc))
    ab_record(ctx, M_ENC_AGE, ab_now_ns() - enc.t);
  if (n == 0)
    return 0;
  int best = 0;
  for (int i = 1; i < n; i++)
    if (found[i].id < found[best].id)
      best = i;
  target_t t;
  memset(&t, 0, sizeof t);
  marker_target(&found[best], meta.width, meta.height, &t.pose);
  t.obs_seq = ++p->observations;
  t.t_frame = meta.t_capture;
  t.nmarkers = n;
  t.t_obs = ab_now_ns();
  sh->obs_t[t.obs_seq % OBS_RING] = t.t_obs;
  ab_store(ctx, G_TARGET, &t);
  ab_count(ctx, C_OBS, 1);
  return 0;
}

/* ---- inner: IK at 100 Hz ------------------------------------------------------------------------ */

typedef struct inner_priv {
  double q[AB_IK_DOF]; /* last command, used until the first encoder reading */
} inner_priv_t;

static int inner_init(ab_ctx_t *ctx)
{
  inner_priv_t *p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  static const double home[AB_IK_DOF] = { 0, -1.2, 1.6, -1.9, -1.57, 0 };
  memcpy(p->q, home, sizeof home);
  *ab_priv(ctx) = p;
  return 0;
}

static int inner_step(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  inner_priv_t *p = *ab_priv(ctx);
  target_t t;
  encoders_t enc;
  double q0[AB_IK_DOF], q[AB_IK_DOF];
  memcpy(q0, p->q, sizeof q0);
  if (ab_load(ctx, G_ENC, &enc))
    for (int j = 0; j < AB_IK_DOF; j++)
      q0[j] = enc.q[j] * 1e-6;
  motor_msg_t m = { 0 };
  if (ab_load(ctx, G_TARGET, &t)) {
    /* A straight Cartesian path from where the tool is to the target, IK at every waypoint
     * seeded by the previous one (joint continuity); the first waypoint is commanded. */
    int64_t t0 = ab_now_ns();
    ab_pose_t now_pose, wp;
    ab_fk(q0, &now_pose);
    double qs[AB_IK_DOF], first[AB_IK_DOF] = { 0 };
    memcpy(qs, q0, sizeof qs);
    int fails = 0;
    for (int k = 1; k <= sh->waypoints; k++) {
      double a = (double)k / sh->waypoints;
      for (int i = 0; i < 3; i++)
        wp.p[i] = now_pose.p[i] + a * (t.pose.p[i] - now_pose.p[i]);
      memcpy(wp.R, t.pose.R, sizeof wp.R);
      ab_ik_result_t r = ab_ik_dls(qs, &wp, 0.05, sh->ik_iters, 1e-4, qs);
      fails += !r.converged;
      if (k == 1)
        memcpy(first, qs, sizeof first);
    }
    memcpy(q, first, sizeof q);
    ab_record(ctx, M_IK, ab_now_ns() - t0);
    if (fails)
      ab_count(ctx, C_IK_FAIL, 1);
    m.obs_seq = t.obs_seq;
    m.t_obs = t.t_obs;
    m.t_frame = t.t_frame;
  } else {
    memcpy(q, q0, sizeof q); /* no observation yet: hold */
  }
  for (int j = 0; j < AB_IK_DOF; j++) {
    double a = remainder(q[j], 2 * M_PI);
    m.q[j] = (int32_t)lrint(a * 1e6);
    p->q[j] = a;
  }
  return ab_send(ctx, CH_MOTOR, &m, sizeof m, m.t_obs ? m.t_obs : 0);
}

/* ---- driver: the serial link's only owner ---------------------------------------------------------- */

typedef struct driver_priv {
  ab_mp_parser_t parser;
  uint8_t seq;
  int in_flight, have_pending;
  int64_t t_sent;
  motor_msg_t pending;
  uint64_t last_obs;
  uint64_t crc_base;
} driver_priv_t;

static int driver_init(ab_ctx_t *ctx)
{
  driver_priv_t *p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  ab_mp_parser_init(&p->parser);
  *ab_priv(ctx) = p;
  return 0;
}

static int driver_write(ab_ctx_t *ctx, driver_priv_t *p, const motor_msg_t *m)
{
  uint8_t frame[AB_MP_MAX_FRAME];
  int n = ab_mp_encode_set(frame, ++p->seq, m->q);
  if (n < 0)
    return n;
  /* Stamped before the write: the write wakes the controller, which may preempt us, and a
   * stamp taken after would shorten the round trip by however long we waited to run. */
  int64_t now = ab_now_ns();
  ssize_t w = ab_serial_write(ctx, frame, (size_t)n);
  if (w < 0)
    return ab_fail(ctx, "driver: serial write failed: %s", strerror((int)-w));
  p->in_flight = 1;
  p->t_sent = now;
  if (m->obs_seq > p->last_obs) {
    ab_record(ctx, M_OBS_CMD, now - m->t_obs);
    ab_record(ctx, M_FRAME_CMD, now - m->t_frame);
    /* observations numbered in between were replaced before any command carried them */
    ab_count(ctx, C_OBS_LOST, (int64_t)(m->obs_seq - p->last_obs - 1));
    p->last_obs = m->obs_seq;
    ((shared_t *)ab_shared(ctx))->last_commanded = m->obs_seq;
  }
  return 0;
}

static int driver_step(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  driver_priv_t *p = *ab_priv(ctx);
  ab_msg_t msg;
  int err;
  const motor_msg_t *m = ab_recv(ctx, CH_MOTOR, &msg, &err);
  if (!m)
    return err == -EAGAIN ? 0 : err;
  motor_msg_t cmd = *m;
  ab_recv_done(ctx, CH_MOTOR);
  if (p->in_flight && ab_now_ns() - p->t_sent > sh->serial_timeout_ns) {
    ab_count(ctx, C_SER_TIMEOUT, 1);
    p->in_flight = 0;
  }
  if (p->in_flight) {
    if (p->have_pending)
      ab_count(ctx, C_COALESCED, 1);
    p->pending = cmd;
    p->have_pending = 1;
    return 0;
  }
  return driver_write(ctx, p, &cmd);
}

static int driver_io(ab_ctx_t *ctx)
{
  driver_priv_t *p = *ab_priv(ctx);
  uint8_t buf[256];
  ssize_t n;
  while ((n = ab_serial_read(ctx, buf, sizeof buf)) > 0) {
    size_t off = 0;
    int got = 0;
    /* A frame can complete inside the parser without consuming input: loop until both the
     * bytes and the parser are exhausted. */
    while (off < (size_t)n || got) {
      ab_mp_frame_t f;
      got = 0;
      off += ab_mp_feed(&p->parser, buf + off, (size_t)n - off, &f, &got);
      if (got != 1)
        continue;
      encoders_t e;
      uint8_t flags;
      if (ab_mp_status(&f, e.q, &flags) < 0 || f.seq != p->seq || !p->in_flight)
        continue; /* a NAK or a stale reply: the timeout accounts for it */
      int64_t now = ab_now_ns();
      ab_record(ctx, M_SERIAL_RTT, now - p->t_sent);
      e.t = now;
      e.seq = p->seq;
      ab_store(ctx, G_ENC, &e);
      p->in_flight = 0;
      if (p->have_pending) {
        p->have_pending = 0;
        int r = driver_write(ctx, p, &p->pending);
        if (r < 0)
          return r;
      }
    }
  }
  if (n < 0)
    return ab_fail(ctx, "driver: serial read failed: %s", strerror((int)-n));
  return 0;
}

static void driver_fini(ab_ctx_t *ctx)
{
  driver_priv_t *p = *ab_priv(ctx);
  if (!p)
    return;
  ab_count(ctx, C_SER_CRC, (int64_t)(p->parser.crc_errors + p->parser.len_errors));
  free(p);
  *ab_priv(ctx) = NULL;
}

static void free_priv(ab_ctx_t *ctx)
{
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
}

/* ---- set-up: calibration ------------------------------------------------------------------------------ */

static int robot_setup(ab_run_t *run)
{
  shared_t *sh = ab_run_shared(run, sizeof(shared_t));
  if (!sh)
    return -ENOMEM;
  ab_camera_geometry(ab_run_dev(run, D_CAMERA), &sh->width, &sh->height);
  ab_run_chan_size(run, CH_FRAME, sizeof(ab_frame_meta_t) + (size_t)sh->width * sh->height * 3);
  ab_run_period(run, R_CAMERA, (int64_t)ab_param(run, "outer_period"));
  ab_run_period(run, R_INNER, (int64_t)ab_param(run, "inner_period"));
  sh->ik_iters = (int)ab_param(run, "ik_iters");
  sh->waypoints = (int)ab_param(run, "waypoints");
  /* A SET + STATUS exchange is ~60 bytes of wire; allow ten exchanges before calling it lost. */
  int baud = ab_run_serial_baud(run);
  sh->serial_timeout_ns = 10 * 60 * ab_serial_byte_ns(baud) + 20 * AB_NS_PER_MS;

  vision_calib_t c;
  int64_t target = (int64_t)ab_param(run, "detect");
  int r = robot_calibrate_vision(sh, target, &c);
  if (r == -EINVAL) {
    ab_run_fail(run, "vision: the marker detector did not find the markers drawn in the calibration frames");
    return r;
  }
  if (r < 0)
    return r;
  sh->decim = c.decim;
  sh->pad_rows = c.pad_rows;
  int w = sh->width, h = sh->height;
  for (int k = 0; k < 3; k++) {
    char key[48];
    snprintf(key, sizeof key, "vision.detect_ns.decim%d", robot_decims[k]);
    ab_calib_set(run, key, (double)c.cost[k]);
  }
  ab_calib_str(run, "vision.calibrated", r == 1 ? "reused: the command's first run of this scenario" : "this run");
  ab_calib_set(run, "vision.decim", sh->decim);
  ab_calib_set(run, "vision.detect_ns", (double)c.detect_ns);
  ab_calib_set(run, "vision.pad_ns", (double)c.pad_ns);
  ab_calib_set(run, "vision.target_ns", (double)target);
  ab_calib_str(run, "vision.pad_kernel", "sobel edge pass, full resolution");
  ab_calib_set(run, "vision.pad_edge_ns_per_row", c.row_ns);
  ab_calib_set(run, "vision.pad_rows", (double)sh->pad_rows);
  ab_calib_set(run, "vision.markers_per_frame", c.nt);

  /* The IK's cost on this machine, for the record. */
  static const double q0[AB_IK_DOF] = { 0, -1.2, 1.6, -1.9, -1.57, 0 };
  ab_marker_t m;
  ab_markers_truth(0, w, h, &m, 1);
  ab_pose_t tp;
  marker_target(&m, w, h, &tp);
  double q[AB_IK_DOF];
  int64_t t0 = ab_now_ns();
  ab_ik_result_t ik = ab_ik_dls(q0, &tp, 0.05, sh->ik_iters, 1e-4, q);
  ab_calib_set(run, "ik.cold_solve_ns", (double)(ab_now_ns() - t0));
  ab_calib_set(run, "ik.cold_iterations", ik.iterations);
  ab_calib_set(run, "serial.baud", baud);
  ab_calib_set(run, "serial.byte_ns", (double)ab_serial_byte_ns(baud));
  return 0;
}

/* Observations after the last one a command carried: lost if they had a whole outer period
 * before the stop to reach a command, else still on their way (pending, not a failure). */
static void account_observations(ab_run_t *run)
{
  shared_t *sh = ab_run_shared(run, sizeof(shared_t));
  uint64_t n = (uint64_t)ab_run_counter(run, C_OBS), lost = 0, pending = 0;
  int64_t cutoff = ab_run_end_time(run) - (int64_t)ab_param(run, "outer_period");
  for (uint64_t k = sh->last_commanded + 1; k <= n; k++) {
    if (n - k < OBS_RING && sh->obs_t[k % OBS_RING] >= cutoff)
      pending++;
    else
      lost++;
  }
  ab_run_counter_set(run, C_OBS_LOST, ab_run_counter(run, C_OBS_LOST) + (int64_t)lost);
  ab_run_counter_set(run, C_OBS_PENDING, (int64_t)pending);
}

static int robot_finish(ab_run_t *run)
{
  account_observations(run);
  int64_t frames = ab_run_counter(run, C_FRAMES), bad = ab_run_counter(run, C_MARKER_ERR);
  int64_t corrupt = ab_run_counter(run, C_CORRUPT), due = ab_run_due(run, R_CAMERA);
  if (due)
    ab_run_value_set(run, V_RATE, (double)frames / due);
  if (corrupt)
    ab_run_fail(run, "vision: %lld of %lld frames arrived corrupted (checksum mismatch)", (long long)corrupt,
                (long long)frames);
  else if (bad)
    ab_run_fail(run, "vision: the markers found differ from the ones drawn in %lld of %lld frames",
                (long long)bad, (long long)frames);
  else if (frames == 0 && ab_run_window(run) >= 500 * AB_NS_PER_MS)
    ab_run_fail(run, "vision: no frame was processed");
  return 0;
}

/* ---- the descriptor ------------------------------------------------------------------------------------- */

static const ab_role_desc_t roles[] = {
  [R_CAMERA] = { .name = "camera", .period_ns = 50 * AB_NS_PER_MS, .trigger = -1, .step = camera_step,
                 .io = camera_capture, .flags = AB_ROLE_IO },
  [R_VISION] = { .name = "vision", .trigger = CH_FRAME, .init = vision_init, .step = vision_step,
                 .fini = free_priv, .flags = AB_ROLE_CPU },
  [R_INNER] = { .name = "inner", .period_ns = 10 * AB_NS_PER_MS, .trigger = -1, .init = inner_init,
                .step = inner_step, .fini = free_priv, .flags = AB_ROLE_CPU },
  [R_DRIVER] = { .name = "driver", .trigger = CH_MOTOR, .on_device = 1, .init = driver_init,
                 .step = driver_step, .io = driver_io, .fini = driver_fini, .flags = AB_ROLE_IO },
};

static const ab_chan_desc_t chans[] = {
  /* The camera never waits for vision: a frame that finds both slots full is dropped. */
  [CH_FRAME] = { .name = "frame", .from = R_CAMERA, .to = R_VISION, .msg_max = 1920 * 1080 * 3 + 64,
                 .depth = 2, .policy = AB_DROP, .flags = AB_CHAN_BULK },
  [CH_MOTOR] = { .name = "motor", .from = R_INNER, .to = R_DRIVER, .msg_max = sizeof(motor_msg_t),
                 .depth = 8, .policy = AB_DROP },
};

static const ab_reg_desc_t regs[] = {
  [G_TARGET] = { .name = "target", .size = sizeof(target_t) },
  [G_ENC] = { .name = "encoders", .size = sizeof(encoders_t) },
};

static const ab_dev_desc_t devs[] = {
  [D_CAMERA] = { .name = "camera", .kind = AB_DEV_CAMERA, .owner = R_CAMERA },
  [D_SERIAL] = { .name = "serial", .kind = AB_DEV_SERIAL, .owner = R_DRIVER },
};

static const ab_metric_desc_t metrics[] = {
  [M_DETECT] = { "vision.detect_ns" },      [M_OBS_CMD] = { "obs_to_cmd_ns" },
  [M_FRAME_CMD] = { "frame_to_cmd_ns" },    [M_SERIAL_RTT] = { "serial.rtt_ns" },
  [M_IK] = { "inner.ik_ns" },               [M_FRAME_AGE] = { "camera.frame_age_ns" },
  [M_ENC_AGE] = { "vision.encoder_age_ns" },
};

static const char *const counters[] = {
  [C_FRAMES] = "vision.frames",           [C_MARKER_ERR] = "vision.marker_errors",
  [C_MARKERS] = "vision.markers",         [C_CAM_SKIP] = "camera.skipped_frames",
  [C_CAM_WAITS] = "camera.waits",         [C_SER_TIMEOUT] = "serial.timeouts",
  [C_SER_CRC] = "serial.crc_errors",      [C_COALESCED] = "driver.coalesced",
  [C_IK_FAIL] = "inner.ik_not_converged", [C_CORRUPT] = "vision.frames_corrupt",
  [C_OBS] = "vision.observations",        [C_OBS_LOST] = "obs_to_cmd.lost",
  [C_OBS_PENDING] = "obs_to_cmd.pending_at_stop",
};

static const char *const values[] = { [V_RATE] = "vision.rate" };

static const ab_req_desc_t reqs[] = {
  { .name = "inner.missed_periods", .op = AB_EQ, .limit = 0 },
  { .name = "inner.lateness_ns.p999", .op = AB_LE, .limit_param = "inner_period", .limit_scale = 0.1 },
  { .name = "obs_to_cmd_ns.max", .op = AB_LE, .limit_param = "outer_period", .limit_scale = 1.0 },
  { .name = "frame_to_cmd_ns.max", .op = AB_LE, .limit_param = "outer_period", .limit_scale = 1.0 },
  { .name = "obs_to_cmd.lost", .op = AB_EQ, .limit = 0 },
  { .name = "vision.rate", .op = AB_GE, .limit_param = "min_vision_rate", .limit_scale = 1.0 },
  { .name = "vision.marker_errors", .op = AB_EQ, .limit = 0 },
  { .name = "serial.timeouts", .op = AB_EQ, .limit = 0 },
};

static const ab_param_desc_t params[] = {
  { "outer_period", AB_P_DURATION, "50ms", 1e6, 1e9, NULL, "vision loop period (20 Hz)" },
  { "inner_period", AB_P_DURATION, "10ms", 5e5, 1e9, NULL, "control loop period (100 Hz)" },
  { "detect", AB_P_DURATION, "4ms", 0, 100e6, NULL, "CPU cost of one marker detection" },
  { "ik_iters", AB_P_INT, "20", 1, 1000, NULL, "most DLS iterations per IK solve" },
  { "waypoints", AB_P_INT, "16", 1, 1000, NULL, "Cartesian waypoints solved per control step" },
  { "min_vision_rate", AB_P_DOUBLE, "0.95", 0, 1, NULL, "frames vision must handle, of those due" },
};

/* WORKLOADS.md §1: the document's numbers, each with what checks it here. The document's
 * queues are Python's (pickled, through a pipe); these are the same hand-overs in C, so a
 * claim that is wrong here by orders of magnitude is about the language, not the IPC. */
static const ab_claim_t claims[] = {
  { "robot_thread_handoff", "with threads, lock plus copy hands a command over in under 0.1 ms", 100, "us",
    "micro:robot-obs-ring/threads/oneway/48", "", AB_AT_MOST },
  { "robot_process_queue", "a message through a process queue, serialized, costs 1-5 ms", 1, "ms",
    "micro:robot-obs-pipe/procs/oneway/48", "", AB_RANGE, 5 },
  { "robot_ipc_cpu", "100 messages/s through processes cost 10-50% of a CPU", 10, "%",
    "micro:robot-obs-pipe/procs/oneway/48", "", AB_RANGE, 50, 100 / 1e9 * 100 },
  { "robot_frame_queue", "6 MB frames through a process queue are expensive (over 1 ms each)", 1, "ms",
    "micro:robot-frame-pipe/procs/oneway/6220800", "", AB_AT_LEAST },
  { "robot_threads_faster", "threads share commands 10-50x faster than processes", 10, "x",
    "micro_ratio:robot-obs-pipe/procs/oneway/48:robot-obs-ring/threads/oneway/48", "", AB_RANGE, 50 },
};

const ab_scenario_t ab_scenario_robot = {
  .name = "robot",
  .source = "seeds/000_abc719bc1b09db18.txt",
  .claims = claims, .nclaims = sizeof claims / sizeof claims[0],
  .summary = "20 Hz vision (6.2 MB frames, marker detection) over a 100 Hz IK + serial control loop",
  .roles = roles, .nroles = 4,
  .chans = chans, .nchans = 2,
  .regs = regs, .nregs = 2,
  .devs = devs, .ndevs = 2,
  .metrics = metrics, .nmetrics = sizeof metrics / sizeof metrics[0],
  .counters = counters, .ncounters = sizeof counters / sizeof counters[0],
  .values = values, .nvalues = sizeof values / sizeof values[0],
  .reqs = reqs, .nreqs = sizeof reqs / sizeof reqs[0],
  .params = params, .nparams = sizeof params / sizeof params[0],
  .archs = AB_ARCHS_DEDICATED,
  .setup = robot_setup,
  .finish = robot_finish,
  .table_role = "inner",
  .table_chain = "obs_to_cmd_ns",
  .table_chain_lost = "obs_to_cmd.lost",
};
