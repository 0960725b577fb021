/* Tests of the audio device's ALSA backend (hw/audio_alsa.c). This machine has no sound card
 * and cannot load a driver, so each test points alsa-lib at a configuration of its own
 * (alsa_up) and runs the backend on alsa-lib's plugins, whose behaviour in 1.2.8 was found by
 * experiment:
 *   null   capture hands out silence at once, as fast as it is read: no clock, avail is 0
 *          before the start and the whole buffer after, snd_pcm_delay always 0, its poll fd is
 *          /dev/full (always readable, even before the start); playback swallows every frame at
 *          once (fd /dev/null, always writable); it never has an xrun and cannot be linked.
 *   file   over null: capture reads a file (infile), playback writes one: the samples pass.
 *   mulaw  over an S16_LE slave offers MU_LAW only; share pins its slave's rate, channels,
 *          period and buffer without converting: the refusals.
 *   share  over null on playback: the slave drains at once, so a started playback has run dry
 *          by the next write: a real -EPIPE, the underrun path.
 *   share  also gives a slave channel to one client: a channel held is -EBUSY.
 * Not exercised here, and why: a capture overrun, its count and its recovery (null never
 * overruns, and share's capture asserts in snd_pcm_areas_copy at its start in 1.2.8); dropping
 * frames still queued (no plugin here keeps any queued); the link at the start (no plugin but
 * hw can link: -ENOSYS); -ESTRPIPE (a suspend needs a driver); -EACCES (a device node); delays
 * in t_capture and t_play (null's delay is always 0).
 * Under valgrind the underrun test fails on alsa-lib's own error: share's open of a playback
 * writes an uninitialised byte to its socket (a suppression of snd_pcm_share_open's write
 * leaves none).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <alsa/asoundlib.h>

#include "audio_impl.h"
#include "test.h"

/* ---- an ALSA configuration of our own --------------------------------------------------- */

/* A temporary file under /tmp holding `n` bytes, unlinked at once so that no path (a failed
 * assertion, a timeout's SIGKILL) leaves it behind; reached as /proc/self/fd/N while it lives. */
static int tmp_file(const void *data, size_t n, char path[64])
{
  char name[] = "/tmp/ab_alsa_XXXXXX";
  int fd = mkstemp(name);
  ASSERT(fd >= 0);
  unlink(name);
  ASSERT_EQ(write(fd, data, n), (ssize_t)n);
  snprintf(path, 64, "/proc/self/fd/%d", fd);
  return fd;
}

/* alsa-lib 1.2.8's share plugin frees its slave when the slave's last client closes, then
 * unlinks that client from a list inside the freed slave (snd_pcm_share_close): a write into
 * freed memory that corrupts the heap. So every share PCM here has a keeper, a client of the
 * same slave on a channel of its own, opened first and never closed, and ours is never last. */
#define KEEPERS 8
static snd_pcm_t *keepers[KEEPERS]; /* held to the process's end, reachable */

typedef struct share_def {
  const char *user;                       /* the PCM a test opens */
  const char *name, *slave, *bind, *keep; /* the keeper binds `keep` */
  snd_pcm_stream_t dir;                   /* the keeper's, the slave's direction */
} share_def_t;

#define S16K "rate 16000 format S16_LE"
static const share_def_t shares[] = {
  { "ab_stereo", "ab_stereo", S16K " channels 3", "0 1", "2", SND_PCM_STREAM_CAPTURE },
  { "ab_48k", "ab_48k", "rate 48000 format S16_LE channels 2", "0", "1", SND_PCM_STREAM_CAPTURE },
  { "ab_16ms", "ab_16ms", S16K " channels 2 period_time 16000", "0", "1", SND_PCM_STREAM_CAPTURE },
  { "ab_40ms", "ab_40ms_c", S16K " channels 2 period_time 20000 buffer_time 40000", "0", "1",
    SND_PCM_STREAM_CAPTURE },
  { "ab_busy", "ab_busy", S16K " channels 2", "0", "0", SND_PCM_STREAM_CAPTURE }, /* held */
  { "ab_dry", "ab_share", S16K " channels 2", "0", "1", SND_PCM_STREAM_PLAYBACK },
};
#define NSHARES (int)(sizeof shares / sizeof shares[0])

typedef struct alsa_env {
  int conf_fd, in_fd, out_fd;
  char in[64], out[64];
  char *old; /* ALSA_CONFIG_PATH before, or NULL */
} alsa_env_t;

#define RAMP (3 * AB_AUDIO_FRAME)

/* Our PCMs, alone: the machine's alsa.conf (and any ~/.asoundrc) is not read. `uses`: the
 * share-based PCM the test opens, whose keepers open here (NULL: none; each keeper costs a
 * thread, and an uninitialised byte that share's open writes, which valgrind reports). */
static void alsa_up(alsa_env_t *e, const char *uses)
{
  int16_t ramp[RAMP];
  for (int i = 0; i < RAMP; i++)
    ramp[i] = (int16_t)(i * 7 - 1000);
  e->in_fd = tmp_file(ramp, sizeof ramp, e->in);
  e->out_fd = tmp_file("", 0, e->out);
  char conf[8192], path[64];
  int n = snprintf(conf, sizeof conf,
                   "pcm.ab_null { type null }\n"
                   "pcm.ab_file_in { type file slave.pcm ab_null file \"/dev/null\" infile \"%s\" format raw }\n"
                   "pcm.ab_file_out { type file slave.pcm ab_null file \"%s\" format raw }\n"
                   "pcm.ab_file { type asym capture.pcm ab_file_in playback.pcm ab_file_out }\n"
                   "pcm.ab_mulaw { type mulaw slave { pcm ab_null format S16_LE } }\n"
                   "pcm.ab_40ms { type asym capture.pcm ab_40ms_c playback.pcm ab_null }\n"
                   "pcm.ab_dry { type asym capture.pcm ab_null playback.pcm ab_share }\n",
                   e->in, e->out);
  for (int i = 0; i < NSHARES; i++) {
    const share_def_t *d = &shares[i];
    n += snprintf(conf + n, sizeof conf - (size_t)n,
                  "pcm.%s_slave { type null }\n"
                  "pcm.%s { type share slave { pcm %s_slave %s } bindings [ %s ] }\n"
                  "pcm.%s_keep { type share slave { pcm %s_slave %s } bindings [ %s ] }\n",
                  d->name, d->name, d->name, d->slave, d->bind, d->name, d->name, d->slave, d->keep);
  }
  ASSERT_INT(n, <, (int)sizeof conf);
  e->conf_fd = tmp_file(conf, (size_t)n, path);
  const char *old = getenv("ALSA_CONFIG_PATH");
  e->old = old ? strdup(old) : NULL;
  ASSERT_EQ(setenv("ALSA_CONFIG_PATH", path, 1), 0);
  /* alsa-lib keeps the configuration it read first for the whole process: drop it so that
   * the next open reads ours. */
  snd_config_update_free_global();
  for (int i = 0; i < NSHARES && i < KEEPERS; i++) {
    if (!uses || strcmp(uses, shares[i].user))
      continue;
    char name[64];
    snprintf(name, sizeof name, "%s_keep", shares[i].name);
    int r = snd_pcm_open(&keepers[i], name, shares[i].dir, SND_PCM_NONBLOCK);
    if (r < 0)
      AB_FAIL("keeper %s: %s", name, snd_strerror(r));
  }
}

static void alsa_down(alsa_env_t *e)
{
  if (e->old)
    setenv("ALSA_CONFIG_PATH", e->old, 1);
  else
    unsetenv("ALSA_CONFIG_PATH");
  free(e->old);
  snd_config_update_free_global();
  close(e->conf_fd);
  close(e->in_fd);
  close(e->out_fd);
}

static ab__au_state_t *state(const char *pcm, int periods)
{
  ab__au_state_t *s = calloc(1, sizeof *s);
  ASSERT(s != NULL);
  s->cfg.periods = periods;
  snprintf(s->pcm, sizeof s->pcm, "%s", pcm);
  return s;
}

static void *open_ok(ab__au_state_t *s)
{
  char err[AB_ERRLEN] = "";
  void *a = NULL;
  int r = ab__alsa_open(s, &a, err);
  if (r < 0)
    AB_FAIL("open '%s': %d: %s", s->pcm, r, err);
  return a;
}

/* ---- what is refused, and how it is named ----------------------------------------------- */

TEST(alsa_no_such_pcm_is_enoent_naming_it)
{
  alsa_env_t e;
  alsa_up(&e, NULL);
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(ab__alsa_check("archbench_no_such_pcm", 4, err), -ENOENT);
  ASSERT_CONTAINS(err, "audio PCM 'archbench_no_such_pcm': no such PCM (alsa: ");
  ASSERT_CONTAINS(err, "expected an ALSA PCM name such as default or hw:0,0");
  ab__au_state_t *s = state("archbench_no_such_pcm", 4);
  void *a = NULL;
  err[0] = 0;
  ASSERT_EQ(ab__alsa_open(s, &a, err), -ENOENT);
  ASSERT(a == NULL);
  ASSERT_CONTAINS(err, "'archbench_no_such_pcm': no such PCM");
  free(s);
  alsa_down(&e);
}

/* A PCM that exists but is held: share gives a slave channel to one client, and ab_busy's
 * keeper holds the channel ab_busy asks for. */
TEST(alsa_busy_pcm_is_ebusy)
{
  alsa_env_t e;
  alsa_up(&e, "ab_busy");
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(ab__alsa_check("ab_busy", 4, err), -EBUSY);
  ASSERT_CONTAINS(err, "audio PCM 'ab_busy': capture is busy (alsa: ");
  ab__au_state_t *s = state("ab_busy", 4);
  void *a = NULL;
  ASSERT_EQ(ab__alsa_open(s, &a, err), -EBUSY);
  ASSERT(a == NULL);
  ASSERT_CONTAINS(err, "capture is busy");
  free(s);
  alsa_down(&e);
}

/* Each PCM can do all but one thing we need; the message names that thing and what the PCM
 * offers instead, and open refuses it as check does. */
#define REFUSALS(X)                                                                              \
  X(format, "ab_mulaw", "capture refuses format S16_LE (it offers MU_LAW)")                     \
  X(channels, "ab_stereo", "capture refuses 1 channel (mono; it offers 2 to 2)")                \
  X(rate, "ab_48k", "capture refuses rate 16000 Hz (the nearest it offers: 48000 Hz)")          \
  X(period, "ab_16ms", "capture refuses periods of 320 frames (20 ms; the nearest it offers: 256 frames)") \
  X(buffer, "ab_40ms", "capture refuses a buffer of 4 periods (1280 frames; the nearest it offers: 640")

#define REFUSAL_TEST(what, pcm, msg)                                                               \
  TEST(alsa_refuses_a_pcm_that_cannot_do_##what)                                                   \
  {                                                                                                \
    alsa_env_t e;                                                                                  \
    alsa_up(&e, pcm);                                                                              \
    char err[AB_ERRLEN] = "";                                                                      \
    ASSERT_EQ(ab__alsa_check(pcm, 4, err), -EINVAL);                                               \
    ASSERT_CONTAINS(err, "audio PCM '" pcm "': ");                                                 \
    ASSERT_CONTAINS(err, msg);                                                                     \
    ab__au_state_t *s = state(pcm, 4);                                                             \
    void *a = NULL;                                                                                \
    err[0] = 0;                                                                                    \
    ASSERT_EQ(ab__alsa_open(s, &a, err), -EINVAL);                                                 \
    ASSERT(a == NULL);                                                                             \
    ASSERT_CONTAINS(err, msg);                                                                     \
    free(s);                                                                                       \
    alsa_down(&e);                                                                                 \
  }
REFUSALS(REFUSAL_TEST)

TEST(alsa_check_accepts_a_good_pcm_and_refuses_bad_ones)
{
  alsa_env_t e;
  alsa_up(&e, "ab_40ms");
  char err[AB_ERRLEN] = "";
  for (int p = 1; p <= AB_AUDIO_MAX_PERIODS; p *= 2)
    if (ab__alsa_check("ab_null", p, err))
      AB_FAIL("check ab_null with %d periods: %s", p, err);
  /* The PCM that refused 4 periods takes 2: the refusal was the buffer's, nothing else. */
  if (ab__alsa_check("ab_40ms", 2, err))
    AB_FAIL("check ab_40ms with 2 periods: %s", err);
  ASSERT_EQ(ab__alsa_check("ab_40ms", 4, err), -EINVAL);
  ASSERT_EQ(ab__alsa_check("ab_mulaw", 4, err), -EINVAL);
  ASSERT_EQ(ab__alsa_check("archbench_no_such_pcm", 4, err), -ENOENT);
  ASSERT_EQ(ab__alsa_check("ab_null", 0, err), -EINVAL);
  ASSERT_CONTAINS(err, "periods 0 out of range (expected 1 to 32)");
  ASSERT_EQ(ab__alsa_check("ab_null", AB_AUDIO_MAX_PERIODS + 1, err), -EINVAL);
  ASSERT_EQ(ab__alsa_check("", 4, err), -EINVAL);
  ASSERT_CONTAINS(err, "expected an ALSA PCM name");
  alsa_down(&e);
}

/* ---- a run ------------------------------------------------------------------------------ */

TEST(alsa_null_pcm_reads_silence_writes_and_counts)
{
  alsa_env_t e;
  alsa_up(&e, NULL);
  ab__au_state_t *s = state("ab_null", 4);
  void *a = open_ok(s);
  int fd = ab__alsa_fd(a);
  ASSERT(fd >= 0);
  int16_t pcm[AB_AUDIO_FRAME];
  int64_t t;
  uint64_t index;
  ASSERT_EQ(ab__alsa_read(a, pcm, &t, &index), 0); /* not started: nothing yet */
  ab__alsa_start(a, ab_now_ns());
  struct pollfd pf = { .fd = fd, .events = POLLIN };
  ASSERT_EQ(poll(&pf, 1, 1000), 1); /* null's capture is always ready */

  for (uint64_t k = 0; k < 5; k++) {
    for (int i = 0; i < AB_AUDIO_FRAME; i++)
      pcm[i] = 0x5555;
    int64_t t0 = ab_now_ns();
    index = 99;
    ASSERT_EQ(ab__alsa_read(a, pcm, &t, &index), 1);
    ASSERT_EQ(index, k);
    ASSERT_INT(t, >=, t0); /* null has no delay: the frame is "captured" as it is read */
    ASSERT_INT(t, <=, ab_now_ns());
    for (int i = 0; i < AB_AUDIO_FRAME; i++)
      if (pcm[i])
        AB_FAIL("frame %" PRIu64 " sample %d: %d, expected silence", k, i, pcm[i]);
  }
  ASSERT_EQ(ab__alsa_space(a), 4);
  for (int k = 0; k < 3; k++) {
    int64_t t0 = ab_now_ns();
    ASSERT_EQ(ab__alsa_write(a, pcm, 1, &t), 1);
    ASSERT_INT(t, >=, t0);
    ASSERT_INT(t, <=, ab_now_ns()); /* nothing queued ahead: it plays now */
  }
  ASSERT_EQ(ab__alsa_space(a), 4); /* null swallows at once */
  ASSERT_EQ(ab__alsa_drop(a), 0);  /* ... so nothing is left to flush */
  ASSERT_EQ(ab__alsa_write(a, pcm, 0, &t), 1); /* playback goes on after a drop */

  ASSERT_EQ(s->st.captured, 5);
  ASSERT_EQ(s->st.played, 4);
  ASSERT_EQ(s->st.dropped, 0);
  ASSERT_EQ(s->st.overruns + s->st.overrun_events + s->st.underruns + s->st.underrun_events, 0);
  ASSERT_EQ(s->st.overrun_max + s->st.underrun_max, 0);
  ab__alsa_close(a);
  free(s);
  alsa_down(&e);
}

TEST(alsa_samples_pass_both_ways_through_the_file_plugin)
{
  alsa_env_t e;
  alsa_up(&e, NULL);
  ab__au_state_t *s = state("ab_file", 2);
  void *a = open_ok(s);
  ab__alsa_start(a, ab_now_ns());
  int16_t pcm[AB_AUDIO_FRAME];
  for (int k = 0; k < RAMP / AB_AUDIO_FRAME; k++) {
    int64_t t;
    uint64_t index;
    ASSERT_EQ(ab__alsa_read(a, pcm, &t, &index), 1);
    ASSERT_EQ(index, k);
    for (int i = 0; i < AB_AUDIO_FRAME; i++)
      ASSERT_EQ(pcm[i], (k * AB_AUDIO_FRAME + i) * 7 - 1000);
  }
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < AB_AUDIO_FRAME; i++)
      pcm[i] = (int16_t)(k * 1000 + i);
    int64_t t;
    ASSERT_EQ(ab__alsa_write(a, pcm, 1, &t), 1);
  }
  ab__alsa_close(a); /* the file plugin writes what it holds when closed */
  int16_t out[2 * AB_AUDIO_FRAME + 1];
  ASSERT_EQ(pread(e.out_fd, out, sizeof out, 0), 2 * AB_AUDIO_FRAME * 2);
  for (int i = 0; i < 2 * AB_AUDIO_FRAME; i++)
    ASSERT_EQ(out[i], (i / AB_AUDIO_FRAME) * 1000 + i % AB_AUDIO_FRAME);
  ASSERT_EQ(s->st.captured, 3);
  ASSERT_EQ(s->st.played, 2);
  free(s);
  alsa_down(&e);
}

/* share over null: a started playback has run dry by the next write, a real -EPIPE. It is an
 * underrun while a reply was playing (the frame before said more follows), never while idle;
 * either way it is recovered and the frame written. */
TEST(alsa_playback_xrun_is_recovered_and_counted_only_within_a_reply)
{
  alsa_env_t e;
  alsa_up(&e, "ab_dry");
  ab__au_state_t *s = state("ab_dry", 4);
  void *a = open_ok(s);
  ab__alsa_start(a, ab_now_ns());
  int16_t pcm[AB_AUDIO_FRAME] = { 0 };
  int64_t t;
  ASSERT_EQ(ab__alsa_write(a, pcm, 1, &t), 1); /* starts it; it runs dry at once */
  ASSERT_EQ(s->st.underrun_events, 0);
  ASSERT_EQ(ab__alsa_space(a), 4);              /* dry: the whole buffer is free */
  ASSERT_EQ(ab__alsa_write(a, pcm, 0, &t), 1);  /* the reply's frame ran dry: counted */
  ASSERT_EQ(s->st.underrun_events, 1);
  ASSERT_INT(s->st.underruns, >=, 1);
  ASSERT_EQ(s->st.underrun_max, s->st.underruns);
  uint64_t ticks = s->st.underruns;
  ASSERT_EQ(ab__alsa_write(a, pcm, 0, &t), 1);  /* idle silence ran dry: not counted */
  ASSERT_EQ(ab__alsa_write(a, pcm, 1, &t), 1);
  ASSERT_EQ(s->st.underrun_events, 1);
  ASSERT_EQ(s->st.underruns, ticks);
  ASSERT_EQ(ab__alsa_write(a, pcm, 1, &t), 1);
  ASSERT_EQ(s->st.underrun_events, 2);
  ASSERT_INT(s->st.underrun_max, >=, 1);
  ASSERT_INT(s->st.underrun_max, <, s->st.underruns); /* the longest of two, not their sum */
  ASSERT_EQ(s->st.played, 5);
  ASSERT_EQ(s->st.overrun_events + s->st.overrun_max, 0);
  ab__alsa_close(a);
  free(s);
  alsa_down(&e);
}
