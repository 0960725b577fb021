/* Fiducial markers, ArUco-like: a square of 6x6 cells, the outer ring black, the inner 4x4
 * cells a code word (black = 1), on a white quiet zone one cell wide. Ids come from a small
 * dictionary whose code words stay distinct under the four rotations, so orientation is
 * decoded too.
 *
 * ab_markers_render renders markers into an RGB24 image (used by the synthetic camera);
 * ab_markers_detect finds them again by real image processing: greyscale and threshold,
 * connected dark regions, a square test, bit-grid sampling and decoding.
 */
#ifndef AB_MARKERS_H
#define AB_MARKERS_H

#include <stddef.h>
#include <stdint.h>

#define AB_MARKER_DICT 32  /* ids 0..31 */
#define AB_MARKER_HAMMING 5 /* least distance between code words over all rotations */
#define AB_MARKERS_MAX 64

typedef struct ab_marker {
  int32_t id;
  int32_t rot;     /* 0..3 quarter turns */
  float cx, cy;    /* centre in full-resolution pixels */
  float side;      /* outer side in pixels */
} ab_marker_t;

/* The 16-bit code word of id turned rot quarter turns clockwise: inner cell (r, c) is bit
 * r*4+c, 1 = black. -EINVAL for a bad id or rot. Decoding corrects one wrong bit. */
int ab_markers_code(int id, int rot);
/* The truth for synthetic frame variant v of a w x h image: fills up to max markers with
 * where they are drawn; returns the count (or -EINVAL). Deterministic in (v, w, h): 4 to 8
 * markers with distinct ids, cells of 14 to 30 px, any rotation, quiet zones inside the
 * image and apart from everything else (fewer markers when the image is too small). */
int ab_markers_truth(int variant, int w, int h, ab_marker_t *out, int max);
/* Render variant v (background with gradient and noise, dark distractors that are not
 * markers: filled squares, hollow frames, long rectangles, discs; then the markers). */
void ab_markers_render(int variant, uint8_t *rgb, int w, int h, int stride);
/* Detect markers in an RGB24 image. decim (1, 2, 4) subsamples the threshold/segmentation
 * pass; decoding samples full resolution. Returns the count found (<= max) or -errno.
 * Axis-aligned markers only (no perspective). Uses a workspace private to the calling
 * thread, allocated on the first call at a given size and reused after, so frames of a
 * steady size do not allocate; one detector per thread, any number of threads. */
int ab_markers_detect(const uint8_t *rgb, int w, int h, int stride, int decim,
                      ab_marker_t *out, int max);
/* The edge pass a detector makes over the full-resolution frame (Sobel gradient magnitude on
 * the grey image, written to an edge map in the thread's workspace), over rows y0 .. y0 +
 * rows - 1 clipped to the interior: it streams the frame through the caches as a detector's
 * refinement pass does. Returns the sum of magnitudes (so the work is kept), or -errno. */
int64_t ab_markers_edges(const uint8_t *rgb, int w, int h, int stride, int y0, int rows);
/* Compare found against truth: 0 when the same ids are found with centres within tol
 * pixels and the same rotation; otherwise the number of mismatches (missing + extra + off). */
int ab_markers_check(const ab_marker_t *found, int nfound, const ab_marker_t *truth, int ntruth,
                     float tol);

#endif
