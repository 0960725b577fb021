/* The audio scenario's script, set-up, finish and descriptor (the stages: audio.c).
 *
 * The script (the mock's capture): turns of `cycle` (6.5 s). Each begins with the user's
 * utterance, 1.2 s at 120 Hz from 0.3 s; the reply is expected about a second after its
 * end and lasts `sentences` x `sentence` (2 s). In every other turn, from the first, the
 * user speaks again 1.4 s after the end, 0.5 s at 180 Hz: during the reply, a barge-in,
 * which gets a reply of its own.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "audio_sc.h"

#define P AB_AUDIO_PERIOD_NS
#define MS AB_NS_PER_MS

static void script_of(ab_audio_script_t *s, int64_t cycle, int64_t until)
{
  s->n = 0;
  for (int64_t k = 0; s->n + 2 <= AB_AUDIO_MAX_UTT; k++) {
    int64_t a = k * cycle + 300 * MS;
    if (a >= until)
      break;
    s->utt[s->n++] = (ab_audio_utt_t){ a, a + 1200 * MS, 120 };
    int64_t b = a + 1200 * MS + 1400 * MS;
    if (!(k % 2) && b + 500 * MS <= (k + 1) * cycle && b < until)
      s->utt[s->n++] = (ab_audio_utt_t){ b, b + 500 * MS, 180 };
  }
}

int au_setup(ab_run_t *run)
{
  int r;
  if ((r = ab_run_kernel(run)) < 0)
    return r;
  cfg_t *g = ab_run_shared(run, sizeof *g);
  if (!g)
    return -ENOMEM;
  g->stt = (int64_t)ab_param(run, "stt");
  g->stt_final = (int64_t)ab_param(run, "stt_final");
  g->llm_first = (int64_t)ab_param(run, "llm_first");
  g->llm_next = (int64_t)ab_param(run, "llm_next");
  g->tts = (int64_t)ab_param(run, "tts");
  g->sentence = (int64_t)ab_param(run, "sentence");
  g->sentences = (int)ab_param(run, "sentences");
  g->stt_gil = ab_param(run, "stt_gil");
  g->llm_gil = ab_param(run, "llm_gil");
  g->tts_gil = ab_param(run, "tts_gil");
  g->hang_for = (int64_t)ab_param(run, "hang_for");
  g->hang = (int)ab_param(run, "hang") - 1; /* "none" is 0 */
  g->answer_by = (int64_t)ab_param(run, "answer_by");
  int64_t hang = (int64_t)ab_param(run, "hangover"), cycle = (int64_t)ab_param(run, "cycle");
  if (hang % P || g->sentence % P) {
    ab_run_fail(run, "audio: hangover=%lld ns and sentence=%lld ns must be whole periods of 20 ms (e.g. 200ms, 1s)",
                (long long)hang, (long long)g->sentence);
    return -EINVAL;
  }
  g->hangover = (int)(hang / P);
  if (g->sentences * g->sentence > 10 * AB_NS_PER_S) {
    ab_run_fail(run, "audio: sentences=%d of sentence=%lld ns make a reply over 10 s (expected at most 10 s of speech)",
                g->sentences, (long long)g->sentence);
    return -EINVAL;
  }
  void *dev = ab_run_dev(run, D_AUDIO);
  ab_audio_cfg_t ac = { .periods = (int)ab_param(run, "periods"), .speech_level = 0.3, .noise_level = 0.002,
                        .barge_ns = BARGE_NS, .window_ns = ab_run_duration(run) };
  g->has_truth = ab_audio_is_mock(dev);
  if (g->has_truth)
    script_of(&ac.script, cycle, ab_run_duration(run));
  if ((r = ab_audio_config(dev, &ac)) < 0) {
    ab_run_fail(run, "audio: the device refused periods=%d: %s", ac.periods, strerror(-r));
    return r;
  }
  g->script = ac.script;
  ab_calib_set(run, "audio.periods", ac.periods);
  ab_calib_set(run, "audio.script_utterances", ac.script.n);
  ab_calib_str(run, "audio.truth", g->has_truth ? "script" : "detected (a real PCM: the VAD's boundaries)");
  return 0;
}

static void set_ms(ab_run_t *run, int v, const char *fig, double div)
{
  double x;
  if (ab_run_figure(run, fig, &x) == 0)
    ab_run_value_set(run, v, x / div);
}

int au_unanswered(const cfg_t *g, int64_t t_end)
{
  int n = 0;
  for (int u = 1; u <= AB_AUDIO_MAX_UTT; u++) {
    int64_t e = g->utt_end[u], by = e + g->answer_by, next = u < AB_AUDIO_MAX_UTT ? g->utt_onset[u + 1] : 0;
    if (e && by <= t_end && (!next || next > by))
      n += !g->utt_played[u] || g->utt_played[u] > by;
  }
  return n;
}

int au_finish(ab_run_t *run)
{
  cfg_t *g = ab_run_shared(run, sizeof *g);
  ab_audio_stats_t st;
  ab_audio_stats(ab_run_dev(run, D_AUDIO), &st);
  const uint64_t k[] = { [K_OVERRUNS] = st.overruns, [K_OVERRUN_EV] = st.overrun_events, [K_UNDERRUNS] = st.underruns,
                         [K_UNDERRUN_EV] = st.underrun_events, [K_CAPTURED] = st.captured, [K_PLAYED] = st.played };
  if (g->has_truth) /* the device's count against the script; else the audio role's own */
    ab_run_counter_set(run, K_TALKED_OVER, (int64_t)st.talked_over);
  ab_run_counter_set(run, K_DROPPED, (int64_t)st.dropped);
  ab_run_counter_set(run, K_OVERRUN_MAX, (int64_t)st.overrun_max);
  ab_run_counter_set(run, K_UNDERRUN_MAX, (int64_t)st.underrun_max);
  for (int c = K_OVERRUNS; c <= K_PLAYED; c++)
    ab_run_counter_set(run, c, (int64_t)k[c]);
  ab_run_value_set(run, V_XRUNS, (double)(st.overruns + st.underruns));
  /* Utterances the VAD should have found: those that ended a hangover before the window did. */
  int64_t win = ab_run_window(run), expected = 0;
  for (int i = 0; g->has_truth && i < g->script.n; i++)
    expected += g->script.utt[i].end + (int64_t)(g->hangover + 2) * P <= win;
  int64_t matched = ab_run_counter(run, K_MATCHED);
  __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the stages' stores, before they stopped */
  ab_run_counter_set(run, K_UNANSWERED, au_unanswered(g, ab_run_end_time(run)));
  ab_run_counter_set(run, K_MISSED, expected > matched ? expected - matched : 0);
  /* The shutdown: from the window's end to the last stage's return. A stage whose fini began
   * and never ended was terminated in it; one whose fini never began was terminated in a
   * step, or (the loop) never reached because the one thread was held by another's. */
  int64_t end = ab_run_end_time(run), last = end;
  char names[96] = "", unreached[64] = "";
  int term = 0, lost = 0;
  for (int r = 0; r < NR; r++) {
    int64_t t = __atomic_load_n(&g->t_fini[r], __ATOMIC_ACQUIRE), b = __atomic_load_n(&g->t_fini_begun[r], __ATOMIC_ACQUIRE);
    if (t) {
      last = t > last ? t : last;
    } else if (b) {
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", term++ ? "," : "", au_roles[r].name);
    } else {
      snprintf(unreached + strlen(unreached), sizeof unreached - strlen(unreached), "%s%s", lost++ ? "," : "",
               au_roles[r].name);
    }
  }
  if (!term) /* none held in its fini: the ones that never got there were */
    snprintf(names, sizeof names, "%s", unreached), term = lost, lost = 0;
  else if (lost)
    snprintf(names + strlen(names), sizeof names - strlen(names), " (and, not reached: %s)", unreached);
  double shutdown = (double)(last - end) / 1e6;
  if (term && shutdown < 2000)
    shutdown = 2000; /* at least the grace it was given */
  ab_run_counter_set(run, K_TERMINATED, term);
  ab_calib_str(run, "shutdown.terminated_roles", term ? names : "none");
  ab_run_value_set(run, V_SHUTDOWN, shutdown);
  set_ms(run, V_RESP_P50, "audio.response_ns.p50", 1e6);
  set_ms(run, V_RESP_P99, "audio.response_ns.p99", 1e6);
  set_ms(run, V_RESP_MAX, "audio.response_ns.max", 1e6);
  set_ms(run, V_VAD_P50, "vad.delay_ns.p50", 1e6);
  set_ms(run, V_BARGE_MAX, "audio.barge_in_ns.max", 1e6);
  set_ms(run, V_QUEUE_US, "mic.latency_ns.p50", 1e3); /* every frame's: 50 a second */
  /* The kernel again, after the run: calibrated work drifts with the machine's load, and
   * every stage's time (so the response) with it. Their ratio says how far. */
  const ab_kernel_t *k0 = ab_run_kernel_of(run);
  ab_kernel_t k1;
  if (k0 && k0->iters_per_us > 0 && ab_compute_calibrate(&k1) == 0)
    ab_calib_set(run, "compute.drift", k1.iters_per_us / k0->iters_per_us);
  double cpu = 0, busiest = 0;
  for (int r = 0; r < NR; r++) {
    double c = ab_run_role_cpu_s(run, r);
    cpu += c;
    busiest = c > busiest ? c : busiest;
  }
  if (win > 0) {
    ab_run_value_set(run, V_CPU_TOTAL, 100 * cpu * 1e9 / (double)win);
    ab_run_value_set(run, V_CPU_BUSIEST, 100 * busiest * 1e9 / (double)win);
    if (__atomic_load_n(&g->t_fini[R_AUDIO], __ATOMIC_ACQUIRE)) /* a terminated audio role's counts are not in */
      ab_run_value_set(run, V_REPLIES_MIN, (double)ab_run_counter(run, K_PLAYED_REPLIES) * 60e9 / (double)win);
  }
  return 0;
}

/* ---- the descriptor ------------------------------------------------------------------------ */

static const ab_param_desc_t params[] = {
  { "stt", AB_P_DURATION, "5ms", 0, 1e9, NULL, "speech-to-text's calibrated work per 20 ms frame of speech" },
  { "stt_final", AB_P_DURATION, "80ms", 0, 1e10, NULL, "speech-to-text's final decode at the end of an utterance" },
  { "llm_first", AB_P_DURATION, "150ms", 0, 1e10, NULL, "the language model's work to its first sentence" },
  { "llm_next", AB_P_DURATION, "100ms", 0, 1e10, NULL, "... and to each sentence after" },
  { "tts", AB_P_DURATION, "4ms", 0, 1e9, NULL, "text-to-speech's calibrated work per 20 ms of speech" },
  { "sentences", AB_P_INT, "2", 1, 50, NULL, "sentences in a reply" },
  { "sentence", AB_P_DURATION, "1s", 2e7, 1e10, NULL, "speech in a sentence (whole 20 ms periods)" },
  { "hangover", AB_P_DURATION, "200ms", 2e7, 5e9, NULL, "silence that ends an utterance (whole 20 ms periods)" },
  { "periods", AB_P_INT, "3", 1, AB_AUDIO_MAX_PERIODS, NULL, "the device buffer each way, in 20 ms periods" },
  { "stt_gil", AB_P_DOUBLE, "1", 0, 1, NULL, "share of STT's work holding the GIL (1: Python code)" },
  { "llm_gil", AB_P_DOUBLE, "0", 0, 1, NULL, "share of the LLM's work holding the GIL (0: a native runtime)" },
  { "tts_gil", AB_P_DOUBLE, "1", 0, 1, NULL, "share of TTS's work holding the GIL" },
  { "hang", AB_P_ENUM, "none", 0, 0, "none|audio|vad|stt|llm|tts", "a stage that ignores running at the stop (a test)" },
  { "hang_for", AB_P_DURATION, "5s", 0, 6e10, NULL, "... and how long it goes on" },
  { "answer_by", AB_P_DURATION, "2s", 1e8, 6e10, NULL, "a reply owed must start playing within this of the end" },
  { "cycle", AB_P_DURATION, "6500ms", 4e9, 6e10, NULL, "the mock script's turn: an utterance, its reply, a barge-in" },
};

static const ab_chan_desc_t chans[NC] = {
  [CH_MIC] = { .name = "mic", .from = R_AUDIO, .to = R_VAD, .msg_max = sizeof(mic_t), .depth = 50, .policy = AB_DROP },
  [CH_SPEECH] = { .name = "speech", .from = R_VAD, .to = R_STT, .msg_max = sizeof(speech_t), .depth = 250,
                  .policy = AB_DROP },
  [CH_TEXT] = { .name = "text", .from = R_STT, .to = R_LLM, .msg_max = sizeof(text_t), .depth = 10, .policy = AB_BLOCK },
  [CH_SENT] = { .name = "sentence", .from = R_LLM, .to = R_TTS, .msg_max = sizeof(sent_t), .depth = 16,
                .policy = AB_BLOCK },
    /* a whole reply (at most 10 s): the loop runs TTS's sentences back to back before the
   * callbacks take any, and a loop cannot block a sender (a full channel drops) */
  [CH_PCM] = { .name = "playback", .from = R_TTS, .to = R_AUDIO, .msg_max = sizeof(pcmf_t), .depth = 512,
               .policy = AB_BLOCK, .flags = AB_CHAN_BULK },
};

static const ab_reg_desc_t regs[NREG] = { [REG_SPEAKING] = { "user_speaking", sizeof(speaking_t) } };
static const ab_dev_desc_t devs[] = { [D_AUDIO] = { .name = "soundcard", .kind = AB_DEV_AUDIO, .owner = R_AUDIO } };

static const ab_metric_desc_t metrics[NM] = {
  [M_RESPONSE] = { "audio.response_ns" },  /* the utterance's end -> the first reply frame played */
  [M_VAD_DELAY] = { "vad.delay_ns" },      /* the script's end -> the VAD decided it */
  [M_VAD_START] = { "vad.start_error_ns" }, /* |detected onset - the script's| */
  [M_VAD_END] = { "vad.end_error_ns" },    /* |detected end - the script's| */
  [M_STT] = { "stt.final_ns" },            /* end decided -> text on the queue */
  [M_LLM] = { "llm.first_ns" },            /* text taken -> first sentence out */
  [M_TTS] = { "tts.first_ns" },            /* first sentence taken -> its first frame out */
  [M_BARGE] = { "audio.barge_in_ns" },     /* the script's onset during a reply -> playback stopped */
  [M_CALLBACK] = { "audio.callback_ns" },  /* one device callback's own time */
  [M_VAD_FRAME] = { "vad.frame_ns" },      /* the VAD's time on one frame */
};

static const char *const counters[NK] = {
  [K_OVERRUNS] = "audio.overruns", [K_OVERRUN_EV] = "audio.overrun_events", [K_UNDERRUNS] = "audio.underruns",
  [K_UNDERRUN_EV] = "audio.underrun_events", [K_CAPTURED] = "audio.captured", [K_PLAYED] = "audio.played",
  [K_BARGES] = "audio.barge_ins", [K_FLUSHED] = "audio.flushed", [K_UTTS] = "vad.utterances",
  [K_MATCHED] = "vad.matched", [K_FALSE] = "vad.false", [K_MISSED] = "vad.missed", [K_TEXTS] = "stt.texts",
  [K_REPLIES] = "llm.replies", [K_LLM_CUT] = "llm.cut", [K_TTS_FRAMES] = "tts.frames", [K_TTS_CUT] = "tts.cut",
  [K_PLAYED_REPLIES] = "audio.replies", [K_UNANSWERED] = "audio.unanswered", [K_TERMINATED] = "shutdown.terminated",
  [K_TALKED_OVER] = "audio.talked_over", [K_DROPPED] = "audio.dropped", [K_OVERRUN_MAX] = "audio.overrun_max",
  [K_UNDERRUN_MAX] = "audio.underrun_max",
};

static const char *const values[NV] = {
  [V_RESP_P50] = "audio.response_p50_ms", [V_RESP_P99] = "audio.response_p99_ms", [V_RESP_MAX] = "audio.response_max_ms",
  [V_VAD_P50] = "vad.delay_p50_ms", [V_BARGE_MAX] = "audio.barge_in_max_ms", [V_SHUTDOWN] = "shutdown.ms",
  [V_QUEUE_US] = "queue.put_get_us", [V_CPU_TOTAL] = "cpu.total_pct", [V_CPU_BUSIEST] = "cpu.busiest_stage_pct",
  [V_REPLIES_MIN] = "audio.replies_per_min", [V_XRUNS] = "audio.xruns",
};

static const ab_req_desc_t reqs[] = {
  { .name = "audio.underruns", .op = AB_LE, .limit = 0 },
  { .name = "audio.overruns", .op = AB_LE, .limit = 0 },
  /* barge-in under 200 ms, judged by the device: no voiced frame played once the user had
   * spoken 200 ms (a run with no barge-in is judged too, where a latency would have no data) */
  { .name = "audio.talked_over", .op = AB_LE, .limit = 0 },
  { .name = "audio.unanswered", .op = AB_LE, .limit = 0 }, /* a voice assistant that never answers fails */
  { .name = "audio.replies", .op = AB_GE, .limit = 1 },    /* a run that played no reply judged nothing */
  { .name = "playback.drops", .op = AB_LE, .limit = 0 },   /* no reply frame lost on its way */
  { .name = "shutdown.ms", .op = AB_LT, .limit = 2000 },
  { .name = "shutdown.terminated", .op = AB_LE, .limit = 0 },
};

/* WORKLOADS.md §4: the document's statements, each with what checks it here. */
static const ab_claim_t claims[] = {
  /* the document's own benchmark: a put then a get, nobody waiting (the micro-benchmarks) */
  { "audio_thread_queue", "a thread queue's put->get costs about 10 us (the primitive alone)", 10, "us",
    "micro:chan-ring/threads/oneway/8", "", AB_ABOUT },
  { "audio_process_queue", "a process queue's put->get costs about 50 us (the primitive alone)", 50, "us",
    "micro:mq/procs/oneway/8", "", AB_ABOUT },
  /* ... and in the pipeline: the capture queue's (a frame every 20 ms), its reader asleep on it */
  { "audio_thread_queue_10us", "a thread queue's put->get costs about 10 us", 10, "us", "queue.put_get_us",
    "arch=threads", AB_ABOUT },
  { "audio_process_queue_50us", "a process queue's put->get costs about 50 us (5x a thread's)", 50, "us",
    "queue.put_get_us", "arch=procs", AB_ABOUT },
  { "audio_threads_one_core", "threads: one core at 100% (the GIL)", 100, "%", "cpu.total_pct", "arch=threads gil",
    AB_ABOUT },
  { "audio_procs_spread", "processes: three cores at 33% each (the busiest stage's share)", 33, "%",
    "cpu.busiest_stage_pct", "arch=procs gil", AB_ABOUT },
  { "audio_same_throughput", "processes give the same total throughput (replies played, procs / threads)", 1, "x",
    "ratio_to:threads:audio.replies_per_min", "arch=procs", AB_ABOUT },
  { "audio_better_latency", "... with better individual latency (response p50, procs / threads)", 1, "x",
    "ratio_to:threads:audio.response_p50_ms", "arch=procs", AB_AT_MOST },
  { "audio_join_2s", "join(timeout=2.0), then terminate: a clean stop takes under 2 s", 2000, "ms", "shutdown.ms", "",
    AB_AT_MOST },
};

const ab_scenario_t ab_scenario_audio = {
  .name = "audio",
  .source = "seeds/002_6b35b54bb08c1d44.txt",
  .summary = "a full-duplex voice pipeline (VAD, STT, LLM, TTS) on a 20 ms sound clock: xruns, barge-in, shutdown",
  .roles = au_roles, .nroles = NR,
  .chans = chans, .nchans = NC,
  .regs = regs, .nregs = NREG,
  .devs = devs, .ndevs = 1,
  .metrics = metrics, .nmetrics = NM,
  .counters = counters, .ncounters = NK,
  .values = values, .nvalues = NV,
  .reqs = reqs, .nreqs = sizeof reqs / sizeof reqs[0],
  .claims = claims, .nclaims = sizeof claims / sizeof claims[0],
  .params = params, .nparams = sizeof params / sizeof params[0],
  .setup = au_setup,
  .finish = au_finish,
  .archs = AB_ARCHS_DEDICATED,
  .offloads = "inline,thread", /* the models on the loop, or each on a thread of its own beside it */
  .table_chain = "audio.response_ns",
  .table_chain_lost = "audio.underruns",
  .sweep_figure = "audio.xruns",
  .stop_grace_ns = 2 * AB_NS_PER_S,
  .bench = { .gil_too = 1, .transports = "shm", .duration_ns = 4 * AB_NS_PER_S }, /* a reply and a barge-in */
};
