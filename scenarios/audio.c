/* audio (seed 002): a full-duplex voice assistant, its stages as the document has them.
 *
 *   audio  the sound card's callbacks (it owns the device, hw/audio.h): each period, the
 *          captured frame goes to the VAD (put_nowait: a callback never blocks) and the
 *          playback buffer is topped up from the reply's frames, or with silence between
 *          replies. When the user starts speaking during a reply (barge-in), playback stops:
 *          the device buffer is dropped and every pending frame of the older reply flushed.
 *   vad    energy and zero crossings on each frame (audio_vad.h): sets `user_speaking`, and
 *          passes the utterance's frames, then its end, to STT.
 *   stt    calibrated compute per frame (`stt`), and a final decode (`stt_final`) that puts
 *          the text on the bounded text queue (10).
 *   llm    the reply as sentences: `llm_first` to the first, `llm_next` to each after; a
 *          newer utterance cuts it short.
 *   tts    each sentence synthesised into real PCM, a period at a time (a voiced sound), at
 *          `tts` of calibrated work per 20 ms of speech, into the playback queue.
 *
 * Runtimes: threads, procs (a process per stage, the queues over the transport, the flag a
 * register in shared memory) and loop; with --gil the callbacks take the GIL as Python's do
 * (every role's code runs under it). The shutdown is the document's: `running` false, each
 * stage joined within 2 s, terminated after (the scenario's stop_grace_ns), and the result
 * says which were (shutdown.terminated, and calibration "shutdown.terminated_roles").
 *
 * Ground truth: the mock plays a script whose utterances are known (audio_run.c), so the
 * response latency runs from the script's end of the utterance to the first reply frame the
 * playback clock takes, and the barge-in latency from the script's onset to playback
 * stopped. On a real PCM the VAD's own boundaries stand in, and the result says so.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_sc.h"
#include "audio_vad.h"

#define P AB_AUDIO_PERIOD_NS

void au_work(ab_ctx_t *ctx, int64_t ns, double gil)
{
  if (ns <= 0)
    return;
  int64_t held = gil >= 1 ? ns : (int64_t)llround((double)ns * gil);
  if (held > 0)
    ab_compute(ctx, held);
  if (ns - held > 0)
    ab_compute_nogil(ctx, ns - held);
}

int au_match(const cfg_t *g, int64_t start_rel)
{
  int best = -1;
  int64_t bd = AB_NS_PER_S;
  for (int i = 0; g->has_truth && i < g->script.n; i++) {
    int64_t d = llabs(g->script.utt[i].start - start_rel);
    if (d < bd)
      bd = d, best = i;
  }
  return best;
}

/* A newer utterance has begun since `utt`, or the run is stopping: the reply is cut. */
static int cut_short(ab_ctx_t *ctx, int utt)
{
  speaking_t sp;
  ab_load(ctx, REG_SPEAKING, &sp);
  return sp.utt > utt || ab_stopping(ctx);
}

static void stage_fini(ab_ctx_t *ctx)
{
  cfg_t *g = ab_shared(ctx);
  int r = ab_role_index(ctx);
  __atomic_store_n(&g->t_fini_begun[r], ab_now_ns(), __ATOMIC_RELEASE);
  if (g->hang == r) /* the stage that ignores `running`: blocked on, as in a get() without timeout */
    ab_sleep(ctx, g->hang_for);
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
  __atomic_store_n(&g->t_fini[r], ab_now_ns(), __ATOMIC_RELEASE);
}

/* ---- audio: the callbacks --------------------------------------------------------------- */

typedef struct au {
  pcmf_t ring[RING_FRAMES]; /* the reply's frames, not yet in the device */
  int head, n;
  int in_reply;     /* the last frame written said more follows */
  int64_t onset;    /* the newest onset acted on: replies to utterances before it are stale */
  /* Replies whose first frame is written and not yet played: counted once the clock has
   * taken it (a barge-in may drop it first: then it was never heard). */
  struct { int32_t utt; int64_t t_play, t_ref; } first[4];
  int nfirst;
  int16_t silence[AB_AUDIO_FRAME];
} au_t;

/* The replies' first frames the clock has taken by now: their response times. */
static void played_firsts(ab_ctx_t *ctx, au_t *a, int64_t now)
{
  cfg_t *g = ab_shared(ctx);
  int k = 0;
  for (int i = 0; i < a->nfirst; i++) {
    if (a->first[i].t_play > now) {
      a->first[k++] = a->first[i];
      continue;
    }
    int32_t u = a->first[i].utt;
    if (u > 0 && u <= AB_AUDIO_MAX_UTT)
      __atomic_store_n(&g->utt_played[u], a->first[i].t_play, __ATOMIC_RELEASE);
    ab_record(ctx, M_RESPONSE, a->first[i].t_play - a->first[i].t_ref);
    ab_count(ctx, K_PLAYED_REPLIES, 1);
  }
  a->nfirst = k;
}

static int audio_init(ab_ctx_t *ctx)
{
  au_t *a = calloc(1, sizeof *a);
  if (!a)
    return -ENOMEM;
  a->onset = -1;
  *ab_priv(ctx) = a;
  return 0;
}

/* Top the device's playback buffer up: the reply's frames in order, silence between replies,
 * nothing while a reply is owed a frame it does not have yet (the device then underruns). */
static int top_up(ab_ctx_t *ctx, au_t *a)
{
  const cfg_t *g = ab_shared(ctx);
  int space = ab_audio_space(ctx);
  while (space > 0) {
    int64_t t_play;
    int r;
    if (a->n) {
      pcmf_t *f = &a->ring[a->head];
      if (f->utt < a->onset) { /* a reply the user has talked over */
        ab_count(ctx, K_FLUSHED, 1);
      } else if ((r = ab_audio_write(ctx, f->pcm, f->more, &t_play)) <= 0) {
        return r;
      } else {
        if (f->i == 0 && a->nfirst < 4)
          a->first[a->nfirst].utt = f->utt, a->first[a->nfirst].t_play = t_play, a->first[a->nfirst++].t_ref = f->t_ref;
        if (!g->has_truth) { /* no script to judge by: the user's onset as the VAD saw it */
          speaking_t sp;
          if (ab_load(ctx, REG_SPEAKING, &sp) && sp.on && t_play >= sp.t_truth + BARGE_NS)
            ab_count(ctx, K_TALKED_OVER, 1);
        }
        a->in_reply = f->more;
        space--;
      }
      a->head = (a->head + 1) % RING_FRAMES;
      a->n--;
    } else if (!a->in_reply) {
      if ((r = ab_audio_write(ctx, a->silence, 0, &t_play)) <= 0)
        return r;
      space--;
    } else {
      break;
    }
  }
  return space < 0 ? space : 0;
}

/* The user spoke again: replies before this utterance are stale, and if one is playing it
 * stops now. */
static int barge_in(ab_ctx_t *ctx, au_t *a)
{
  speaking_t sp;
  /* any onset newer than the last acted on, even one already over (a VAD late to publish
   * it, or a callback late to see it): its older replies are stale all the same */
  if (!ab_load(ctx, REG_SPEAKING, &sp) || sp.utt <= a->onset)
    return 0;
  a->onset = sp.utt;
  if (!a->in_reply)
    return 0;
  int r = ab_audio_drop(ctx);
  if (r < 0)
    return r;
  a->in_reply = 0;
  int64_t now = ab_now_ns(), k = 0;
  for (int i = 0; i < a->nfirst; i++) /* a first frame dropped before it played was never heard */
    if (a->first[i].t_play <= now)
      a->first[k++] = a->first[i];
  a->nfirst = (int)k;
  ab_count(ctx, K_FLUSHED, r);
  ab_count(ctx, K_BARGES, 1);
  ab_record(ctx, M_BARGE, now - sp.t_truth);
  return 0;
}

static int audio_io(ab_ctx_t *ctx)
{
  au_t *a = *ab_priv(ctx);
  int64_t t0 = ab_now_ns();
  mic_t m;
  int r;
  /* at most a buffer's worth a callback: a PCM without a clock (ALSA's null) always has
   * more, and the stop must still be seen */
  for (int n = 0; n < AB_AUDIO_MAX_PERIODS && (r = ab_audio_read(ctx, m.pcm, &m.t_capture, &m.index)) == 1; n++)
    if ((r = ab_send(ctx, CH_MIC, &m, sizeof m, m.t_capture)) < 0)
      return r;
  played_firsts(ctx, a, ab_now_ns());
  if (r < 0 || (r = barge_in(ctx, a)) < 0 || (r = top_up(ctx, a)) < 0)
    return r;
  ab_record(ctx, M_CALLBACK, ab_now_ns() - t0);
  return 0;
}

static void audio_fini(ab_ctx_t *ctx)
{
  au_t *a = *ab_priv(ctx);
  if (a)
    played_firsts(ctx, a, ab_now_ns());
  stage_fini(ctx);
}

/* A reply frame from TTS: queued, and the device topped up at once. */
static int audio_step(ab_ctx_t *ctx)
{
  au_t *a = *ab_priv(ctx);
  ab_msg_t msg;
  int err;
  const pcmf_t *f = ab_recv(ctx, CH_PCM, &msg, &err);
  if (!f)
    return err == -EAGAIN ? 0 : err;
  if (msg.len != sizeof *f)
    return ab_fail(ctx, "audio: a playback message of %u bytes (expected %zu)", msg.len, sizeof *f);
  int r = barge_in(ctx, a);
  if (f->utt < a->onset)
    ab_count(ctx, K_FLUSHED, 1);
  else if (a->n == RING_FRAMES)
    return ab_fail(ctx, "audio: the playback queue is full (%d frames: a reply over %d s)", RING_FRAMES,
                   RING_FRAMES / 50);
  else
    a->ring[(a->head + a->n++) % RING_FRAMES] = *f;
  ab_recv_done(ctx, CH_PCM);
  return r < 0 ? r : top_up(ctx, a);
}

/* ---- vad ---------------------------------------------------------------------------------- */

typedef struct vadst {
  ab_vad_t v;
  int utt;          /* utterances begun */
  int match;        /* the script's utterance this one is (-1: none) */
  int nframes;
} vadst_t;

static int vad_init(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  vadst_t *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  ab_vad_init(&s->v, g->hangover);
  *ab_priv(ctx) = s;
  return 0;
}

static int vad_step(ab_ctx_t *ctx)
{
  vadst_t *s = *ab_priv(ctx);
  cfg_t *g = ab_shared(ctx);
  ab_msg_t msg;
  int err;
  const mic_t *m = ab_recv(ctx, CH_MIC, &msg, &err);
  if (!m)
    return err == -EAGAIN ? 0 : err;
  int64_t t0 = ab_now_ns(), t_clock = m->t_capture - (int64_t)(m->index + 1) * P;
  int ev = ab_vad_push(&s->v, m->pcm, AB_AUDIO_FRAME, m->index, NULL);
  int speaking = s->v.speaking || ev == AB_VAD_END, r = 0;
  speech_t sp = { .kind = SP_FRAME, .utt = s->utt + (ev == AB_VAD_START) };
  if (speaking)
    memcpy(sp.pcm, m->pcm, sizeof sp.pcm);
  ab_recv_done(ctx, CH_MIC);
  if (ev == AB_VAD_START) {
    int64_t start = (int64_t)s->v.first * P; /* from the clock's start */
    s->utt++, s->nframes = 0;
    if (s->utt <= AB_AUDIO_MAX_UTT)
      __atomic_store_n(&g->utt_onset[s->utt], t0, __ATOMIC_RELEASE);
    s->match = au_match(g, start);
    ab_count(ctx, K_UTTS, 1);
    ab_count(ctx, s->match >= 0 ? K_MATCHED : K_FALSE, 1);
    if (s->match >= 0)
      ab_record(ctx, M_VAD_START, llabs(start - g->script.utt[s->match].start));
    speaking_t on = { 1, s->utt, t0, s->match >= 0 ? t_clock + g->script.utt[s->match].start : t_clock + start };
    ab_store(ctx, REG_SPEAKING, &on);
  }
  if (speaking) {
    s->nframes++;
    if ((r = ab_send(ctx, CH_SPEECH, &sp, sizeof sp, 0)) < 0)
      return r;
  }
  if (ev == AB_VAD_END) {
    int64_t end = (int64_t)(s->v.last + 1) * P, t_ref = t_clock + end;
    if (s->match >= 0) {
      int64_t truth = g->script.utt[s->match].end;
      ab_record(ctx, M_VAD_END, llabs(end - truth));
      t_ref = t_clock + truth;
      ab_record(ctx, M_VAD_DELAY, t0 > t_ref ? t0 - t_ref : 0);
    }
    if (s->utt <= AB_AUDIO_MAX_UTT)
      __atomic_store_n(&g->utt_end[s->utt], t0, __ATOMIC_RELEASE);
    speaking_t off = { 0, s->utt, t0, t_ref };
    ab_store(ctx, REG_SPEAKING, &off);
    speech_t e = { .kind = SP_END, .utt = s->utt, .t_ref = t_ref, .t_detect = t0, .nframes = s->nframes };
    if ((r = ab_send(ctx, CH_SPEECH, &e, offsetof(speech_t, pcm), 0)) < 0)
      return r;
  }
  ab_record(ctx, M_VAD_FRAME, ab_now_ns() - t0);
  return 0;
}

/* ---- stt, llm, tts ------------------------------------------------------------------------ */

static int stt_step(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  ab_msg_t msg;
  int err;
  const speech_t *sp = ab_recv(ctx, CH_SPEECH, &msg, &err);
  if (!sp)
    return err == -EAGAIN ? 0 : err;
  speech_t s;
  memcpy(&s, sp, msg.len < sizeof s ? msg.len : sizeof s);
  ab_recv_done(ctx, CH_SPEECH);
  if (s.kind == SP_FRAME) { /* the streaming model's pass over this frame */
    au_work(ctx, g->stt, g->stt_gil);
    return 0;
  }
  au_work(ctx, g->stt_final, g->stt_gil);
  text_t t = { .utt = s.utt, .nframes = s.nframes, .t_ref = s.t_ref };
  snprintf(t.text, sizeof t.text, "utterance %d: %.2f s of speech", s.utt, s.nframes * 0.02);
  int r = ab_send(ctx, CH_TEXT, &t, sizeof t, s.t_ref); /* q.put: blocks while 10 wait */
  ab_record(ctx, M_STT, ab_now_ns() - s.t_detect);
  ab_count(ctx, K_TEXTS, 1);
  return r;
}

static int llm_step(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  ab_msg_t msg;
  int err;
  const text_t *tp = ab_recv(ctx, CH_TEXT, &msg, &err);
  if (!tp)
    return err == -EAGAIN ? 0 : err;
  text_t t = *tp;
  ab_recv_done(ctx, CH_TEXT);
  int64_t t_got = ab_now_ns();
  for (int i = 0; i < g->sentences; i++) {
    au_work(ctx, i ? g->llm_next : g->llm_first, g->llm_gil);
    if (cut_short(ctx, t.utt)) {
      ab_count(ctx, K_LLM_CUT, 1);
      return 0;
    }
    sent_t s = { .utt = t.utt, .i = i, .n = g->sentences, .t_ref = t.t_ref };
    snprintf(s.text, sizeof s.text, "reply to %d, sentence %d of %d", t.utt, i + 1, g->sentences);
    int r = ab_send(ctx, CH_SENT, &s, sizeof s, t.t_ref);
    if (r < 0)
      return r;
    if (!i)
      ab_record(ctx, M_LLM, ab_now_ns() - t_got);
  }
  ab_count(ctx, K_REPLIES, 1);
  return 0;
}

static int tts_step(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  ab_msg_t msg;
  int err;
  const sent_t *sp = ab_recv(ctx, CH_SENT, &msg, &err);
  if (!sp)
    return err == -EAGAIN ? 0 : err;
  sent_t s = *sp;
  ab_recv_done(ctx, CH_SENT);
  int64_t t_got = ab_now_ns();
  int frames = (int)(g->sentence / P);
  double phase = 0, f0 = 190 + 10 * (s.i % 3);
  for (int k = 0; k < frames; k++) {
    if (cut_short(ctx, s.utt)) {
      ab_count(ctx, K_TTS_CUT, 1);
      return 0;
    }
    pcmf_t f = { .utt = s.utt, .i = s.i * frames + k, .more = s.i + 1 < s.n || k + 1 < frames, .t_ref = s.t_ref };
    int64_t t0 = ab_now_ns();
    /* a syllable's envelope over the sentence, then the rest of the period's cost */
    double amp = 0.25 * (0.6 - 0.4 * cos(2 * M_PI * 4.0 * k * 0.02)) * (k < 2 || k + 2 > frames ? 0.5 : 1);
    ab_audio_voice(f.pcm, AB_AUDIO_FRAME, f0, amp, &phase);
    au_work(ctx, g->tts - (ab_now_ns() - t0), g->tts_gil);
    int r = ab_send(ctx, CH_PCM, &f, sizeof f, s.t_ref);
    if (r < 0)
      return r;
    ab_count(ctx, K_TTS_FRAMES, 1);
    if (!k && !s.i)
      ab_record(ctx, M_TTS, ab_now_ns() - t_got);
  }
  return 0;
}

const ab_role_desc_t au_roles[NR] = {
  [R_AUDIO] = { .name = "audio", .trigger = CH_PCM, .on_device = 1, .init = audio_init, .step = audio_step,
                .io = audio_io, .fini = audio_fini, .flags = AB_ROLE_IO },
  [R_VAD] = { .name = "vad", .trigger = CH_MIC, .init = vad_init, .step = vad_step, .fini = stage_fini },
  [R_STT] = { .name = "stt", .trigger = CH_SPEECH, .step = stt_step, .fini = stage_fini, .flags = AB_ROLE_CPU },
  [R_LLM] = { .name = "llm", .trigger = CH_TEXT, .step = llm_step, .fini = stage_fini, .flags = AB_ROLE_CPU },
  [R_TTS] = { .name = "tts", .trigger = CH_SENT, .step = tts_step, .fini = stage_fini, .flags = AB_ROLE_CPU },
};
