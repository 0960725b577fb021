/* Fiducial markers: the synthetic scenes the camera prerenders (see markers.h), each a
 * deterministic layout of markers and dark distractors on a noisy gradient, and the truth
 * the robot's vision role checks its detections against. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "markers.h"

static uint64_t ab__splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int ab__uniform(uint64_t *s, int lo, int hi) /* inclusive */
{
  return lo + (int)(ab__splitmix(s) % (uint64_t)(hi - lo + 1));
}

enum { AB__SQUARE, AB__RECT, AB__DISC, AB__FRAME, AB__NSHAPES };

typedef struct ab__box { int x0, y0, x1, y1; } ab__box_t; /* inclusive */

typedef struct ab__layout {
  int n;
  struct { int x, y, cell, id, rot; } m[8]; /* x, y: top-left of the black square */
  int ns;
  struct { int kind, x, y, w, h, grey; } s[10];
} ab__layout_t;

#define AB__BLACK 30
#define AB__WHITE 230

static int ab__overlaps(const ab__box_t *a, const ab__box_t *b, int gap)
{
  return a->x0 <= b->x1 + gap && b->x0 <= a->x1 + gap && a->y0 <= b->y1 + gap &&
         b->y0 <= a->y1 + gap;
}

/* Take box b if it keeps 16 pixels from every box taken so far: 1 taken, 0 not. */
static int ab__take(ab__box_t *used, int *nused, const ab__box_t *b)
{
  for (int i = 0; i < *nused; i++)
    if (ab__overlaps(b, &used[i], 16))
      return 0;
  used[(*nused)++] = *b;
  return 1;
}

/* Where everything goes in variant v: rejection sampling from a generator seeded by
 * (v, w, h), so truth and render agree and every process computes the same scene. Markers
 * keep their one-cell quiet zone inside the image; nothing touches anything else, so every
 * dark component is either one marker or one distractor. */
static void ab__layout(int variant, int w, int h, ab__layout_t *L)
{
  uint64_t s = 0x61726368ull ^ ((uint64_t)(uint32_t)variant << 32) ^ ((uint64_t)w << 16) ^
               (uint64_t)h;
  ab__splitmix(&s);
  ab__box_t used[18];
  int nused = 0;
  memset(L, 0, sizeof *L);

  int ids[AB_MARKER_DICT];
  for (int i = 0; i < AB_MARKER_DICT; i++)
    ids[i] = i;
  for (int i = AB_MARKER_DICT - 1; i > 0; i--) {
    int j = ab__uniform(&s, 0, i), t = ids[i];
    ids[i] = ids[j];
    ids[j] = t;
  }

  int want = ab__uniform(&s, 4, 8);
  for (int tries = 0; L->n < want && tries < 400 * want; tries++) {
    int cell = ab__uniform(&s, 14, 30), foot = 8 * cell, margin = 4;
    if (foot + 2 * margin > w || foot + 2 * margin > h)
      continue;
    int fx = ab__uniform(&s, margin, w - margin - foot);
    int fy = ab__uniform(&s, margin, h - margin - foot);
    ab__box_t b = { fx, fy, fx + foot - 1, fy + foot - 1 };
    if (!ab__take(used, &nused, &b))
      continue;
    L->m[L->n].x = fx + cell;
    L->m[L->n].y = fy + cell;
    L->m[L->n].cell = cell;
    L->m[L->n].id = ids[L->n];
    L->m[L->n].rot = ab__uniform(&s, 0, 3);
    L->n++;
  }

  /* At least one of each distractor kind when there is room: a filled square (ring black,
   * code all ones), a hollow frame (code all zeros), a long rectangle and a disc. */
  for (int tries = 0; L->ns < 8 && tries < 4000; tries++) {
    int kind = L->ns < AB__NSHAPES ? L->ns : ab__uniform(&s, 0, AB__NSHAPES - 1);
    int a = ab__uniform(&s, 40, 200), bw = a, bh = a;
    if (kind == AB__RECT) {
      int longer = a * ab__uniform(&s, 15, 30) / 10;
      if (ab__uniform(&s, 0, 1))
        bw = longer;
      else
        bh = longer;
    }
    if (bw + 8 > w || bh + 8 > h)
      continue;
    int x = ab__uniform(&s, 4, w - 4 - bw), y = ab__uniform(&s, 4, h - 4 - bh);
    ab__box_t b = { x, y, x + bw - 1, y + bh - 1 };
    if (!ab__take(used, &nused, &b))
      continue;
    L->s[L->ns].kind = kind;
    L->s[L->ns].x = x;
    L->s[L->ns].y = y;
    L->s[L->ns].w = bw;
    L->s[L->ns].h = bh;
    L->s[L->ns].grey = ab__uniform(&s, 20, 70);
    L->ns++;
  }
}

int ab_markers_truth(int variant, int w, int h, ab_marker_t *out, int max)
{
  if (w <= 0 || h <= 0 || max < 0 || (max > 0 && !out))
    return -EINVAL;
  ab__layout_t L;
  ab__layout(variant, w, h, &L);
  int n = L.n < max ? L.n : max;
  for (int i = 0; i < n; i++) {
    float side = 6.0f * L.m[i].cell;
    out[i] = (ab_marker_t){ .id = L.m[i].id, .rot = L.m[i].rot,
                            .cx = L.m[i].x + side / 2, .cy = L.m[i].y + side / 2,
                            .side = side };
  }
  return n;
}

static void ab__fill(uint8_t *rgb, int stride, int x, int y, int bw, int bh, int grey)
{
  for (int j = y; j < y + bh; j++)
    memset(rgb + (size_t)j * stride + (size_t)x * 3, grey, (size_t)bw * 3);
}

void ab_markers_render(int variant, uint8_t *rgb, int w, int h, int stride)
{
  if (!rgb || w <= 0 || h <= 0 || stride < 3 * w)
    return;
  ab__layout_t L;
  ab__layout(variant, w, h, &L);

  /* A diagonal gradient, slightly tinted, kept well above the dark objects so a global
   * threshold separates them with room for the noise. */
  for (int y = 0; y < h; y++) {
    uint8_t *p = rgb + (size_t)y * stride;
    for (int x = 0; x < w; x++) {
      int g = 175 + (40 * x) / w + (20 * y) / h;
      p[3 * x + 0] = (uint8_t)(g + 4);
      p[3 * x + 1] = (uint8_t)g;
      p[3 * x + 2] = (uint8_t)(g - 8);
    }
  }

  for (int i = 0; i < L.ns; i++) {
    int x = L.s[i].x, y = L.s[i].y, bw = L.s[i].w, bh = L.s[i].h, g = L.s[i].grey;
    switch (L.s[i].kind) {
    case AB__SQUARE:
    case AB__RECT:
      ab__fill(rgb, stride, x, y, bw, bh, g);
      break;
    case AB__FRAME: {
      int t = bw / 6 > 2 ? bw / 6 : 2;
      ab__fill(rgb, stride, x, y, bw, t, g);
      ab__fill(rgb, stride, x, y + bh - t, bw, t, g);
      ab__fill(rgb, stride, x, y, t, bh, g);
      ab__fill(rgb, stride, x + bw - t, y, t, bh, g);
      break;
    }
    case AB__DISC: {
      double r = bw / 2.0, c = bw / 2.0;
      for (int j = 0; j < bh; j++)
        for (int k = 0; k < bw; k++) {
          double dx = k + 0.5 - c, dy = j + 0.5 - c;
          if (dx * dx + dy * dy <= r * r)
            memset(rgb + (size_t)(y + j) * stride + (size_t)(x + k) * 3, g, 3);
        }
      break;
    }
    }
  }

  for (int i = 0; i < L.n; i++) {
    int cell = L.m[i].cell, x = L.m[i].x, y = L.m[i].y;
    unsigned code = (unsigned)ab_markers_code(L.m[i].id, L.m[i].rot);
    ab__fill(rgb, stride, x - cell, y - cell, 8 * cell, 8 * cell, AB__WHITE);
    for (int r = 0; r < 6; r++)
      for (int c = 0; c < 6; c++) {
        int black = r == 0 || r == 5 || c == 0 || c == 5 ||
                    ((code >> ((r - 1) * 4 + (c - 1))) & 1u);
        if (black)
          ab__fill(rgb, stride, x + c * cell, y + r * cell, cell, cell, AB__BLACK);
      }
  }

  /* Sensor noise over everything, +-12 grey levels per channel. */
  uint32_t st = 0x9e3779b9u ^ (uint32_t)variant * 0x85ebca6bu ^ (uint32_t)(w * 31 + h);
  for (int y = 0; y < h; y++) {
    uint8_t *p = rgb + (size_t)y * stride;
    for (int x = 0; x < 3 * w; x++) {
      st ^= st << 13;
      st ^= st >> 17;
      st ^= st << 5;
      int v = p[x] + (int)(st % 25u) - 12;
      p[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}

