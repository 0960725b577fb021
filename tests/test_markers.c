/* Tests of hw/markers.c: the dictionary's distance, the synthetic scenes' truth, the
 * detector against that truth at every decimation, what it must refuse (distractors, blank
 * frames, damaged codes), the rotation it decodes, the matcher, and an informational line
 * of detection cost per decimation on a 1920x1080 frame.
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "markers.h"
#include "test.h"

#define W 1920
#define H 1080

static uint8_t *render(int variant, int w, int h, int stride)
{
  uint8_t *img = malloc((size_t)stride * h);
  ASSERT(img != NULL);
  ab_markers_render(variant, img, w, h, stride);
  return img;
}

static void expect_truth(int variant, int w, int h, int decim)
{
  uint8_t *img = render(variant, w, h, 3 * w);
  ab_marker_t truth[AB_MARKERS_MAX], found[AB_MARKERS_MAX];
  int nt = ab_markers_truth(variant, w, h, truth, AB_MARKERS_MAX);
  int nf = ab_markers_detect(img, w, h, 3 * w, decim, found, AB_MARKERS_MAX);
  if (ab_markers_check(found, nf, truth, nt, 2.0f) != 0) {
    for (int i = 0; i < nt; i++)
      fprintf(stderr, "  truth id %2d rot %d (%.1f, %.1f) side %.1f\n", truth[i].id,
              truth[i].rot, truth[i].cx, truth[i].cy, truth[i].side);
    for (int i = 0; i < nf; i++)
      fprintf(stderr, "  found id %2d rot %d (%.1f, %.1f) side %.1f\n", found[i].id,
              found[i].rot, found[i].cx, found[i].cy, found[i].side);
    AB_FAIL("variant %d %dx%d decim %d: %d mismatches", variant, w, h, decim,
            ab_markers_check(found, nf, truth, nt, 2.0f));
  }
  ASSERT_EQ(nf, nt);
  free(img);
}

static int grey_at(const uint8_t *img, int stride, int x, int y)
{
  const uint8_t *p = img + (size_t)y * stride + (size_t)x * 3;
  return (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8;
}

static void fill(uint8_t *img, int stride, int x0, int y0, int x1, int y1, int v)
{
  for (int y = y0; y < y1; y++)
    memset(img + (size_t)y * stride + (size_t)x0 * 3, v, (size_t)(x1 - x0) * 3);
}

/* Pixel box of inner code cell (r, c) of a marker from its truth. */
static void cell_box(const ab_marker_t *m, int r, int c, int *x0, int *y0, int *x1, int *y1)
{
  float cell = m->side / 6, left = m->cx - m->side / 2, top = m->cy - m->side / 2;
  *x0 = (int)lroundf(left + (c + 1) * cell);
  *x1 = (int)lroundf(left + (c + 2) * cell);
  *y0 = (int)lroundf(top + (r + 1) * cell);
  *y1 = (int)lroundf(top + (r + 2) * cell);
}

static void flip_cell(uint8_t *img, int stride, const ab_marker_t *m, int r, int c)
{
  int x0, y0, x1, y1;
  cell_box(m, r, c, &x0, &y0, &x1, &y1);
  int dark = grey_at(img, stride, (x0 + x1) / 2, (y0 + y1) / 2) < 128;
  fill(img, stride, x0, y0, x1, y1, dark ? 230 : 30);
}

TEST(markers_dictionary_words_stay_5_apart_under_all_rotations)
{
  for (int i = 0; i < AB_MARKER_DICT; i++)
    for (int ri = 0; ri < 4; ri++) {
      int a = ab_markers_code(i, ri);
      ASSERT_INT(a, >=, 0);
      /* Never close to a filled or a hollow square. */
      ASSERT_INT(__builtin_popcount((unsigned)a), >=, AB_MARKER_HAMMING);
      ASSERT_INT(16 - __builtin_popcount((unsigned)a), >=, AB_MARKER_HAMMING);
      for (int j = 0; j < AB_MARKER_DICT; j++)
        for (int rj = 0; rj < 4; rj++) {
          if (i == j && ri == rj)
            continue;
          int d = __builtin_popcount((unsigned)(a ^ ab_markers_code(j, rj)));
          if (d < AB_MARKER_HAMMING)
            AB_FAIL("id %d rot %d vs id %d rot %d: distance %d < %d", i, ri, j, rj, d,
                    AB_MARKER_HAMMING);
        }
    }
  ASSERT_EQ(ab_markers_code(-1, 0), -EINVAL);
  ASSERT_EQ(ab_markers_code(AB_MARKER_DICT, 0), -EINVAL);
  ASSERT_EQ(ab_markers_code(0, 4), -EINVAL);
}

TEST(markers_code_rotation_turns_the_grid_clockwise)
{
  for (int i = 0; i < AB_MARKER_DICT; i++) {
    unsigned a = (unsigned)ab_markers_code(i, 0), b = (unsigned)ab_markers_code(i, 1);
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 4; c++) /* cell (r, c) goes to (c, 3 - r) */
        ASSERT_EQ((a >> (r * 4 + c)) & 1u, (b >> (c * 4 + 3 - r)) & 1u);
  }
}

TEST(markers_truth_is_deterministic_separate_and_differs_per_variant)
{
  ab_marker_t a[AB_MARKERS_MAX], b[AB_MARKERS_MAX];
  int rots = 0;
  for (int v = 0; v < 8; v++) {
    int n = ab_markers_truth(v, W, H, a, AB_MARKERS_MAX);
    ASSERT_INT(n, >=, 4);
    ASSERT_INT(n, <=, 8);
    ASSERT_EQ(ab_markers_truth(v, W, H, b, AB_MARKERS_MAX), n);
    ASSERT(memcmp(a, b, sizeof a[0] * n) == 0);
    for (int i = 0; i < n; i++) {
      rots |= 1 << a[i].rot;
      ASSERT_DBL(a[i].side, >=, 6 * 14);
      ASSERT_DBL(a[i].side, <=, 6 * 30);
      float quiet = a[i].side * 8 / 6 / 2; /* half the footprint with the quiet zone */
      ASSERT_DBL(a[i].cx - quiet, >=, 0);
      ASSERT_DBL(a[i].cy - quiet, >=, 0);
      ASSERT_DBL(a[i].cx + quiet, <=, W);
      ASSERT_DBL(a[i].cy + quiet, <=, H);
      for (int j = 0; j < i; j++) {
        ASSERT(a[i].id != a[j].id);
        float qj = a[j].side * 8 / 6 / 2;
        int apart = fabsf(a[i].cx - a[j].cx) >= quiet + qj ||
                    fabsf(a[i].cy - a[j].cy) >= quiet + qj;
        ASSERT(apart);
      }
    }
    if (v > 0) {
      ab_marker_t p[AB_MARKERS_MAX];
      int np = ab_markers_truth(v - 1, W, H, p, AB_MARKERS_MAX);
      ASSERT(np != n || memcmp(p, a, sizeof a[0] * n) != 0);
    }
  }
  ASSERT_EQ(rots, 0xf); /* every rotation occurs */
  ASSERT_EQ(ab_markers_truth(0, W, H, a, 2), 2);
}

TEST(markers_render_is_deterministic)
{
  uint8_t *a = render(2, 640, 480, 640 * 3), *b = render(2, 640, 480, 640 * 3);
  ASSERT(memcmp(a, b, 640 * 480 * 3) == 0);
  uint8_t *c = render(3, 640, 480, 640 * 3);
  ASSERT(memcmp(a, c, 640 * 480 * 3) != 0);
  free(a);
  free(b);
  free(c);
}

TEST(markers_detect_equals_truth_every_variant_decim1)
{
  for (int v = 0; v < 8; v++) {
    expect_truth(v, W, H, 1);
    expect_truth(v, 640, 480, 1);
  }
}

TEST(markers_detect_equals_truth_every_variant_decim2)
{
  for (int v = 0; v < 8; v++) {
    expect_truth(v, W, H, 2);
    expect_truth(v, 640, 480, 2);
  }
}

/* Cells are at least 14 px, so 3.5 grid samples at decim 4: still enough. */
TEST(markers_detect_equals_truth_every_variant_decim4)
{
  for (int v = 0; v < 8; v++) {
    expect_truth(v, W, H, 4);
    expect_truth(v, 640, 480, 4);
  }
}

TEST(markers_detect_honours_padded_stride)
{
  int stride = 3 * 800 + 13;
  uint8_t *img = render(1, 800, 600, stride);
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(1, 800, 600, t, AB_MARKERS_MAX);
  for (int d = 1; d <= 4; d *= 2) {
    int nf = ab_markers_detect(img, 800, 600, stride, d, f, AB_MARKERS_MAX);
    ASSERT_EQ(ab_markers_check(f, nf, t, nt, 2.0f), 0);
  }
  free(img);
}

TEST(markers_distractors_are_never_detected)
{
  /* Erase the markers of a scene (quiet zone included) and keep its distractors: filled
   * squares, hollow frames, long rectangles and discs, all dark. */
  for (int v = 0; v < 4; v++) {
    uint8_t *img = render(v, W, H, 3 * W);
    ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
    int nt = ab_markers_truth(v, W, H, t, AB_MARKERS_MAX);
    for (int i = 0; i < nt; i++) {
      int half = (int)(t[i].side * 8 / 6 / 2) + 1;
      fill(img, 3 * W, (int)t[i].cx - half, (int)t[i].cy - half, (int)t[i].cx + half,
           (int)t[i].cy + half, 200);
    }
    long dark = 0;
    for (int y = 0; y < H; y += 2)
      for (int x = 0; x < W; x += 2)
        dark += grey_at(img, 3 * W, x, y) < 100;
    ASSERT_INT(dark, >, 5000); /* the distractors are there */
    for (int d = 1; d <= 4; d *= 2)
      ASSERT_EQ(ab_markers_detect(img, W, H, 3 * W, d, f, AB_MARKERS_MAX), 0);
    free(img);
  }
}

TEST(markers_lone_dark_squares_and_frames_are_not_markers)
{
  int w = 640, h = 480;
  uint8_t *img = malloc((size_t)w * h * 3);
  ab_marker_t f[AB_MARKERS_MAX];
  memset(img, 210, (size_t)w * h * 3);
  fill(img, 3 * w, 40, 40, 160, 160, 30);                 /* filled square */
  fill(img, 3 * w, 240, 40, 360, 160, 30);                /* frame: ring only */
  fill(img, 3 * w, 260, 60, 340, 140, 230);
  fill(img, 3 * w, 420, 40, 600, 160, 30);                /* rectangle 3:2 */
  fill(img, 3 * w, 40, 240, 160, 360, 30);                /* square with a white cross */
  fill(img, 3 * w, 60, 290, 140, 310, 230);
  fill(img, 3 * w, 90, 260, 110, 340, 230);
  for (int d = 1; d <= 4; d *= 2)
    ASSERT_EQ(ab_markers_detect(img, w, h, 3 * w, d, f, AB_MARKERS_MAX), 0);
  free(img);
}

TEST(markers_image_without_markers_finds_none)
{
  int w = 640, h = 480;
  uint8_t *img = malloc((size_t)w * h * 3);
  ab_marker_t f[AB_MARKERS_MAX];
  int fills[] = { 0, 128, 255 };
  for (int i = 0; i < 3; i++) {
    memset(img, fills[i], (size_t)w * h * 3);
    for (int d = 1; d <= 4; d *= 2)
      ASSERT_EQ(ab_markers_detect(img, w, h, 3 * w, d, f, AB_MARKERS_MAX), 0);
  }
  /* Gradient and noise only. */
  uint32_t s = 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < 3 * w; x++) {
      s = s * 1664525u + 1013904223u;
      img[(size_t)y * 3 * w + x] = (uint8_t)(60 + (150 * x) / (3 * w) + (s >> 27));
    }
  for (int d = 1; d <= 4; d *= 2)
    ASSERT_EQ(ab_markers_detect(img, w, h, 3 * w, d, f, AB_MARKERS_MAX), 0);
  free(img);
}

TEST(markers_one_flipped_bit_is_corrected)
{
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(0, W, H, t, AB_MARKERS_MAX);
  for (int cell = 0; cell < 16; cell++) {
    uint8_t *img = render(0, W, H, 3 * W);
    for (int i = 0; i < nt; i++)
      flip_cell(img, 3 * W, &t[i], (cell + i) / 4 % 4, (cell + i) % 4);
    int nf = ab_markers_detect(img, W, H, 3 * W, 2, f, AB_MARKERS_MAX);
    ASSERT_EQ(ab_markers_check(f, nf, t, nt, 2.0f), 0);
    free(img);
  }
}

TEST(markers_two_or_three_flipped_bits_are_rejected_never_misread)
{
  SKIP_UNDER_TSAN("single-threaded decoding, checked in every other build");
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(1, W, H, t, AB_MARKERS_MAX);
  uint64_t s = 7;
  for (int round = 0; round < 40; round++) {
    int flips = 2 + round % 2; /* within AB_MARKER_HAMMING - 2 of the code: never another */
    uint8_t *img = render(1, W, H, 3 * W);
    for (int i = 0; i < nt; i++) {
      int used = 0;
      for (int k = 0; k < flips;) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int cell = (int)(s >> 60);
        if (used & (1 << cell))
          continue;
        used |= 1 << cell;
        flip_cell(img, 3 * W, &t[i], cell / 4, cell % 4);
        k++;
      }
    }
    int nf = ab_markers_detect(img, W, H, 3 * W, 2, f, AB_MARKERS_MAX);
    for (int i = 0; i < nf; i++)
      AB_FAIL("round %d, %d flips: reported id %d at (%.0f, %.0f)", round, flips, f[i].id,
              f[i].cx, f[i].cy);
    free(img);
  }
}

TEST(markers_with_a_broken_ring_are_rejected)
{
  /* Whiten one ring cell per marker (a corner, so the bounding box stays): the code is
   * intact, but without its black border it is not a marker. */
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(3, W, H, t, AB_MARKERS_MAX);
  uint8_t *img = render(3, W, H, 3 * W);
  for (int i = 0; i < nt; i++) {
    int x0, y0, x1, y1;
    cell_box(&t[i], -1 + 5 * (i % 2), -1 + 5 * (i / 2 % 2), &x0, &y0, &x1, &y1);
    fill(img, 3 * W, x0, y0, x1, y1, 230);
  }
  for (int d = 1; d <= 4; d *= 2)
    ASSERT_EQ(ab_markers_detect(img, W, H, 3 * W, d, f, AB_MARKERS_MAX), 0);
  free(img);
}

TEST(markers_rotation_is_decoded_from_the_image)
{
  /* Turn each marker's footprint a quarter clockwise in the image itself: the same id
   * must come back with rot + 1. */
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(2, W, H, t, AB_MARKERS_MAX);
  uint8_t *img = render(2, W, H, 3 * W), *src = malloc((size_t)W * H * 3);
  memcpy(src, img, (size_t)W * H * 3);
  for (int i = 0; i < nt; i++) {
    int n = (int)lroundf(t[i].side * 8 / 6), x0 = (int)lroundf(t[i].cx) - n / 2,
        y0 = (int)lroundf(t[i].cy) - n / 2;
    for (int y = 0; y < n; y++)
      for (int x = 0; x < n; x++) /* dst (x, y) <- src (y, n-1-x) */
        memcpy(img + (size_t)(y0 + y) * 3 * W + (size_t)(x0 + x) * 3,
               src + (size_t)(y0 + n - 1 - x) * 3 * W + (size_t)(x0 + y) * 3, 3);
    t[i].rot = (t[i].rot + 1) % 4;
  }
  int nf = ab_markers_detect(img, W, H, 3 * W, 1, f, AB_MARKERS_MAX);
  ASSERT_EQ(nf, nt);
  ASSERT_EQ(ab_markers_check(f, nf, t, nt, 2.0f), 0);
  free(img);
  free(src);
}

TEST(markers_check_counts_missing_extra_misplaced_and_misturned)
{
  ab_marker_t t[3] = { { 1, 0, 100, 100, 90 }, { 2, 1, 300, 100, 90 }, { 3, 2, 500, 100, 90 } };
  ab_marker_t f[4];
  memcpy(f, t, sizeof t);
  ASSERT_EQ(ab_markers_check(f, 3, t, 3, 2.0f), 0);
  ASSERT_EQ(ab_markers_check(f, 2, t, 3, 2.0f), 1);             /* missing */
  f[3] = (ab_marker_t){ 9, 0, 700, 100, 90 };
  ASSERT_EQ(ab_markers_check(f, 4, t, 3, 2.0f), 1);             /* extra */
  f[0].cx += 5;
  ASSERT_EQ(ab_markers_check(f, 3, t, 3, 2.0f), 1);             /* misplaced */
  ASSERT_EQ(ab_markers_check(f, 3, t, 3, 6.0f), 0);             /* ... within a wider tol */
  f[1].rot = 3;
  ASSERT_EQ(ab_markers_check(f, 4, t, 3, 2.0f), 3);             /* + misturned + extra */
  ASSERT_EQ(ab_markers_check(f, 0, t, 3, 2.0f), 3);
  ASSERT_EQ(ab_markers_check(f, 4, t, 0, 2.0f), 4);
}

TEST(markers_detect_rejects_bad_arguments)
{
  uint8_t img[16 * 16 * 3] = { 0 };
  ab_marker_t f[1];
  ASSERT_EQ(ab_markers_detect(NULL, 16, 16, 48, 1, f, 1), -EINVAL);
  ASSERT_EQ(ab_markers_detect(img, 16, 16, 47, 1, f, 1), -EINVAL);
  ASSERT_EQ(ab_markers_detect(img, 0, 16, 48, 1, f, 1), -EINVAL);
  ASSERT_EQ(ab_markers_detect(img, 16, 16, 48, 0, f, 1), -EINVAL);
  ASSERT_EQ(ab_markers_detect(img, 16, 16, 48, 1, NULL, 1), -EINVAL);
  ASSERT_EQ(ab_markers_detect(img, 16, 16, 48, 1, NULL, 0), 0);
}

TEST(markers_detect_stops_at_max)
{
  uint8_t *img = render(0, W, H, 3 * W);
  ab_marker_t f[AB_MARKERS_MAX];
  ASSERT_EQ(ab_markers_detect(img, W, H, 3 * W, 2, f, 2), 2);
  free(img);
}

TEST(markers_detect_does_not_allocate_once_warm)
{
  uint8_t *img = render(3, W, H, 3 * W);
  ab_marker_t f[AB_MARKERS_MAX];
  for (int d = 1; d <= 4; d *= 2)
    ab_markers_detect(img, W, H, 3 * W, d, f, AB_MARKERS_MAX); /* grows the workspace */
  struct mallinfo2 a = mallinfo2();
  for (int i = 0; i < 5; i++)
    for (int d = 4; d >= 1; d /= 2)
      ASSERT_INT(ab_markers_detect(img, W, H, 3 * W, d, f, AB_MARKERS_MAX), >, 0);
  struct mallinfo2 b = mallinfo2();
  ASSERT_EQ(b.uordblks, a.uordblks);
  ASSERT_EQ(b.hblkhd, a.hblkhd);
  free(img);
}

struct job { int variant, bad; };

static void *detect_job(void *p)
{
  struct job *j = p;
  uint8_t *img = render(j->variant, W, H, 3 * W);
  ab_marker_t t[AB_MARKERS_MAX], f[AB_MARKERS_MAX];
  int nt = ab_markers_truth(j->variant, W, H, t, AB_MARKERS_MAX);
  for (int i = 0; i < 20; i++) {
    int nf = ab_markers_detect(img, W, H, 3 * W, 1 + (i % 2), f, AB_MARKERS_MAX);
    j->bad += ab_markers_check(f, nf, t, nt, 2.0f);
  }
  free(img);
  return NULL;
}

TEST(markers_detectors_in_parallel_threads_do_not_interfere)
{
  pthread_t th[3];
  struct job jobs[3] = { { 0, 0 }, { 1, 0 }, { 2, 0 } };
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, detect_job, &jobs[i]), 0);
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    ASSERT_EQ(jobs[i].bad, 0);
  }
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Informational: what the robot's calibration will see. No assertion on time. */
TEST(markers_detect_time_per_decim_1080p)
{
  SKIP_UNDER_TSAN("a time per detection means nothing instrumented");
  uint8_t *frames[4];
  for (int v = 0; v < 4; v++)
    frames[v] = render(v, W, H, 3 * W);
  uint8_t *dst = malloc((size_t)W * H * 3);
  ab_marker_t f[AB_MARKERS_MAX];
  for (int d = 1; d <= 4; d *= 2) {
    double sum = 0, best = 1e9, worst = 0;
    int reps = 40;
    ab_markers_detect(frames[0], W, H, 3 * W, d, f, AB_MARKERS_MAX);
    for (int i = 0; i < reps; i++) {
      /* As in the robot: the frame was just copied in by the grab. */
      memcpy(dst, frames[i % 4], (size_t)W * H * 3);
      double t0 = now_ms();
      int n = ab_markers_detect(dst, W, H, 3 * W, d, f, AB_MARKERS_MAX);
      double dt = now_ms() - t0;
      ASSERT_INT(n, >, 0);
      sum += dt;
      best = dt < best ? dt : best;
      worst = dt > worst ? dt : worst;
    }
    printf("     detect 1920x1080 decim %d: mean %.3f ms, min %.3f, max %.3f (%d frames)\n", d,
           sum / reps, best, worst, reps);
  }
  for (int v = 0; v < 4; v++)
    free(frames[v]);
  free(dst);
}
