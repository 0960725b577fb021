/* Tests of the audio device's mock (hw/audio.c), the VAD (scenarios/audio_vad.c) and the
 * audio scenario (scenarios/audio.c, audio_run.c):
 *   - the VAD finds each of the script's utterances once, its boundaries within one hangover,
 *     and decides each end exactly a hangover after the last speech frame; noise alone is
 *     never speech;
 *   - the mock counts overruns and underruns tick by tick: a capture buffer of `periods`
 *     frames, an empty playback buffer counted only while a reply is playing, a drop that
 *     flushes it and ends the reply;
 *   - a stall of the callbacks of known length is one overrun and one underrun of that
 *     length, less the buffer; a barge-in stops playback and flushes the reply, and the
 *     device (the script's truth) never hears the assistant talk over the user;
 *   - a stage that ignores `running` is terminated after the 2 s grace and the result names
 *     it, under processes (killed) and threads (left behind, as a daemon thread is);
 *   - bad params exit 2 naming the value.
 * No figure is held to a latency: counts are checked against the stall's length.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio.h"
#include "audio_sc.h"
#include "audio_vad.h"
#include "jresult.h"
#include "proc.h"
#include "shm.h"
#include "test.h"

#define P AB_AUDIO_PERIOD_NS
#define MS AB_NS_PER_MS
#define T_S 60.0

/* ---- the VAD against the mock's script ------------------------------------------------------ */

static void script_add(ab_audio_cfg_t *c, int64_t start, int64_t len, double f0)
{
  c->script.utt[c->script.n++] = (ab_audio_utt_t){ start, start + len, f0 };
}

TEST(audio_vad_finds_the_script_utterances_within_one_hangover)
{
  ab_audio_cfg_t c = { .periods = 3, .speech_level = 0.3, .noise_level = 0.002 };
  script_add(&c, 300 * MS, 1200 * MS, 120);
  script_add(&c, 2900 * MS, 500 * MS, 180);
  script_add(&c, 4100 * MS, 300 * MS, 220); /* short, and 700 ms after the last */
  script_add(&c, 5000 * MS, 2500 * MS, 95);
  const int hang = 10; /* 200 ms */
  ab_vad_t v;
  ab_vad_init(&v, hang);
  int found = 0;
  int64_t starts[8], ends[8];
  for (uint64_t k = 0; k < 500; k++) { /* 10 s */
    int16_t pcm[AB_AUDIO_FRAME];
    ab_audio_mock_frame(&c, k, pcm);
    int ev = ab_vad_push(&v, pcm, AB_AUDIO_FRAME, k, NULL);
    if (ev == AB_VAD_START) {
      ASSERT(found < 8);
      starts[found] = (int64_t)v.first * P;
    } else if (ev == AB_VAD_END) {
      ends[found] = (int64_t)(v.last + 1) * P;
      ASSERT_EQ((int)(k - v.last), hang); /* decided a hangover after its last speech frame */
      found++;
    }
  }
  ASSERT_EQ(found, c.script.n);
  for (int i = 0; i < found; i++) {
    printf("utterance %d: script %.2f-%.2f s, found %.2f-%.2f s\n", i, c.script.utt[i].start / 1e9,
           c.script.utt[i].end / 1e9, starts[i] / 1e9, ends[i] / 1e9);
    ASSERT_INT(llabs(starts[i] - c.script.utt[i].start), <=, hang * P); /* the bound, */
    ASSERT_INT(llabs(ends[i] - c.script.utt[i].end), <=, hang * P);
    ASSERT_INT(llabs(starts[i] - c.script.utt[i].start), <=, 2 * P); /* and what it does: the onset's */
    ASSERT_INT(llabs(ends[i] - c.script.utt[i].end), <=, P);         /* two frames, the end's ramp */
  }
  /* noise alone is never speech, even when it turns 20 dB louder for half a second (a fan):
   * loud enough over the floor, but it crosses zero far too often */
  ab_audio_cfg_t quiet = { .periods = 3, .speech_level = 0.3, .noise_level = 0.002 }, loud = quiet;
  loud.noise_level = 0.02;
  ab_vad_init(&v, hang);
  for (uint64_t k = 0; k < 250; k++) {
    int16_t pcm[AB_AUDIO_FRAME];
    ab_vad_frame_t f;
    ab_audio_mock_frame(k >= 100 && k < 125 ? &loud : &quiet, k, pcm);
    ASSERT_EQ(ab_vad_push(&v, pcm, AB_AUDIO_FRAME, k, &f), AB_VAD_NONE);
    if (k == 110)
      ASSERT_DBL(f.energy_db, >, v.floor_db + AB_VAD_OVER_FLOOR); /* the burst is loud enough */
  }
}

/* ---- the mock device, tick by tick ---------------------------------------------------------- */

typedef struct dev {
  void *state, *h;
  int64_t t0;
} audev_t;

/* The mock prepared, configured with c, opened and started now. */
static void dev_up(audev_t *d, const ab_audio_cfg_t *c)
{
  char err[AB_ERRLEN] = "";
  d->state = ab_shm_alloc(ab_audio_ops.state_size, 0);
  ASSERT(d->state);
  if (ab_audio_ops.prepare(d->state, &(ab_dev_opts_t){ 0 }, err))
    AB_FAIL("prepare: %s", err);
  ASSERT_EQ(ab_audio_config(d->state, c), 0);
  if (ab_audio_ops.open(d->state, &d->h, err))
    AB_FAIL("open: %s", err);
  d->t0 = ab_now_ns();
  ab_audio_ops.start(d->h, d->t0);
}

static void dev_down(audev_t *d)
{
  ab_audio_ops.close(d->h);
  ab_audio_ops.release(d->state);
  ab_shm_free(d->state, ab_audio_ops.state_size, 0);
}

static void sleep_to(int64_t t)
{
  struct timespec ts = ab_ts(t);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
    ;
}

static int64_t ticks_at(const audev_t *d, int64_t t) { return (t - d->t0) / P; }

TEST(audio_mock_counts_overruns_and_underruns_tick_by_tick)
{
  audev_t d;
  dev_up(&d, &(ab_audio_cfg_t){ .periods = 3, .speech_level = 0.3, .noise_level = 0.002 });
  int16_t voice[AB_AUDIO_FRAME], got[AB_AUDIO_FRAME];
  double ph = 0;
  ab_audio_voice(voice, AB_AUDIO_FRAME, 200, 0.3, &ph);
  int64_t tp, tc;
  uint64_t idx;
  for (int i = 0; i < 3; i++) /* a reply that goes on: three frames, then nothing */
    ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 1);
  ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 0); /* the buffer holds 3 */
  ASSERT_INT(tp, ==, d.t0 + 3 * P);                   /* the third plays at the third tick */
  sleep_to(d.t0 + 10 * P + P / 2);
  int64_t tb = ab_now_ns();
  ASSERT_EQ(ab_audio_read_h(d.h, got, &tc, &idx), 1);
  int64_t ta = ab_now_ns();
  ab_audio_stats_t s;
  ab_audio_stats(d.state, &s);
  /* ticks 1-3 played the reply, every later one found nothing while it was owed: underruns;
   * of the frames captured, the buffer kept the newest 3, the rest were lost */
  printf("ticks %lld-%lld: played %llu, underruns %llu (longest %llu), overruns %llu, read frame %llu\n",
         (long long)ticks_at(&d, tb), (long long)ticks_at(&d, ta), (unsigned long long)s.played,
         (unsigned long long)s.underruns, (unsigned long long)s.underrun_max, (unsigned long long)s.overruns,
         (unsigned long long)idx);
  ASSERT_EQ((int)s.played, 3);
  ASSERT_INT((int64_t)s.underruns, >=, ticks_at(&d, tb) - 3);
  ASSERT_INT((int64_t)s.underruns, <=, ticks_at(&d, ta) - 3);
  ASSERT_EQ((int)s.underrun_events, 1);
  ASSERT_EQ(s.underrun_max, s.underruns);
  ASSERT_EQ(s.overruns, s.underruns); /* the same ticks, less the same buffer */
  ASSERT_EQ((int)s.overrun_events, 1);
  ASSERT_EQ(idx, s.overruns);
  ASSERT_INT(tc, ==, d.t0 + (int64_t)(idx + 1) * P);
  /* the reply's last frame (more = 0): once it has played, an empty buffer is silence */
  ASSERT_EQ(ab_audio_write_h(d.h, voice, 0, &tp), 1);
  ab_audio_stats_t s1, s2;
  ab_audio_stats(d.state, &s1); /* the ticks up to the write were judged by it */
  sleep_to(tp + 4 * P + P / 2);
  ASSERT_INT(ab_audio_space_h(d.h), ==, 3);
  ab_audio_stats(d.state, &s2);
  ASSERT_EQ(s2.underruns, s1.underruns);
  ASSERT_EQ((int)s2.played, 4);
  /* a drop flushes what is queued and ends the reply: no underrun after */
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 1);
  ASSERT_EQ(ab_audio_drop_h(d.h), 3);
  sleep_to(tp + 3 * P + P / 2);
  ASSERT_INT(ab_audio_space_h(d.h), ==, 3);
  ab_audio_stats_t s3;
  ab_audio_stats(d.state, &s3);
  ASSERT_EQ(s3.underruns, s2.underruns);
  ASSERT_EQ((int)s3.dropped, 3);
  ASSERT_EQ(s3.played, s2.played);
  dev_down(&d);
}

/* The device's truth about barge-in: a voiced frame the clock plays once the script's user has
 * spoken barge_ns is talking over them; silence is not, nor is a frame before. And xruns are
 * measured per run: the longest is the longest run, not their sum. */
TEST(audio_mock_counts_frames_played_over_the_user_and_the_longest_underrun)
{
  audev_t d;
  ab_audio_cfg_t c = { .periods = 3, .speech_level = 0.3, .noise_level = 0.002, .barge_ns = 100 * MS };
  script_add(&c, 100 * MS, 10 * AB_NS_PER_S, 150);
  dev_up(&d, &c);
  int16_t voice[AB_AUDIO_FRAME], quiet[AB_AUDIO_FRAME] = { 0 };
  double ph = 0;
  ab_audio_voice(voice, AB_AUDIO_FRAME, 200, 0.3, &ph);
  int64_t tp;
  ab_audio_stats_t s;
  for (int i = 0; i < 3; i++) /* ticks 1-3 (20-60 ms): before the user's 100 ms */
    ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 1);
  sleep_to(d.t0 + 5 * P + P / 2); /* ticks 4-5 owed: an underrun of 2 */
  for (int i = 0; i < 3; i++)   /* ticks 6-8 (120-160 ms): voiced, within the user's first 100 ms */
    ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 1);
  sleep_to(d.t0 + 12 * P + P / 2); /* ticks 9-12 owed: an underrun of 4 */
  for (int i = 0; i < 3; i++)      /* ticks 13-15 (260-300 ms): over the user */
    ASSERT_EQ(ab_audio_write_h(d.h, voice, 1, &tp), 1);
  sleep_to(d.t0 + 15 * P + P / 2);
  ASSERT_INT(ab_audio_space_h(d.h), ==, 3);
  ab_audio_stats(d.state, &s);
  ASSERT_EQ((int)s.talked_over, 3);
  for (int i = 0; i < 3; i++) /* silence over them is not talking */
    ASSERT_EQ(ab_audio_write_h(d.h, quiet, 0, &tp), 1);
  sleep_to(tp + P / 2);
  ASSERT_INT(ab_audio_space_h(d.h), ==, 3);
  ab_audio_stats(d.state, &s);
  printf("talked over %llu; underruns %llu in %llu runs, the longest %llu\n", (unsigned long long)s.talked_over,
         (unsigned long long)s.underruns, (unsigned long long)s.underrun_events, (unsigned long long)s.underrun_max);
  ASSERT_EQ((int)s.talked_over, 3);
  ASSERT_EQ((int)s.underrun_events, 2);
  ASSERT_EQ((int)s.underruns, 2 + 4);
  ASSERT_EQ((int)s.underrun_max, 4);
  dev_down(&d);
}

/* ---- the scenario ------------------------------------------------------------------------- */

/* Two runs of 4 s side by side (threads: they mostly wait):
 *   0. the callbacks stalled 300 ms during the first reply (its 60th frame), and the user's
 *      second utterance (at 2.9 s) barging into the reply;
 *   1. the VAD stalled 800 ms over that utterance, so that it publishes its onset and its
 *      end at once: the callbacks never see the user speaking, yet the older reply must go. */
TEST_T(audio_stall_is_one_xrun_of_its_length_and_barge_in_flushes_playback, 90)
{
  const char *const d4[] = { "--duration", "4s", "--arch", "threads", NULL };
  scen_run_t runs[2] = {
    { "audio", temp_path(1), "audio.threads.json", d4, L("--fault", "stall:audio:60:300ms") },
    { "audio", temp_path(1), "audio.threads.json", d4, L("--fault", "stall:vad:140:800ms") },
  };
  run_scenarios(runs, 2);
  json_t *late = runs[1].r;
  printf("the VAD late: barge-ins %.0f, flushed %.0f, talked over %.0f\n", counter(late, "audio.barge_ins"),
         counter(late, "audio.flushed"), counter(late, "audio.talked_over"));
  ASSERT_DBL(counter(late, "audio.barge_ins"), >=, 1);
  ASSERT_DBL(counter(late, "audio.flushed"), >=, 1);
  json_decref(late);
  json_t *r = runs[0].r;
  ASSERT_STR(jstr(r, "status"), "ok");
  ASSERT_STR(jstr(jobj(r, "devices"), "soundcard"), "mock-clock");
  double omax = counter(r, "audio.overrun_max"), umax = counter(r, "audio.underrun_max");
  printf("overruns %.0f (longest %.0f), underruns %.0f (longest %.0f), barge-ins %.0f, dropped %.0f, flushed %.0f, "
         "talked over %.0f; barge-in latency max %.1f ms\n",
         counter(r, "audio.overruns"), omax, counter(r, "audio.underruns"), umax, counter(r, "audio.barge_ins"),
         counter(r, "audio.dropped"), counter(r, "audio.flushed"), counter(r, "audio.talked_over"),
         jnum(metric(r, "audio.barge_in_ns"), "max") / 1e6);
  /* 300 ms is 15 ticks; the device buffer held 3 each way: 12, give or take the tick */
  ASSERT_DBL(omax, >=, 11);
  ASSERT_DBL(omax, <=, 13);
  ASSERT_DBL(umax, >=, 11);
  ASSERT_DBL(umax, <=, 13);
  ASSERT_DBL(counter(r, "audio.barge_ins"), >=, 1);
  ASSERT_DBL(counter(r, "audio.dropped"), >=, 1);   /* the device's queued frames went */
  ASSERT_DBL(counter(r, "audio.talked_over"), ==, 0); /* and the user was never talked over */
  json_t *b = metric(r, "audio.barge_in_ns");
  ASSERT(b && jnum(b, "count") >= 1);
  ASSERT_DBL(jnum(b, "max"), <, 2e9); /* a sanity bound: a barge-in is stopped within the utterance */
  ASSERT_DBL(counter(r, "vad.matched"), >=, 2);
  ASSERT_DBL(counter(r, "vad.false"), ==, 0);
  ASSERT_DBL(counter(r, "audio.replies"), >=, 1);
  ASSERT_DBL(counter(r, "shutdown.terminated"), ==, 0);
  json_t *v = jobj(r, "values");
  ASSERT_DBL(jnum(v, "shutdown.ms"), <, 2000);
  ASSERT_DBL(jnum(v, "shutdown.ms"), >, 0); /* the stages' stop took some time */
  /* each figure is what it says, by arithmetic and physical floors (no latency is bounded
   * from above): the VAD decides an end a hangover after it; STT's final decode is work of
   * stt_final (80 ms; calibrated work drifts, so half of it); onset detection needs two
   * frames, so a barge-in measured from the script's onset takes at least 40 ms; a reply
   * cannot play before its utterance's end was decided */
  ASSERT_DBL(jnum(metric(r, "vad.delay_ns"), "min"), >=, 200e6);
  ASSERT_DBL(jnum(metric(r, "stt.final_ns"), "p50"), >=, 40e6);
  ASSERT_DBL(jnum(b, "min"), >=, 40e6);
  ASSERT_DBL(jnum(metric(r, "audio.response_ns"), "min"), >, jnum(metric(r, "vad.delay_ns"), "min"));
  ASSERT_DBL(counter(r, "audio.replies"), <=, counter(r, "stt.texts")); /* a reply answers a text */
  ASSERT_DBL(jnum(v, "audio.xruns"), ==, counter(r, "audio.overruns") + counter(r, "audio.underruns"));
  /* CPU: the stages' own, summed, and the busiest of them, as the resources give them */
  json_t *roles = jobj(jobj(r, "resources"), "roles"), *ro;
  const char *name;
  double sum = 0, most = 0, win = jnum(r, "duration_s");
  json_object_foreach(roles, name, ro) {
    double c = jnum(ro, "cpu_user_s") + jnum(ro, "cpu_sys_s");
    sum += c, most = c > most ? c : most;
  }
  ASSERT_DBL(fabs(jnum(v, "cpu.total_pct") - 100 * sum / win), <=, 0.02 * jnum(v, "cpu.total_pct") + 0.1);
  ASSERT_DBL(fabs(jnum(v, "cpu.busiest_stage_pct") - 100 * most / win), <=, 0.02 * jnum(v, "cpu.busiest_stage_pct") + 0.1);
  json_decref(r);
}

/* A stage that ignores `running` (tts, 20 s on) under processes (killed) and threads (left
 * behind, as a daemon thread is); the callbacks' own fini slow (1 s, within the grace); and,
 * beside them, the loop with the models inline: every reply frame arrives (a loop cannot block
 * TTS, so its queue holds a whole reply), and the models hold the callbacks off far longer
 * than the device buffer (stt_final, the LLM's 250 ms and TTS's sentences on one thread).
 * All four side by side: they mostly wait. */
TEST_T(audio_stage_ignoring_running_is_terminated_after_2s, 60)
{
  const char *const hang[] = { "--duration", "300ms", "--param", "hang=tts", "--param", "hang_for=20s", NULL };
  scen_run_t runs[4] = { { "audio", temp_path(1), "audio.procs.shm.json", L("--arch", "procs"), hang },
                         { "audio", temp_path(1), "audio.threads.json", L("--arch", "threads"), hang },
                         { "audio", temp_path(1), "audio.threads.json", L("--arch", "threads"),
                           L("--duration", "300ms", "--param", "hang=audio", "--param", "hang_for=1s") },
                         { "audio", temp_path(1), "audio.loop.json", L("--arch", "loop", "--offload", "inline"),
                           L("--duration", "4s") } };
  double t0 = now_s();
  run_scenarios(runs, 4);
  double took = now_s() - t0;
  for (int k = 0; k < 2; k++) {
    json_t *r = runs[k].r;
    ASSERT_EQ(runs[k].code, 1);          /* a requirement failed ... */
    ASSERT_STR(jstr(r, "status"), "ok"); /* ... but the stop is the scenario's own: a finding */
    ASSERT_DBL(counter(r, "shutdown.terminated"), ==, 1);
    ASSERT_STR(jstr(jobj(r, "calibration"), "shutdown.terminated_roles"), "tts");
    ASSERT_DBL(jnum(jobj(r, "values"), "shutdown.ms"), >=, 2000);
    json_t *req = requirement(r, "shutdown.terminated");
    ASSERT(req && json_is_false(json_object_get(req, "pass")));
    json_decref(r);
  }
  printf("terminated tts under procs and threads; the four runs took %.1f s\n", took);
  ASSERT_DBL(took, <, 15); /* no run waited for the stage's 20 s */
  /* the clock after the window is no part of the run: a slow stop loses nothing */
  json_t *slow = runs[2].r;
  ASSERT_DBL(counter(slow, "shutdown.terminated"), ==, 0);
  ASSERT_DBL(jnum(jobj(slow, "values"), "shutdown.ms"), >=, 1000);
  ASSERT_DBL(counter(slow, "audio.overruns"), ==, 0);
  ASSERT_DBL(counter(slow, "audio.underruns"), ==, 0);
  json_decref(slow);
  json_t *l = runs[3].r;
  printf("loop inline: overruns %.0f (longest %.0f), underruns %.0f, playback drops %.0f, replies %.0f\n",
         counter(l, "audio.overruns"), counter(l, "audio.overrun_max"), counter(l, "audio.underruns"),
         counter(l, "playback.drops"), counter(l, "audio.replies"));
  ASSERT_DBL(counter(l, "playback.drops"), ==, 0);
  ASSERT_DBL(counter(l, "audio.underruns"), ==, 0); /* a reply cut short would be owed frames to the end */
  ASSERT_DBL(counter(l, "audio.replies"), >=, 1);
  ASSERT_DBL(counter(l, "audio.overrun_max"), >=, 5);
  json_decref(l);
}

TEST(audio_bad_params_exit_2_naming_the_value)
{
  static const char *const bad[][2] = {
    { "hangover=30ms", "hangover" }, { "sentence=25ms", "sentence" }, { "periods=0", "periods" },
    { "stt=-1ms", "stt" },           { "hang=foo", "hang" },          { "sentences=0", "sentences" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    proc_t p;
    run_ab(&p, L("run", "audio", "--arch", "threads", "--duration", "1s", "--out", temp_path(1), "--param", bad[i][0]),
           T_S);
    if (p.code != 2)
      AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
    ASSERT_CONTAINS(p.err, bad[i][1]);
    proc_free(&p);
  }
  /* --audio: empty; ALSA's file and tee (they write to a path of the name's: refused before
   * anything opens, so the file is never made) and null (no clock), as a slave too */
  char made[PATH_MAX], fpcm[PATH_MAX + 32];
  snprintf(made, sizeof made, "%s/written", temp_path(1));
  snprintf(fpcm, sizeof fpcm, "plug:'file:%s,raw'", made);
  const char *pcms[] = { "", "null", fpcm, "tee:x" };
  for (size_t i = 0; i < sizeof pcms / sizeof pcms[0]; i++) {
    proc_t p;
    run_ab(&p, L("run", "audio", "--arch", "threads", "--duration", "1s", "--out", temp_path(1), "--audio", pcms[i]), T_S);
    if (p.code != 2)
      AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
    ASSERT_CONTAINS(p.err, "--audio");
    proc_free(&p);
  }
  ASSERT(access(made, F_OK) != 0);
}

/* A reply is owed to an utterance not followed by another within answer_by of its end, once
 * answer_by has passed inside the window; it must start playing by then. */
TEST(audio_unanswered_counts_only_replies_owed_and_late)
{
  static cfg_t g;
  memset(&g, 0, sizeof g);
  g.answer_by = 2 * AB_NS_PER_S;
  const int64_t S = AB_NS_PER_S;
  /* 1: answered in 1 s; 2: answered 3 s late; 3: never, but 4 began 1 s after its end (not
   * owed); 4: never, owed; 5: its answer_by ends after the window (not owed yet) */
  g.utt_onset[1] = 1 * S, g.utt_end[1] = 2 * S, g.utt_played[1] = 3 * S;
  g.utt_onset[2] = 10 * S, g.utt_end[2] = 11 * S, g.utt_played[2] = 14 * S;
  g.utt_onset[3] = 20 * S, g.utt_end[3] = 21 * S;
  g.utt_onset[4] = 22 * S, g.utt_end[4] = 23 * S;
  g.utt_onset[5] = 30 * S, g.utt_end[5] = 31 * S;
  ASSERT_EQ(au_unanswered(&g, 32 * S), 2);
  ASSERT_EQ(au_unanswered(&g, 40 * S), 3);  /* 5's time is up too */
  g.utt_played[2] = 12 * S;                   /* in time */
  ASSERT_EQ(au_unanswered(&g, 40 * S), 2);
  ASSERT_EQ(au_unanswered(&g, 3 * S), 0);   /* nothing owed yet */
}
