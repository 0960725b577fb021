/* The audio device's insides, shared by hw/audio.c (the device, the mock) and
 * hw/audio_alsa.c (the ALSA backend). Private to hw/.
 */
#ifndef AB_AUDIO_IMPL_H
#define AB_AUDIO_IMPL_H

#include "audio.h"

/* The device's state: in memory every role shares (the supervisor prepares it, the owner
 * counts into it, the supervisor reads it after the run). */
typedef struct ab__au_state {
  ab_audio_cfg_t cfg;
  char pcm[128];         /* the ALSA PCM's name; "" for the mock */
  int prepared;
  ab_audio_stats_t st;   /* counted by the owner only, with relaxed atomics (ab__au_count) */
} ab__au_state_t;

static inline void ab__au_count(ab__au_state_t *s, uint64_t *field, uint64_t n)
{
  (void)s;
  __atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

/* An xrun's length: the longest is kept. */
static inline void ab__au_max(uint64_t *field, uint64_t n)
{
  uint64_t cur = __atomic_load_n(field, __ATOMIC_RELAXED);
  while (n > cur && !__atomic_compare_exchange_n(field, &cur, n, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
}

/* ---- the ALSA backend (hw/audio_alsa.c) ---------------------------------------------------
 * Each returns 0 (or what its ab_audio_*_h twin returns) or a negative errno, with `err` (may
 * be NULL, AB_ERRLEN bytes) naming the PCM and what was expected:
 *   -ENOENT  no such PCM (CLI exit 3, the device is missing);
 *   -EBUSY/-EACCES  it exists but cannot be opened now (exit 3);
 *   -EINVAL  it cannot do 16 kHz mono S16_LE in 20 ms periods with that buffer (exit 2).
 * check: in the supervisor at prepare, both directions opened, configured and closed, so that
 * a bad PCM is refused before any role starts. */
int ab__alsa_check(const char *pcm, int periods, char *err);
int ab__alsa_open(ab__au_state_t *s, void **impl, char *err);
int ab__alsa_fd(void *impl);                 /* capture's poll descriptor */
void ab__alsa_start(void *impl, int64_t t_start);
int ab__alsa_read(void *impl, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index);
int ab__alsa_write(void *impl, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play);
int ab__alsa_space(void *impl);
int ab__alsa_drop(void *impl);
void ab__alsa_close(void *impl);

#endif
