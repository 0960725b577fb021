/* The audio device (audio.h): ab_audio_ops, the mock clock, the voice synthesis both the mock
 * and the scenario's text-to-speech use, and the owner's calls through its context.
 *
 * prepare (supervisor): with --audio PCM, the PCM is opened both ways, configured and closed
 * again (hw/audio_alsa.c), so that a missing or unfit PCM is refused before any role starts;
 * else the mock's defaults. config (supervisor, from the scenario's set-up): the buffer, and
 * the mock's script. open/start/close: in the owner. The mock needs no helper process: its
 * clock is a timerfd in the owner, its state counts of ticks.
 *
 * The mock, tick by tick (tick j at t_start + j * 20 ms, j >= 1):
 *   capture   frame k is complete at tick k + 1; frames complete and not read number at
 *             most `periods`, the older ones are lost (overruns);
 *   playback  each tick takes the oldest written frame; none while the last one taken said
 *             more follows is an underrun.
 * Ticks are counted from the clock, lazily, before every read, write and space query: a write
 * that comes after its tick finds that tick already judged.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "audio_impl.h"
#include "internal.h"

#define AB__AU_TABLE 1024 /* one pitch period of the mock's voice */
#define AB__AU_SYLLABLE_HZ 4.0
#define AB__AU_RAMP_NS (30 * AB_NS_PER_MS)

typedef struct ab__au_mock {
  ab__au_state_t *s;
  int tfd;
  int64_t t_start;
  uint64_t taken;      /* capture frames read or lost */
  uint64_t drained;    /* playback ticks judged */
  int ring_n;          /* frames written and not yet taken by the clock */
  unsigned char more[AB_AUDIO_MAX_PERIODS]; /* their flags, oldest first from ring_head */
  unsigned char voiced[AB_AUDIO_MAX_PERIODS];
  int utt;             /* the script's utterance at or after the last tick judged */
  int ring_head;
  int playing;         /* the last frame taken said more follows */
  int in_underrun;     /* ticks in the current underrun */
} ab__au_mock_t;

typedef struct ab__au_handle {
  ab__au_state_t *s;
  ab__au_mock_t *mock; /* or ... */
  void *alsa;          /* ... the ALSA backend's */
} ab__au_handle_t;

/* ---- synthesis -------------------------------------------------------------------------- */

/* A vowel's spectrum (/a/: formants at 700, 1220 and 2600 Hz) over a -6 dB/octave source. */
static double ab__au_formants(double f)
{
  static const double F[3] = { 700, 1220, 2600 }, B[3] = { 130, 70, 160 }, G[3] = { 1.0, 0.5, 0.25 };
  double w = 0;
  for (int i = 0; i < 3; i++) {
    double x = (f - F[i]) / B[i];
    w += G[i] / (1 + x * x);
  }
  return (0.05 + w) * 300.0 / f;
}

static int16_t ab__au_clip(double v)
{
  v *= 32767.0;
  return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)lrint(v);
}

/* The harmonics of f0 below 0.45 of the rate, weighted by the vowel; their number. */
static int ab__au_harmonics(double f0, double w[64], double *norm)
{
  int nh = 0;
  *norm = 0;
  for (int h = 1; h < 64 && h * f0 < 0.45 * AB_AUDIO_RATE; h++, nh++)
    *norm += w[h - 1] = ab__au_formants(h * f0);
  if (*norm <= 0)
    *norm = 1;
  return nh;
}

static void ab__au_synth(int16_t *out, int n, double f0, double step, double amp, double *phase)
{
  double w[64], norm;
  int nh = ab__au_harmonics(f0, w, &norm);
  double p = *phase;
  for (int i = 0; i < n; i++, p += step) {
    double v = 0;
    for (int h = 0; h < nh; h++)
      v += w[h] * sin((h + 1) * p);
    out[i] = ab__au_clip(amp * v / norm);
  }
  *phase = fmod(p, 2 * M_PI);
}

void ab_audio_voice(int16_t *out, int n, double f0, double amp, double *phase)
{
  ab__au_synth(out, n, f0, 2 * M_PI * f0 / AB_AUDIO_RATE, amp, phase);
}

/* Deterministic noise: a hash of the sample's number, roughly Gaussian (sum of four). */
static double ab__au_noise(uint64_t i)
{
  double s = 0;
  for (int k = 0; k < 4; k++) {
    uint64_t x = (i * 4 + (uint64_t)k + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 27, x *= 0x94D049BB133111EBull, x ^= x >> 31;
    s += (double)(x >> 11) / 9007199254740992.0 - 0.5;
  }
  return s * 1.7320508; /* four uniforms of variance 1/12: unit variance */
}

/* The voice's envelope at time t within utterance u: syllables at 4 Hz between 0.25 and 1 of
 * the level, with 30 ms ramps at the edges. 0 outside. */
static double ab__au_envelope(const ab_audio_utt_t *u, int64_t t)
{
  if (t < u->start || t >= u->end)
    return 0;
  double syl = 0.625 - 0.375 * cos(2 * M_PI * AB__AU_SYLLABLE_HZ * (double)(t - u->start) / 1e9);
  int64_t edge = t - u->start < u->end - t ? t - u->start : u->end - t;
  return edge < AB__AU_RAMP_NS ? syl * (double)edge / AB__AU_RAMP_NS : syl;
}

void ab_audio_mock_frame(const ab_audio_cfg_t *cfg, uint64_t index, int16_t out[AB_AUDIO_FRAME])
{
  const ab_audio_script_t *sc = &cfg->script;
  int64_t t0 = (int64_t)index * AB_AUDIO_PERIOD_NS, t1 = t0 + AB_AUDIO_PERIOD_NS;
  const ab_audio_utt_t *u = NULL;
  for (int i = 0; i < sc->n && !u; i++)
    if (sc->utt[i].start < t1 && sc->utt[i].end > t0)
      u = &sc->utt[i];
  /* One pitch period, synthesised once per pitch and kept (the owner's thread): the mock's
   * capture costs the role a table look-up a sample, as a real device's costs it nothing. */
  static __thread int16_t tab[AB__AU_TABLE];
  static __thread double tab_f0;
  if (u && u->f0 != tab_f0) {
    double ph = 0;
    ab__au_synth(tab, AB__AU_TABLE, u->f0, 2 * M_PI / AB__AU_TABLE, 1.0, &ph);
    tab_f0 = u->f0;
  }
  for (int i = 0; i < AB_AUDIO_FRAME; i++) {
    uint64_t n = index * AB_AUDIO_FRAME + (uint64_t)i;
    int64_t t = t0 + (int64_t)i * (AB_NS_PER_S / AB_AUDIO_RATE);
    double v = cfg->noise_level * ab__au_noise(n);
    if (u) { /* the phase from the utterance's start: a frame depends on its index alone */
      double cyc = u->f0 * (double)(t - u->start) / 1e9;
      v += cfg->speech_level * ab__au_envelope(u, t) * tab[(int)((cyc - floor(cyc)) * AB__AU_TABLE) % AB__AU_TABLE] / 32767.0;
    }
    out[i] = ab__au_clip(v);
  }
}

/* ---- the mock clock --------------------------------------------------------------------- */

/* Ticks passed, up to the window's end: what the clock does after the run is no part of it
 * (a stage slow to stop would otherwise be charged underruns for the shutdown). */
static uint64_t ab__au_ticks(const ab__au_mock_t *m)
{
  int64_t now = ab_now_ns(), w = m->s->cfg.window_ns;
  if (w > 0 && now > m->t_start + w)
    now = m->t_start + w;
  return now <= m->t_start || !m->t_start ? 0 : (uint64_t)((now - m->t_start) / AB_AUDIO_PERIOD_NS);
}

/* Had the script's user been speaking for more than barge_ns at t (from the clock's start)?
 * Ticks come in order, so the utterance index only moves on. */
static int ab__au_user_speaking(ab__au_mock_t *m, int64_t t)
{
  const ab_audio_script_t *sc = &m->s->cfg.script;
  while (m->utt < sc->n && sc->utt[m->utt].end <= t)
    m->utt++;
  return m->utt < sc->n && t >= sc->utt[m->utt].start + m->s->cfg.barge_ns;
}

/* Judge every playback tick passed since the last call. */
static void ab__au_advance(ab__au_mock_t *m)
{
  uint64_t ticks = ab__au_ticks(m);
  ab__au_state_t *s = m->s;
  for (; m->drained < ticks; m->drained++) {
    if (m->ring_n) {
      m->playing = m->more[m->ring_head];
      if (m->voiced[m->ring_head] && ab__au_user_speaking(m, (int64_t)(m->drained + 1) * AB_AUDIO_PERIOD_NS))
        ab__au_count(s, &s->st.talked_over, 1);
      m->ring_head = (m->ring_head + 1) % AB_AUDIO_MAX_PERIODS;
      m->ring_n--;
      m->in_underrun = 0;
      ab__au_count(s, &s->st.played, 1);
    } else if (m->playing) {
      ab__au_count(s, &s->st.underruns, 1);
      if (!m->in_underrun)
        ab__au_count(s, &s->st.underrun_events, 1);
      ab__au_max(&s->st.underrun_max, (uint64_t)++m->in_underrun);
    }
  }
}

/* Capture frames complete and not read beyond the buffer's `periods` are lost: overruns. */
static void ab__au_capture_lost(ab__au_mock_t *m)
{
  ab__au_state_t *s = m->s;
  uint64_t avail = m->drained - m->taken;
  if ((int64_t)avail > s->cfg.periods) {
    uint64_t lost = avail - (uint64_t)s->cfg.periods;
    ab__au_count(s, &s->st.overruns, lost);
    ab__au_count(s, &s->st.overrun_events, 1);
    ab__au_max(&s->st.overrun_max, lost);
    m->taken += lost;
  }
}

static int ab__au_mock_read(ab__au_mock_t *m, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index)
{
  uint64_t x;
  if (m->tfd >= 0) /* cleared first: a tick after this makes it readable again */
    while (read(m->tfd, &x, sizeof x) == (ssize_t)sizeof x)
      ;
  ab__au_advance(m);
  ab__au_state_t *s = m->s;
  uint64_t ticks = m->drained;
  ab__au_capture_lost(m);
  if (m->taken >= ticks)
    return 0;
  ab_audio_mock_frame(&s->cfg, m->taken, pcm);
  *index = m->taken;
  *t_capture = m->t_start + (int64_t)(m->taken + 1) * AB_AUDIO_PERIOD_NS;
  m->taken++;
  ab__au_count(s, &s->st.captured, 1);
  return 1;
}

static int ab__au_mock_write(ab__au_mock_t *m, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play)
{
  ab__au_advance(m);
  if (m->ring_n >= m->s->cfg.periods)
    return 0;
  int slot = (m->ring_head + m->ring_n) % AB_AUDIO_MAX_PERIODS, voiced = 0;
  for (int i = 0; i < AB_AUDIO_FRAME && !voiced; i++)
    voiced = pcm[i] > 64 || pcm[i] < -64;
  m->more[slot] = more != 0;
  m->voiced[slot] = (unsigned char)voiced;
  m->ring_n++;
  *t_play = m->t_start + (int64_t)(m->drained + (uint64_t)m->ring_n) * AB_AUDIO_PERIOD_NS;
  return 1;
}

/* ---- the device --------------------------------------------------------------------------- */

static int ab__au_prepare(void *state, const ab_dev_opts_t *o, char *err)
{
  ab__au_state_t *s = state;
  s->cfg.periods = 3;
  s->cfg.speech_level = 0.3;
  s->cfg.noise_level = 0.002;
  s->cfg.barge_ns = 200 * AB_NS_PER_MS;
  if (o->audio) {
    if (!o->audio[0] || strlen(o->audio) >= sizeof s->pcm)
      return ab_dev_fail(err, -EINVAL, "--audio '%s': expected an ALSA PCM name (e.g. default, hw:0,0) under %zu bytes",
                         o->audio, sizeof s->pcm);
    /* Refused by name, before anything opens them: ALSA's file and tee write the playback
     * stream to a path of the name's (opening one truncates that file, whoever owns it), and
     * null has no clock (capture is always ready), so nothing would be timed. Anywhere in the
     * name, as a slave too ("plug:'file:/x'"). A PCM of the user's own configuration is
     * theirs to define. */
    static const char *const refused[] = { "file", "tee", "null" };
    for (const char *t = o->audio; *t;) {
      size_t n = strcspn(t, ":,='\" {}");
      for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (n == strlen(refused[i]) && !strncasecmp(t, refused[i], n))
          return ab_dev_fail(err, -EINVAL,
                             "--audio %s: ALSA's %s PCM %s; expected a sound card's PCM (e.g. default, hw:0,0, plughw:0,0)",
                             o->audio, refused[i],
                             i < 2 ? "writes the stream to a file named in its arguments"
                                   : "has no clock, so nothing would be timed");
      t += n + (t[n] != 0);
    }
    int rc = ab__alsa_check(o->audio, s->cfg.periods, err);
    if (rc < 0)
      return rc;
    snprintf(s->pcm, sizeof s->pcm, "%s", o->audio);
  }
  s->prepared = 1;
  return 0;
}

static void ab__au_release(void *state) { ((ab__au_state_t *)state)->prepared = 0; }

static const char *ab__au_backend(const void *state)
{
  const ab__au_state_t *s = state;
  return s->pcm[0] ? s->pcm : "mock-clock";
}

static int ab__au_open(void *state, void **handle, char *err)
{
  ab__au_state_t *s = state;
  if (!s->prepared)
    return ab_dev_fail(err, -EINVAL, "audio: open before a successful prepare");
  ab__au_handle_t *h = calloc(1, sizeof *h);
  if (!h)
    return ab_dev_fail(err, -ENOMEM, "audio: no memory");
  h->s = s;
  int rc = 0;
  if (s->pcm[0]) {
    rc = ab__alsa_open(s, &h->alsa, err);
  } else if (!(h->mock = calloc(1, sizeof *h->mock))) {
    rc = ab_dev_fail(err, -ENOMEM, "audio: no memory");
  } else {
    h->mock->s = s;
    h->mock->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (h->mock->tfd < 0)
      rc = ab_dev_fail(err, -errno, "audio mock: timerfd: %s", strerror(errno));
  }
  if (rc < 0) {
    if (h->mock && h->mock->tfd >= 0)
      close(h->mock->tfd);
    free(h->mock), free(h);
    return rc;
  }
  *handle = h;
  return 0;
}

static int ab__au_fd(void *handle)
{
  ab__au_handle_t *h = handle;
  return h->mock ? h->mock->tfd : ab__alsa_fd(h->alsa);
}

static void ab__au_start(void *handle, int64_t t_start)
{
  ab__au_handle_t *h = handle;
  if (!h->mock) {
    ab__alsa_start(h->alsa, t_start);
    return;
  }
  h->mock->t_start = t_start;
  struct itimerspec its = { .it_interval = ab_ts(AB_AUDIO_PERIOD_NS), .it_value = ab_ts(t_start + AB_AUDIO_PERIOD_NS) };
  timerfd_settime(h->mock->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void ab__au_close(void *handle)
{
  ab__au_handle_t *h = handle;
  if (h->mock) {
    ab__au_advance(h->mock); /* the ticks up to now (or the window's end) are judged, both ways */
    ab__au_capture_lost(h->mock);
    close(h->mock->tfd);
    free(h->mock);
  } else {
    ab__alsa_close(h->alsa);
  }
  free(h);
}

int ab_audio_read_h(void *h, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index)
{
  ab__au_handle_t *a = h;
  return a->mock ? ab__au_mock_read(a->mock, pcm, t_capture, index) : ab__alsa_read(a->alsa, pcm, t_capture, index);
}

int ab_audio_write_h(void *h, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play)
{
  ab__au_handle_t *a = h;
  return a->mock ? ab__au_mock_write(a->mock, pcm, more, t_play) : ab__alsa_write(a->alsa, pcm, more, t_play);
}

int ab_audio_space_h(void *h)
{
  ab__au_handle_t *a = h;
  if (!a->mock)
    return ab__alsa_space(a->alsa);
  ab__au_advance(a->mock);
  return a->s->cfg.periods - a->mock->ring_n;
}

int ab_audio_drop_h(void *h)
{
  ab__au_handle_t *a = h;
  if (!a->mock)
    return ab__alsa_drop(a->alsa);
  ab__au_mock_t *m = a->mock;
  ab__au_advance(m);
  int n = m->ring_n;
  ab__au_count(a->s, &a->s->st.dropped, (uint64_t)n);
  m->ring_n = 0, m->playing = 0, m->in_underrun = 0;
  return n;
}

int ab_audio_config(void *state, const ab_audio_cfg_t *cfg)
{
  ab__au_state_t *s = state;
  if (cfg->periods < 1 || cfg->periods > AB_AUDIO_MAX_PERIODS || !(cfg->speech_level >= 0 && cfg->speech_level <= 1) ||
      !(cfg->noise_level >= 0 && cfg->noise_level <= 1) || cfg->barge_ns < 0 || cfg->window_ns < 0 || cfg->script.n < 0 || cfg->script.n > AB_AUDIO_MAX_UTT)
    return -EINVAL;
  for (int i = 0; i < cfg->script.n; i++)
    if (cfg->script.utt[i].start < 0 || cfg->script.utt[i].end <= cfg->script.utt[i].start ||
        !(cfg->script.utt[i].f0 >= 50 && cfg->script.utt[i].f0 <= 500) ||
        (i && cfg->script.utt[i].start < cfg->script.utt[i - 1].end))
      return -EINVAL;
  if (s->pcm[0] && cfg->periods != s->cfg.periods) {
    char err[AB_ERRLEN];
    int rc = ab__alsa_check(s->pcm, cfg->periods, err);
    if (rc < 0)
      return rc;
  }
  s->cfg = *cfg;
  return 0;
}

int ab_audio_stats(const void *state, ab_audio_stats_t *o)
{
  const ab__au_state_t *s = state;
#define LD(f) __atomic_load_n(&s->st.f, __ATOMIC_ACQUIRE)
  *o = (ab_audio_stats_t){ LD(captured), LD(overruns), LD(overrun_events), LD(played), LD(underruns),
                           LD(underrun_events), LD(dropped), LD(overrun_max), LD(underrun_max), LD(talked_over) };
#undef LD
  return 0;
}

int ab_audio_is_mock(const void *state) { return !((const ab__au_state_t *)state)->pcm[0]; }

/* ---- the owner's calls, through its context --------------------------------------------- */

#define AB__AU_CALL(expr)                   \
  if (ab_dev_kind(ctx) != AB_DEV_AUDIO)     \
    return -ENODEV;                         \
  ab_block_begin(ctx);                      \
  int r = (expr);                           \
  ab_block_end(ctx);                        \
  return r

int ab_audio_read(ab_ctx_t *ctx, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index)
{
  AB__AU_CALL(ab_audio_read_h(ab_dev(ctx), pcm, t_capture, index));
}

int ab_audio_write(ab_ctx_t *ctx, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play)
{
  AB__AU_CALL(ab_audio_write_h(ab_dev(ctx), pcm, more, t_play));
}

int ab_audio_space(ab_ctx_t *ctx) { AB__AU_CALL(ab_audio_space_h(ab_dev(ctx))); }
int ab_audio_drop(ab_ctx_t *ctx) { AB__AU_CALL(ab_audio_drop_h(ab_dev(ctx))); }

const ab_devops_t ab_audio_ops = {
  .kind = "audio",
  .option = "--audio",
  .path_off = offsetof(ab_dev_opts_t, audio),
  .state_size = sizeof(ab__au_state_t),
  .prepare = ab__au_prepare,
  .release = ab__au_release,
  .backend = ab__au_backend,
  .open = ab__au_open,
  .fd = ab__au_fd,
  .start = ab__au_start,
  .close = ab__au_close,
};
