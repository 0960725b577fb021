/* The audio device's ALSA backend (audio.h says what the device is; audio_impl.h the contract
 * of each call). Two snd_pcm_t on one PCM name, capture and playback, both non-blocking,
 * interleaved S16_LE mono at exactly 16 kHz in periods of exactly 320 frames and a buffer of
 * exactly `periods` periods: a PCM that offers something else is refused naming what it
 * offers, never silently accepted, since every figure of the run is in those units.
 *
 * Start: capture never starts by itself (start threshold = boundary), playback starts with its
 * first period written. ab__alsa_start links the two for the start only when the PCM can
 * (snd_pcm_link), so that both clocks start on the same interrupt, with one period of silence
 * queued (the kernel refuses to start an empty playback); then unlinks them, because the kernel
 * stops a linked group as a whole and an overrun would otherwise cut the reply playing.
 *
 * Xruns are part of the measurement, never a failure: -EPIPE is counted in periods lost (an
 * estimate from our own clock: when the buffer must have filled up or run dry, to now) and
 * recovered. A playback xrun counts as an underrun only while a reply was playing (the last
 * frame written said more follows), as in audio.h: an idle stream left unfed is no underrun.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <alsa/asoundlib.h>

#include "audio_impl.h"

#define AB__NS_PER_FRAME (AB_NS_PER_S / AB_AUDIO_RATE) /* 62500 */

typedef struct ab__alsa {
  ab__au_state_t *s;
  snd_pcm_t *cap, *play;
  int periods;
  int started;
  int fail;              /* a start that failed: returned by the next read */
  uint64_t index;        /* the number of the next capture period since the start */
  int64_t cap_full;      /* when the capture buffer fills up if not read again (ns) */
  int64_t play_end;      /* when the last frame written ends playing (ns) */
  int reply;             /* the last frame written said more follows */
  int16_t frame[AB_AUDIO_FRAME]; /* a capture period read in parts, then handed out whole */
  int have;              /* frames of it read so far */
} ab__alsa_t;

static const int16_t ab__silence[AB_AUDIO_FRAME];

static const char *ab__dir(snd_pcm_stream_t d)
{
  return d == SND_PCM_STREAM_CAPTURE ? "capture" : "playback";
}

static int64_t ab__ceil_periods(int64_t ns)
{
  return ns <= 0 ? 0 : (ns + AB_AUDIO_PERIOD_NS - 1) / AB_AUDIO_PERIOD_NS;
}

/* ---- opening and configuring ------------------------------------------------------------ */

static int ab__open_fail(const char *pcm, snd_pcm_stream_t d, int r, char *err)
{
  switch (r) {
  case -ENOENT:
  case -ENODEV:
  case -ENXIO: /* an hw:N,M whose card or device is not there */
    return ab_dev_fail(err, -ENOENT,
                       "audio PCM '%s': no such PCM (alsa: %s), or no sound card behind it; expected "
                       "an ALSA PCM name such as default or hw:0,0 (aplay -L lists them)", pcm, snd_strerror(r));
  case -EBUSY:
  case -EAGAIN: /* a hw device held by another program, opened non-blocking */
    return ab_dev_fail(err, -EBUSY, "audio PCM '%s': %s is busy (alsa: %s); is another program using it?",
                       pcm, ab__dir(d), snd_strerror(r));
  case -EACCES:
  case -EPERM:
    return ab_dev_fail(err, -EACCES, "audio PCM '%s': permission denied for %s (alsa: %s); is the user in "
                       "group audio?", pcm, ab__dir(d), snd_strerror(r));
  default:
    return ab_dev_fail(err, r, "audio PCM '%s': cannot open for %s (alsa: %s); expected an ALSA PCM that "
                       "does full-duplex 16 kHz mono S16_LE", pcm, ab__dir(d), snd_strerror(r));
  }
}

/* The formats a PCM offers, for the message that refuses ours. */
static void ab__formats(snd_pcm_hw_params_t *hw, char *out, size_t n)
{
  snd_pcm_format_mask_t *m;
  snd_pcm_format_mask_alloca(&m);
  snd_pcm_hw_params_get_format_mask(hw, m);
  size_t len = 0;
  out[0] = 0;
  for (int f = 0; f <= SND_PCM_FORMAT_LAST && len + 1 < n; f++)
    if (snd_pcm_format_mask_test(m, (snd_pcm_format_t)f)) {
      const char *name = snd_pcm_format_name((snd_pcm_format_t)f);
      int w = snprintf(out + len, n - len, "%s%s", len ? " " : "", name ? name : "?");
      len += w > 0 ? (size_t)w : 0;
    }
  if (!len)
    snprintf(out, n, "none");
}

/* hw params exactly as audio.h says, or -EINVAL naming what the PCM refused and what it
 * offers. Each check runs on the space the earlier ones left, so a refusal names the first
 * constraint that cannot be met. */
static int ab__hw(snd_pcm_t *p, const char *pcm, snd_pcm_stream_t d, int periods, char *err)
{
  snd_pcm_hw_params_t *hw;
  snd_pcm_hw_params_alloca(&hw);
  const char *dir = ab__dir(d);
  int r = snd_pcm_hw_params_any(p, hw);
  if (r < 0)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s offers no configuration (alsa: %s)", pcm, dir,
                       snd_strerror(r));
  if (snd_pcm_hw_params_set_access(p, hw, SND_PCM_ACCESS_RW_INTERLEAVED) < 0)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses interleaved read/write access (expected "
                       "RW_INTERLEAVED)", pcm, dir);
  if (snd_pcm_hw_params_set_format(p, hw, SND_PCM_FORMAT_S16_LE) < 0) {
    char f[160];
    ab__formats(hw, f, sizeof f);
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses format S16_LE (it offers %s)", pcm, dir, f);
  }
  if (snd_pcm_hw_params_set_channels(p, hw, 1) < 0) {
    unsigned lo = 0, hi = 0;
    snd_pcm_hw_params_get_channels_min(hw, &lo);
    snd_pcm_hw_params_get_channels_max(hw, &hi);
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses 1 channel (mono; it offers %u to %u)", pcm,
                       dir, lo, hi);
  }
  unsigned rate = AB_AUDIO_RATE;
  int rdir = 0;
  r = snd_pcm_hw_params_set_rate_near(p, hw, &rate, &rdir);
  if (r < 0 || rate != AB_AUDIO_RATE || rdir != 0)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses rate %d Hz (the nearest it offers: %s%u Hz)",
                       pcm, dir, AB_AUDIO_RATE, rdir ? "about " : "", rate);
  snd_pcm_uframes_t period = AB_AUDIO_FRAME;
  int pdir = 0;
  r = snd_pcm_hw_params_set_period_size_near(p, hw, &period, &pdir);
  if (r < 0 || period != AB_AUDIO_FRAME || pdir != 0)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses periods of %d frames (20 ms; the nearest it "
                       "offers: %lu frames)", pcm, dir, AB_AUDIO_FRAME, (unsigned long)period);
  snd_pcm_uframes_t want = (snd_pcm_uframes_t)periods * AB_AUDIO_FRAME, buffer = want;
  r = snd_pcm_hw_params_set_buffer_size_near(p, hw, &buffer);
  if (r < 0 || buffer != want)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses a buffer of %d periods (%lu frames; the "
                       "nearest it offers: %lu frames, %.2f periods)", pcm, dir, periods, (unsigned long)want,
                       (unsigned long)buffer, (double)buffer / AB_AUDIO_FRAME);
  r = snd_pcm_hw_params(p, hw);
  if (r < 0)
    return ab_dev_fail(err, r == -EBUSY ? -EBUSY : -EINVAL, "audio PCM '%s': %s refuses 16 kHz mono S16_LE "
                       "in %d periods of 320 frames (alsa: %s)", pcm, dir, periods, snd_strerror(r));
  return 0;
}

/* Capture waits for ab__alsa_start (threshold = boundary: never by itself); playback starts
 * with its first period. Both wake poll per period. */
static int ab__sw(snd_pcm_t *p, const char *pcm, snd_pcm_stream_t d, char *err)
{
  snd_pcm_sw_params_t *sw;
  snd_pcm_sw_params_alloca(&sw);
  snd_pcm_uframes_t boundary = 0;
  int r = snd_pcm_sw_params_current(p, sw);
  if (r >= 0)
    r = snd_pcm_sw_params_get_boundary(sw, &boundary);
  if (r >= 0)
    r = snd_pcm_sw_params_set_avail_min(p, sw, AB_AUDIO_FRAME);
  if (r >= 0)
    r = snd_pcm_sw_params_set_start_threshold(p, sw, d == SND_PCM_STREAM_CAPTURE ? boundary : AB_AUDIO_FRAME);
  if (r >= 0)
    r = snd_pcm_sw_params(p, sw);
  if (r < 0)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': %s refuses its software parameters (alsa: %s)", pcm,
                       ab__dir(d), snd_strerror(r));
  return 0;
}

/* alsa-lib's own messages ("ALSA lib pcm.c:2666: Unknown PCM ...") go to stderr from inside
 * the library; ours name the PCM and what was expected, so its are silenced. */
static void ab__alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
  (void)file, (void)line, (void)fn, (void)err, (void)fmt;
}

static int ab__setup(const char *pcm, snd_pcm_stream_t d, int periods, snd_pcm_t **out, char *err)
{
  snd_pcm_t *p = NULL;
  snd_lib_error_set_handler(ab__alsa_quiet);
  int r = snd_pcm_open(&p, pcm, d, SND_PCM_NONBLOCK);
  if (r < 0)
    return ab__open_fail(pcm, d, r, err);
  r = ab__hw(p, pcm, d, periods, err);
  if (r == 0) /* hw params left it prepared */
    r = ab__sw(p, pcm, d, err);
  if (r < 0) {
    snd_pcm_close(p);
    return r;
  }
  *out = p;
  return 0;
}

static int ab__setup_both(const char *pcm, int periods, snd_pcm_t **cap, snd_pcm_t **play, char *err)
{
  if (!pcm || !*pcm)
    return ab_dev_fail(err, -EINVAL, "audio PCM '': expected an ALSA PCM name such as default or hw:0,0");
  if (periods < 1 || periods > AB_AUDIO_MAX_PERIODS)
    return ab_dev_fail(err, -EINVAL, "audio PCM '%s': periods %d out of range (expected 1 to %d)", pcm, periods,
                       AB_AUDIO_MAX_PERIODS);
  int r = ab__setup(pcm, SND_PCM_STREAM_CAPTURE, periods, cap, err);
  if (r < 0)
    return r;
  r = ab__setup(pcm, SND_PCM_STREAM_PLAYBACK, periods, play, err);
  if (r < 0) {
    snd_pcm_close(*cap);
    *cap = NULL;
  }
  return r;
}

int ab__alsa_check(const char *pcm, int periods, char *err)
{
  snd_pcm_t *cap, *play;
  int r = ab__setup_both(pcm, periods, &cap, &play, err);
  if (r < 0)
    return r;
  snd_pcm_close(play);
  snd_pcm_close(cap);
  return 0;
}

int ab__alsa_open(ab__au_state_t *s, void **impl, char *err)
{
  ab__alsa_t *a = calloc(1, sizeof *a);
  if (!a)
    return ab_dev_fail(err, -ENOMEM, "audio PCM '%s': out of memory", s->pcm);
  a->s = s;
  a->periods = s->cfg.periods;
  int r = ab__setup_both(s->pcm, a->periods, &a->cap, &a->play, err);
  if (r < 0) {
    free(a);
    return r;
  }
  *impl = a;
  return 0;
}

void ab__alsa_close(void *impl)
{
  ab__alsa_t *a = impl;
  if (!a)
    return;
  snd_pcm_close(a->play); /* each drops what it holds first */
  snd_pcm_close(a->cap);
  free(a);
}

int ab__alsa_fd(void *impl)
{
  ab__alsa_t *a = impl;
  struct pollfd pf;
  return snd_pcm_poll_descriptors(a->cap, &pf, 1) == 1 ? pf.fd : -EBADF;
}

/* ---- the run ------------------------------------------------------------------------------ */

void ab__alsa_start(void *impl, int64_t t_start)
{
  ab__alsa_t *a = impl;
  if (a->started)
    return;
  int linked = snd_pcm_link(a->cap, a->play) == 0;
  int r = 0;
  if (linked && snd_pcm_writei(a->play, ab__silence, AB_AUDIO_FRAME) != AB_AUDIO_FRAME)
    r = -EIO; /* cannot happen on a prepared, empty playback: not worth a path of its own */
  /* Linked, the prefill reached playback's start threshold and so started both: capture is
   * running already (and a second start is -EBADFD). */
  if (r == 0 && snd_pcm_state(a->cap) == SND_PCM_STATE_PREPARED)
    r = snd_pcm_start(a->cap);
  if (linked)
    snd_pcm_unlink(a->cap);
  int64_t now = ab_now_ns();
  a->started = 1;
  a->fail = r < 0 ? r : 0;
  a->cap_full = now + (int64_t)a->periods * AB_AUDIO_PERIOD_NS;
  a->play_end = linked ? now + AB_AUDIO_PERIOD_NS : now;
}

/* Capture lost its buffer (or was suspended): the periods lost, estimated as everything the
 * buffer held (prepare discards it) plus the periods that passed since it filled up, at least
 * one. They advance the index, so that it still counts periods since the start. */
static int ab__cap_recover(ab__alsa_t *a, int xrun)
{
  int r = xrun ? -EPIPE : snd_pcm_resume(a->cap);
  if (r == -EAGAIN) /* still suspended: nothing lost yet that the next call will not see */
    return 0;
  int64_t lost = a->periods + ab__ceil_periods(ab_now_ns() - a->cap_full);
  a->have = 0;
  a->index += (uint64_t)lost;
  if (xrun) {
    ab__au_count(a->s, &a->s->st.overrun_events, 1);
    ab__au_count(a->s, &a->s->st.overruns, (uint64_t)lost);
    ab__au_max(&a->s->st.overrun_max, (uint64_t)lost);
  }
  if (r < 0) {
    r = snd_pcm_prepare(a->cap);
    if (r == 0)
      r = snd_pcm_start(a->cap);
  }
  a->cap_full = ab_now_ns() + (int64_t)a->periods * AB_AUDIO_PERIOD_NS;
  return r < 0 ? r : 0;
}

int ab__alsa_read(void *impl, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index)
{
  ab__alsa_t *a = impl;
  if (a->fail)
    return a->fail;
  snd_pcm_sframes_t n = snd_pcm_avail_update(a->cap);
  if (n >= AB_AUDIO_FRAME - a->have)
    n = snd_pcm_readi(a->cap, a->frame + a->have, (snd_pcm_uframes_t)(AB_AUDIO_FRAME - a->have));
  else if (n >= 0)
    n = -EAGAIN;
  if (n == -EAGAIN)
    return 0;
  if (n == -EPIPE || n == -ESTRPIPE)
    return ab__cap_recover(a, n == -EPIPE);
  if (n < 0)
    return (int)n;
  /* Fewer than asked with avail enough happens only when an xrun struck mid-read: the rest
   * is read next time, or lost with the buffer. */
  a->have += (int)n;
  if (a->have < AB_AUDIO_FRAME)
    return 0;
  snd_pcm_sframes_t delay = 0;
  if (snd_pcm_delay(a->cap, &delay) < 0 || delay < 0)
    delay = 0;
  int64_t now = ab_now_ns();
  memcpy(pcm, a->frame, sizeof a->frame);
  a->have = 0;
  *t_capture = now - (int64_t)delay * AB__NS_PER_FRAME;
  *index = a->index++;
  /* The frames still queued fill the buffer's rest; from then on the device loses. */
  a->cap_full = *t_capture + (int64_t)a->periods * AB_AUDIO_PERIOD_NS;
  ab__au_count(a->s, &a->s->st.captured, 1);
  return 1;
}

/* Playback ran dry (or was suspended): counted as underruns only while a reply was playing,
 * for the ticks since the last frame ended, at least one; then made ready to start again with
 * the next frame. */
static int ab__play_recover(ab__alsa_t *a, int xrun)
{
  if (xrun && a->reply) {
    int64_t ticks = ab__ceil_periods(ab_now_ns() - a->play_end);
    uint64_t n = (uint64_t)(ticks > 0 ? ticks : 1);
    ab__au_count(a->s, &a->s->st.underrun_events, 1);
    ab__au_count(a->s, &a->s->st.underruns, n);
    ab__au_max(&a->s->st.underrun_max, n);
  }
  int r = xrun ? -1 : snd_pcm_resume(a->play);
  if (r == -EAGAIN)
    return r;
  return r < 0 ? snd_pcm_prepare(a->play) : 0;
}

int ab__alsa_write(void *impl, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play)
{
  ab__alsa_t *a = impl;
  for (int attempt = 0;; attempt++) {
    snd_pcm_sframes_t n = snd_pcm_avail_update(a->play), delay = 0;
    int64_t now = ab_now_ns();
    if (n >= AB_AUDIO_FRAME) {
      if (snd_pcm_delay(a->play, &delay) < 0 || delay < 0)
        delay = 0;
      n = snd_pcm_writei(a->play, pcm, AB_AUDIO_FRAME);
    } else if (n >= 0)
      return 0; /* full */
    if (n == -EAGAIN)
      return 0;
    if (n == -EPIPE || n == -ESTRPIPE) {
      if (attempt) /* dry again at once: the next write recovers it, the run goes on */
        return 0;
      int r = ab__play_recover(a, n == -EPIPE);
      if (r == -EAGAIN)
        return 0;
      if (r < 0)
        return r;
      continue;
    }
    if (n < 0)
      return (int)n;
    /* A part written means an xrun struck mid-write: the frame was handed over, its tail is
     * lost with the xrun that the next write meets. */
    *t_play = now + (int64_t)delay * AB__NS_PER_FRAME;
    a->play_end = *t_play + AB_AUDIO_PERIOD_NS;
    a->reply = more != 0;
    ab__au_count(a->s, &a->s->st.played, 1);
    return 1;
  }
}

int ab__alsa_space(void *impl)
{
  ab__alsa_t *a = impl;
  snd_pcm_sframes_t n = snd_pcm_avail_update(a->play);
  if (n == -EPIPE || n == -ESTRPIPE)
    return a->periods; /* ran dry: the next write recovers it and finds it empty */
  if (n < 0)
    return (int)n;
  n /= AB_AUDIO_FRAME;
  return n > a->periods ? a->periods : (int)n;
}

int ab__alsa_drop(void *impl)
{
  ab__alsa_t *a = impl;
  snd_pcm_sframes_t avail = snd_pcm_avail_update(a->play);
  snd_pcm_sframes_t queued = avail < 0 ? 0 : (snd_pcm_sframes_t)a->periods * AB_AUDIO_FRAME - avail;
  /* A period partly played was still cut: it counts as flushed. */
  int n = queued <= 0 ? 0 : (int)((queued + AB_AUDIO_FRAME - 1) / AB_AUDIO_FRAME);
  int r = snd_pcm_drop(a->play);
  if (r == 0)
    r = snd_pcm_prepare(a->play);
  if (r < 0)
    return r;
  a->reply = 0;
  a->play_end = ab_now_ns();
  ab__au_count(a->s, &a->s->st.dropped, (uint64_t)n);
  return n;
}
