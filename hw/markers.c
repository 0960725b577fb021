/* Fiducial markers: the dictionary and the detector the robot's vision role runs on every
 * frame (see markers.h for the format); the synthetic scenes the camera prerenders are
 * markers_scene.c's.
 *
 * The detector is the classic pipeline: an Otsu threshold from a sparse histogram, then one
 * pass over a grid subsampled by `decim` that turns dark pixels into runs and joins touching
 * runs with union-find (bounding box and area kept per root), a square test per component,
 * and a decode that samples the 6x6 cell grid at full resolution with a threshold local to
 * the marker. Its cost is what the robot scenario calibrates, so the pixel loop is kept
 * tight and the per-frame path does not allocate once the thread's workspace has grown to
 * the frame size.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "markers.h"

/* 32 code words, cell (r, c) of the inner 4x4 grid is bit r*4+c, 1 = black. Found by a
 * greedy search over the low 16 bits of xorshift32 (shifts 13/17/5, seed 10), keeping a
 * word only if each of its four rotations is at Hamming distance >= 5 from its other
 * rotations, from every rotation of the words already kept, and from 0x0000 and 0xffff (so
 * a hollow or a filled dark square never decodes). Distance 5 lets the decoder correct one
 * bit and still reject every word two or three flips away from a code; tests/test_markers.c
 * re-checks the property. */
static const uint16_t ab__dict[AB_MARKER_DICT] = {
  0x414a, 0xbc0a, 0xbaab, 0x797c, 0x3c61, 0xef6a, 0xa4cd, 0xd8da,
  0x3717, 0x20ba, 0x7272, 0x1c93, 0x94bf, 0xc573, 0x7e34, 0x6791,
  0xd726, 0x71b6, 0x9023, 0x4c9d, 0x8744, 0xa070, 0xd8a0, 0x9de8,
  0xdc76, 0x6867, 0x356a, 0x26a6, 0x9d35, 0x6811, 0xd3b3, 0xc315,
};

#define AB__CORRECT 1 /* bits corrected; (AB_MARKER_HAMMING - 1) / 2 would be the limit */

/* One clockwise quarter turn (image coordinates, y down): new[r][c] = old[3-c][r]. */
static unsigned ab__rot(unsigned w)
{
  unsigned o = 0;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      o |= ((w >> ((3 - c) * 4 + r)) & 1u) << (r * 4 + c);
  return o;
}

int ab_markers_code(int id, int rot)
{
  if (id < 0 || id >= AB_MARKER_DICT || rot < 0 || rot > 3)
    return -EINVAL;
  unsigned w = ab__dict[id];
  for (int k = 0; k < rot; k++)
    w = ab__rot(w);
  return (int)w;
}

/* ---- detection ------------------------------------------------------------------------ */

/* A run of dark samples on one grid row; the same record holds the component's bounding
 * box and area while the run is a union-find root. */
typedef struct ab__run {
  uint16_t x0, x1;
  int32_t parent;
  uint16_t bx0, bx1, by0, by1; /* grid units */
  uint32_t area;               /* dark samples */
} ab__run_t;

/* Per-thread workspace: grows to the worst case for the largest grid seen (every other
 * sample dark) and is then reused, so the per-frame path does not allocate. Thread-local,
 * so one detector per thread needs no lock; freed when the thread exits. */
typedef struct ab__ws {
  ab__run_t *runs;
  size_t cap;
  int32_t *row; /* index of each grid row's first run; gh + 1 entries */
  int rows;
  uint8_t *edge; /* full-resolution edge map (ab_markers_edges) */
  size_t edge_cap;
} ab__ws_t;

static __thread ab__ws_t ab__tws;
static pthread_key_t ab__ws_key;
static pthread_once_t ab__ws_once = PTHREAD_ONCE_INIT;

static void ab__ws_free(void *p)
{
  ab__ws_t *ws = p;
  free(ws->runs);
  free(ws->row);
  free(ws->edge);
  memset(ws, 0, sizeof *ws);
}

static void ab__ws_key_init(void)
{
  pthread_key_create(&ab__ws_key, ab__ws_free);
}

static ab__ws_t *ab__ws_get(size_t runs, int rows)
{
  ab__ws_t *ws = &ab__tws;
  if (ws->cap >= runs && ws->rows >= rows)
    return ws;
  pthread_once(&ab__ws_once, ab__ws_key_init);
  if (ws->cap < runs) {
    free(ws->runs);
    ws->cap = 0;
    if (!(ws->runs = malloc(runs * sizeof *ws->runs)))
      return NULL;
    ws->cap = runs;
  }
  if (ws->rows < rows) {
    free(ws->row);
    ws->rows = 0;
    if (!(ws->row = malloc((size_t)(rows + 1) * sizeof *ws->row)))
      return NULL;
    ws->rows = rows;
  }
  pthread_setspecific(ab__ws_key, ws);
  return ws;
}

static inline unsigned ab__luma(const uint8_t *p) /* grey * 256 */
{
  return p[0] * 77u + p[1] * 150u + p[2] * 29u;
}

static inline int ab__grey(const uint8_t *rgb, int stride, int x, int y)
{
  return (int)(ab__luma(rgb + (size_t)y * stride + (size_t)x * 3) >> 8);
}

/* Otsu over a sparse grid (a threshold needs thousands of samples, not millions). Returns
 * the last dark grey level, or -1 when the two classes are too close to hold markers. */
static int ab__otsu(const uint8_t *rgb, int w, int h, int stride)
{
  uint32_t hist[256] = { 0 };
  int step = (w < h ? w : h) / 64;
  step = step < 1 ? 1 : step > 8 ? 8 : step;
  uint64_t n = 0, sum = 0;
  for (int y = step / 2; y < h; y += step) {
    const uint8_t *p = rgb + (size_t)y * stride;
    for (int x = step / 2; x < w; x += step)
      hist[ab__luma(p + 3 * x) >> 8]++;
  }
  for (int i = 0; i < 256; i++) {
    n += hist[i];
    sum += (uint64_t)i * hist[i];
  }
  double best = -1, m0b = 0, m1b = 0;
  int t = -1;
  uint64_t n0 = 0, s0 = 0;
  for (int i = 0; i < 255; i++) {
    n0 += hist[i];
    s0 += (uint64_t)i * hist[i];
    if (n0 == 0 || n0 == n)
      continue;
    double m0 = (double)s0 / n0, m1 = (double)(sum - s0) / (n - n0);
    double between = (double)n0 * (n - n0) * (m1 - m0) * (m1 - m0);
    if (between > best) {
      best = between;
      t = i;
      m0b = m0;
      m1b = m1;
    }
  }
  return t >= 0 && m1b - m0b >= 40 ? t : -1;
}

static inline int32_t ab__find(ab__run_t *r, int32_t i)
{
  while (r[i].parent != i) {
    r[i].parent = r[r[i].parent].parent;
    i = r[i].parent;
  }
  return i;
}

static inline void ab__union(ab__run_t *r, int32_t a, int32_t b)
{
  a = ab__find(r, a);
  b = ab__find(r, b);
  if (a == b)
    return;
  if (b < a) {
    int32_t t = a;
    a = b;
    b = t;
  }
  r[b].parent = a;
  if (r[b].bx0 < r[a].bx0) r[a].bx0 = r[b].bx0;
  if (r[b].bx1 > r[a].bx1) r[a].bx1 = r[b].bx1;
  if (r[b].by0 < r[a].by0) r[a].by0 = r[b].by0;
  if (r[b].by1 > r[a].by1) r[a].by1 = r[b].by1;
  r[a].area += r[b].area;
}

/* Runs of one grid row (samples x = gx * D) below `lim` (grey * 256), joined to the runs
 * of the row above that touch them (8-connectivity). D is a constant in each instance. */
static inline __attribute__((always_inline)) int32_t
ab__row(const uint8_t *p, int gw, int D, unsigned lim, ab__run_t *r, int32_t n, int32_t prev0,
        int32_t prev1, int gy)
{
  int32_t j = prev0;
  int gx = 0;
  while (gx < gw) {
    while (gx < gw && ab__luma(p + (size_t)gx * D * 3) >= lim)
      gx++;
    if (gx == gw)
      break;
    int a = gx;
    while (gx < gw && ab__luma(p + (size_t)gx * D * 3) < lim)
      gx++;
    int b = gx - 1;
    r[n] = (ab__run_t){ .x0 = (uint16_t)a, .x1 = (uint16_t)b, .parent = n,
                        .bx0 = (uint16_t)a, .bx1 = (uint16_t)b, .by0 = (uint16_t)gy,
                        .by1 = (uint16_t)gy, .area = (uint32_t)(b - a + 1) };
    while (j < prev1 && r[j].x1 + 1 < a)
      j++;
    for (int32_t k = j; k < prev1 && r[k].x0 <= b + 1; k++)
      ab__union(r, n, k);
    n++;
  }
  return n;
}

static int32_t ab__label(const uint8_t *rgb, int stride, int gw, int gh, int D, unsigned lim,
                         ab__ws_t *ws)
{
  int32_t n = 0;
  ws->row[0] = 0;
  for (int gy = 0; gy < gh; gy++) {
    const uint8_t *p = rgb + (size_t)gy * D * stride;
    int32_t p0 = gy ? ws->row[gy - 1] : 0, p1 = ws->row[gy];
    switch (D) { /* constant strides let the compiler simplify the sample addressing */
    case 1: n = ab__row(p, gw, 1, lim, ws->runs, n, p0, p1, gy); break;
    case 2: n = ab__row(p, gw, 2, lim, ws->runs, n, p0, p1, gy); break;
    case 4: n = ab__row(p, gw, 4, lim, ws->runs, n, p0, p1, gy); break;
    default: n = ab__row(p, gw, D, lim, ws->runs, n, p0, p1, gy); break;
    }
    ws->row[gy + 1] = n;
  }
  return n;
}

/* Mean grey of a small patch around (x, y), which must lie inside the image. */
static int ab__patch(const uint8_t *rgb, int stride, int x, int y, int rr)
{
  int s = 0, k = 0;
  for (int j = y - rr; j <= y + rr; j++) {
    const uint8_t *p = rgb + (size_t)j * stride;
    for (int i = x - rr; i <= x + rr; i++, k++)
      s += (int)(ab__luma(p + (size_t)i * 3) >> 8);
  }
  return s / k;
}

/* Exact edge of the ring along one row or column: the first dark pixel from `from`
 * stepping by `dir` (+1/-1) over at most `span` pixels; -1 if none. */
static int ab__edge(const uint8_t *rgb, int stride, int fixed, int from, int dir, int span,
                    int horizontal, int thr, int lim)
{
  for (int k = 0; k <= span; k++) {
    int v = from + dir * k;
    if (v < 0 || v >= lim)
      continue;
    int g = horizontal ? ab__grey(rgb, stride, v, fixed) : ab__grey(rgb, stride, fixed, v);
    if (g <= thr)
      return v;
  }
  return -1;
}

static int ab__median3(int a, int b, int c)
{
  if (a > b) { int t = a; a = b; b = t; }
  if (b > c) b = c;
  return a > b ? a : b;
}

/* The ring's outer edges {x0, x1, y0, y1} in pixels for the candidate whose grid bounding box
 * is b (grid units); 0 when a side shows none. The true edge lies within D-1 pixels outside
 * the first and last dark samples: it is found on three lines through each side and the
 * median kept. */
static int ab__ring_edges(const uint8_t *rgb, int w, int h, int stride, int D, int thr,
                          const ab__run_t *b, int edges[4])
{
  int X0 = b->bx0 * D, X1 = b->bx1 * D, Y0 = b->by0 * D, Y1 = b->by1 * D;
  int e[3];
  for (int side = 0; side < 4; side++) {
    for (int k = 0; k < 3; k++) {
      int horizontal = side < 2;
      int across = horizontal ? Y0 + (Y1 - Y0) * (k + 1) / 4 : X0 + (X1 - X0) * (k + 1) / 4;
      int from, dir, lim = horizontal ? w : h;
      switch (side) {
      case 0: from = X0 - (D - 1); dir = 1; break;
      case 1: from = X1 + (D - 1); dir = -1; break;
      case 2: from = Y0 - (D - 1); dir = 1; break;
      default: from = Y1 + (D - 1); dir = -1; break;
      }
      e[k] = ab__edge(rgb, stride, across, from, dir, 2 * (D - 1), horizontal, thr, lim);
      if (e[k] < 0)
        return 0;
    }
    int v = ab__median3(e[0], e[1], e[2]);
    switch (side) {
    case 0: X0 = v; break;
    case 1: X1 = v; break;
    case 2: Y0 = v; break;
    default: Y1 = v; break;
    }
  }
  edges[0] = X0;
  edges[1] = X1;
  edges[2] = Y0;
  edges[3] = Y1;
  return 1;
}

/* The 16-bit word of the code cells inside the ring whose outer edges are `edges` and sides
 * sw x sh pixels; -1 when the quiet zone leaves the image, the contrast is too low, or a
 * quiet-zone cell is dark or a ring cell light. */
static int ab__read_code(const uint8_t *rgb, int w, int h, int stride, const int edges[4],
                         float sw, float sh)
{
  int X0 = edges[0], X1 = edges[1], Y0 = edges[2], Y1 = edges[3];
  float cw = sw / 6, ch = sh / 6;
  /* The quiet zone must be inside the image to take the white reference from it. */
  if (X0 - cw < 0 || Y0 - ch < 0 || X1 + cw >= w || Y1 + ch >= h)
    return -1;
  int rr = (int)((cw < ch ? cw : ch) / 5);
  rr = rr > 2 ? 2 : rr;

  /* Cells on an 8x8 grid that includes the quiet zone: index 0 and 7 are the quiet zone,
   * 1 and 6 the ring, 2..5 the code. */
  int g[8][8];
  for (int r = 0; r < 8; r++)
    for (int c = 0; c < 8; c++) {
      int x = (int)(X0 + (c - 1 + 0.5f) * cw), y = (int)(Y0 + (r - 1 + 0.5f) * ch);
      g[r][c] = ab__patch(rgb, stride, x, y, rr);
    }
  int black = 0, white = 0;
  for (int i = 0; i < 8; i++) {
    for (int k = 1; k < 7; k++)
      if (i == 1 || i == 6 || k == 1 || k == 6)
        black += g[i][k];
    white += g[0][i] + g[7][i] + (i > 0 && i < 7 ? g[i][0] + g[i][7] : 0);
  }
  black /= 20;
  white /= 28;
  if (white - black < 40)
    return -1;
  int t = (black + white) / 2;
  for (int i = 0; i < 8; i++)
    for (int k = 0; k < 8; k++) {
      int quiet = i == 0 || i == 7 || k == 0 || k == 7;
      int ring = !quiet && (i == 1 || i == 6 || k == 1 || k == 6);
      if ((quiet && g[i][k] <= t) || (ring && g[i][k] > t))
        return -1;
    }
  unsigned word = 0;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      if (g[r + 2][c + 2] <= t)
        word |= 1u << (r * 4 + c);
  return (int)word;
}

/* The dictionary's nearest code to an observed word over the four rotations: its distance in
 * bits, the id and the rotation the marker was drawn with in *id and *rot. */
static int ab__nearest(unsigned word, int *id, int *rot)
{
  /* Turning the observation back by j quarter turns and matching code `id` means the
   * marker was drawn turned by (4 - j) % 4. */
  unsigned obs[4];
  obs[0] = word;
  for (int j = 1; j < 4; j++)
    obs[j] = ab__rot(obs[j - 1]);
  int best = 17;
  *id = -1;
  *rot = 0;
  for (int i = 0; i < AB_MARKER_DICT; i++)
    for (int j = 0; j < 4; j++) {
      int d = __builtin_popcount(obs[j] ^ ab__dict[i]);
      if (d < best) {
        best = d;
        *id = i;
        *rot = (4 - j) % 4;
      }
    }
  return best;
}

/* Decode one candidate whose grid bounding box is b (grid units). Returns 1 and fills *m
 * for a marker, 0 otherwise. */
static int ab__decode(const uint8_t *rgb, int w, int h, int stride, int D, int thr,
                      const ab__run_t *b, ab_marker_t *m)
{
  int E[4];
  if (!ab__ring_edges(rgb, w, h, stride, D, thr, b, E))
    return 0;
  int X0 = E[0], X1 = E[1], Y0 = E[2], Y1 = E[3];
  float sw = (float)(X1 - X0 + 1), sh = (float)(Y1 - Y0 + 1);
  if (sw < 24 || sh < 24 || fabsf(sw - sh) > 0.12f * (sw > sh ? sw : sh))
    return 0;
  int word = ab__read_code(rgb, w, h, stride, E, sw, sh);
  if (word < 0)
    return 0;
  int id, rot;
  if (ab__nearest((unsigned)word, &id, &rot) > AB__CORRECT)
    return 0;
  *m = (ab_marker_t){ .id = id, .rot = rot, .cx = (X0 + X1 + 1) / 2.0f,
                      .cy = (Y0 + Y1 + 1) / 2.0f, .side = (sw + sh) / 2 };
  return 1;
}

int ab_markers_detect(const uint8_t *rgb, int w, int h, int stride, int decim,
                      ab_marker_t *out, int max)
{
  if (!rgb || w <= 0 || h <= 0 || w > 65535 * decim || h > 65535 * decim ||
      stride < 3 * w || decim < 1 || decim > 8 || max < 0 || (max > 0 && !out))
    return -EINVAL;
  int thr = ab__otsu(rgb, w, h, stride);
  if (thr < 0)
    return 0;
  int gw = (w + decim - 1) / decim, gh = (h + decim - 1) / decim;
  ab__ws_t *ws = ab__ws_get((size_t)(gw / 2 + 1) * gh, gh);
  if (!ws)
    return -ENOMEM;
  int32_t n = ab__label(rgb, stride, gw, gh, decim, (unsigned)(thr + 1) << 8, ws);

  /* Sizes in grid units: at least one sample per cell, and the quiet zone must fit. */
  int minside = 6, maxw = (w / decim) * 3 / 4, maxh = (h / decim) * 3 / 4;
  int found = 0;
  for (int32_t i = 0; i < n && found < max; i++) {
    const ab__run_t *c = &ws->runs[i];
    if (c->parent != i)
      continue;
    int bw = c->bx1 - c->bx0 + 1, bh = c->by1 - c->by0 + 1;
    int big = bw > bh ? bw : bh, diff = bw > bh ? bw - bh : bh - bw;
    if (bw < minside || bh < minside || bw * decim < 24 || bh * decim < 24 || bw > maxw ||
        bh > maxh)
      continue;
    if (diff > 2 && diff * 8 > big)
      continue;
    /* The ring alone is 20 of 36 cells. */
    if ((uint64_t)c->area * 100 < (uint64_t)bw * bh * 40)
      continue;
    found += ab__decode(rgb, w, h, stride, decim, thr, c, &out[found]);
  }
  return found;
}

int64_t ab_markers_edges(const uint8_t *rgb, int w, int h, int stride, int y0, int rows)
{
  if (!rgb || w < 3 || h < 3 || stride < 3 * w || rows < 0)
    return -EINVAL;
  ab__ws_t *ws = ab__ws_get(1, 1);
  size_t need = (size_t)w * h;
  if (!ws)
    return -ENOMEM;
  if (ws->edge_cap < need) {
    free(ws->edge);
    ws->edge_cap = 0;
    if (!(ws->edge = malloc(need)))
      return -ENOMEM;
    ws->edge_cap = need;
  }
  int ya = y0 < 1 ? 1 : y0, yb = y0 + rows > h - 1 ? h - 1 : y0 + rows;
  int64_t sum = 0;
  for (int y = ya; y < yb; y++) {
    const uint8_t *r0 = rgb + (size_t)(y - 1) * stride, *r1 = r0 + stride, *r2 = r1 + stride;
    uint8_t *e = ws->edge + (size_t)y * w;
    int g[3][3];
    for (int k = 0; k < 2; k++) {
      g[k][0] = (int)(ab__luma(r0 + 3 * k) >> 8);
      g[k][1] = (int)(ab__luma(r1 + 3 * k) >> 8);
      g[k][2] = (int)(ab__luma(r2 + 3 * k) >> 8);
    }
    for (int x = 1; x < w - 1; x++) {
      int *n = g[(x + 1) % 3], *a = g[(x - 1) % 3], *c = g[x % 3];
      n[0] = (int)(ab__luma(r0 + 3 * (x + 1)) >> 8);
      n[1] = (int)(ab__luma(r1 + 3 * (x + 1)) >> 8);
      n[2] = (int)(ab__luma(r2 + 3 * (x + 1)) >> 8);
      int gx = (n[0] + 2 * n[1] + n[2]) - (a[0] + 2 * a[1] + a[2]);
      int gy = (a[2] + 2 * c[2] + n[2]) - (a[0] + 2 * c[0] + n[0]);
      int m = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
      e[x] = (uint8_t)(m > 255 ? 255 : m);
      sum += m;
    }
  }
  return sum;
}

int ab_markers_check(const ab_marker_t *found, int nfound, const ab_marker_t *truth, int ntruth,
                     float tol)
{
  /* Greedy: each truth takes the nearest unclaimed detection with its id. */
  unsigned char used[AB_MARKERS_MAX] = { 0 };
  int bad = 0;
  if (nfound > AB_MARKERS_MAX)
    nfound = AB_MARKERS_MAX;
  for (int t = 0; t < ntruth; t++) {
    int bi = -1;
    float bd = 0;
    for (int f = 0; f < nfound; f++) {
      if (used[f] || found[f].id != truth[t].id)
        continue;
      float dx = found[f].cx - truth[t].cx, dy = found[f].cy - truth[t].cy;
      float d = sqrtf(dx * dx + dy * dy);
      if (bi < 0 || d < bd) {
        bi = f;
        bd = d;
      }
    }
    if (bi < 0) {
      bad++; /* missing */
      continue;
    }
    used[bi] = 1;
    if (bd > tol || found[bi].rot != truth[t].rot)
      bad++; /* misplaced or wrongly turned */
  }
  for (int f = 0; f < nfound; f++)
    bad += !used[f]; /* extra */
  return bad;
}
