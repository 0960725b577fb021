/* The audio scenario's parts (scenarios/audio.c: the stages; scenarios/audio_run.c: the
 * script, set-up and finish, and the descriptor's tables).
 */
#ifndef AB_AUDIO_SC_H
#define AB_AUDIO_SC_H

#include <stdint.h>

#include "ab.h"
#include "audio.h"

enum { R_AUDIO, R_VAD, R_STT, R_LLM, R_TTS, NR };
enum { CH_MIC, CH_SPEECH, CH_TEXT, CH_SENT, CH_PCM, NC };
enum { REG_SPEAKING, NREG };
enum { D_AUDIO };
enum {
  M_RESPONSE, M_VAD_DELAY, M_VAD_START, M_VAD_END, M_STT, M_LLM, M_TTS, M_BARGE, M_CALLBACK, M_VAD_FRAME, NM
};
enum {
  K_OVERRUNS, K_OVERRUN_EV, K_UNDERRUNS, K_UNDERRUN_EV, K_CAPTURED, K_PLAYED, K_BARGES, K_FLUSHED,
  K_UTTS, K_MATCHED, K_FALSE, K_MISSED, K_TEXTS, K_REPLIES, K_LLM_CUT, K_TTS_FRAMES, K_TTS_CUT, K_PLAYED_REPLIES,
  K_UNANSWERED, K_TERMINATED, K_TALKED_OVER, K_DROPPED, K_OVERRUN_MAX, K_UNDERRUN_MAX, NK
};
enum {
  V_RESP_P50, V_RESP_P99, V_RESP_MAX, V_VAD_P50, V_BARGE_MAX, V_SHUTDOWN, V_QUEUE_US, V_CPU_TOTAL, V_CPU_BUSIEST,
  V_REPLIES_MIN, V_XRUNS, NV
};

#define SENT_TEXT 96
#define BARGE_NS (200 * AB_NS_PER_MS) /* playing on this long into the user's speech talks over them */
#define RING_FRAMES 1024 /* the playback queue in the audio role: 20 s of speech */

/* audio -> vad: one captured period */
typedef struct mic {
  uint64_t index;
  int64_t t_capture;
  int16_t pcm[AB_AUDIO_FRAME];
} mic_t;

/* vad -> stt: a frame of an utterance, or its end */
enum { SP_FRAME, SP_END };
typedef struct speech {
  int32_t kind, utt;
  int64_t t_ref;     /* SP_END: the utterance's end as the reference (the script's, else detected) */
  int64_t t_detect;  /* SP_END: when the end was decided */
  int32_t nframes;
  int16_t pcm[AB_AUDIO_FRAME];
} speech_t;

/* stt -> llm: the text queue's item */
typedef struct text {
  int32_t utt, nframes;
  int64_t t_ref;
  char text[SENT_TEXT];
} text_t;

/* llm -> tts: one sentence of the reply */
typedef struct sent {
  int32_t utt, i, n;
  int64_t t_ref;
  char text[SENT_TEXT];
} sent_t;

/* tts -> audio: one period of the reply's speech */
typedef struct pcmf {
  int32_t utt, i, more;
  int64_t t_ref;
  int16_t pcm[AB_AUDIO_FRAME];
} pcmf_t;

/* The user_speaking register: raised at an onset, lowered at the end of the utterance. */
typedef struct speaking {
  int64_t on, utt;
  int64_t t_detect;  /* when the VAD decided */
  int64_t t_truth;   /* the script's onset (else the detected one) */
} speaking_t;

/* Shared by every stage (ab_run_shared), written in set-up, read-only after but for t_fini. */
typedef struct cfg {
  int64_t stt, stt_final, llm_first, llm_next, tts, sentence, hang_for;
  double stt_gil, llm_gil, tts_gil;
  int sentences, hangover, hang; /* hang: the role that ignores running, or -1 */
  int has_truth;
  ab_audio_script_t script;      /* the mock's (has_truth) */
  int64_t t_fini_begun[NR];      /* when each stage's fini began (0: it never did) */
  int64_t t_fini[NR];            /* when each stage's fini ended (0: it never did) */
  int64_t answer_by;             /* a reply owed starts playing within this of the end */
  /* Per utterance (its number from 1, as the VAD counts them; later ones are not followed):
   * when its onset and its end were decided, and when its reply's first frame played. */
  int64_t utt_onset[AB_AUDIO_MAX_UTT + 1], utt_end[AB_AUDIO_MAX_UTT + 1], utt_played[AB_AUDIO_MAX_UTT + 1];
} cfg_t;

/* Calibrated work, `gil` of it holding the GIL (Python code) and the rest without (a native
 * library's: numpy, an inference runtime). */
void au_work(ab_ctx_t *ctx, int64_t ns, double gil);
/* The script's utterance nearest to a detected onset (within 1 s), or -1. */
int au_match(const cfg_t *g, int64_t start_rel);

/* Utterances owed a reply that did not get one in time: those the user did not follow with
 * another onset within answer_by of their end, whose answer_by ended by t_end, and whose
 * reply had not started playing by then. */
int au_unanswered(const cfg_t *g, int64_t t_end);

extern const ab_role_desc_t au_roles[NR];
int au_setup(ab_run_t *run);
int au_finish(ab_run_t *run);

#endif
