/* The audio device: full-duplex capture and playback at 16 kHz mono S16_LE in 20 ms periods
 * (320 frames), as a voice assistant's sound card. Two backends behind one interface:
 *   real  --audio PCM: an ALSA PCM through alsa-lib (hw/audio_alsa.c), "default", "hw:0,0",
 *         or any PCM of the ALSA configuration; capture and playback both open on it. An
 *         xrun is -EPIPE from snd_pcm_readi/writei: counted (an overrun on capture, an
 *         underrun on playback) and recovered. The result names the PCM.
 *   mock  the default ("mock-clock"): a capture clock every 20 ms (a timerfd from the run's
 *         start) plays a deterministic script of speech and silence (voiced sound: harmonics
 *         under a moving envelope plus noise; silence: low noise), and a playback clock on
 *         the same ticks drains one frame a tick. The script's utterances are known, so every
 *         latency has a ground truth (the script given to ab_audio_config).
 *   A PCM without a clock of its own (ALSA's null) is never paced: its capture is always
 *   ready, so frames come as fast as they are read; it exercises the path, not timing.
 *
 * Both keep a device buffer of `periods` periods each way. Capture: a frame not read before
 * the buffer is full again is lost, an overrun (with periods=1, a frame not taken before the
 * next one arrives). Playback: the app writes ahead up to `periods` frames; a tick that finds
 * the buffer empty while a reply is playing (the last frame played said more follows) is an
 * underrun. Idle playback (no reply) is silence and never an underrun; on ALSA the app writes
 * silence frames (more = 0) to keep the stream running, as a duplex callback fills zeros.
 */
#ifndef AB_AUDIO_H
#define AB_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "ab.h"
#include "hw.h"

#define AB_AUDIO_RATE 16000
#define AB_AUDIO_FRAME 320 /* samples in a 20 ms period */
#define AB_AUDIO_PERIOD_NS (20 * AB_NS_PER_MS)
#define AB_AUDIO_MAX_PERIODS 32
#define AB_AUDIO_MAX_UTT 256

/* One utterance of the mock's script: start and end, ns from the clock's start (t_start). */
typedef struct ab_audio_utt {
  int64_t start, end;
  double f0;    /* its pitch, Hz */
} ab_audio_utt_t;

typedef struct ab_audio_script {
  int n;
  ab_audio_utt_t utt[AB_AUDIO_MAX_UTT];
} ab_audio_script_t;

typedef struct ab_audio_cfg {
  int periods;          /* device buffer, each way (1..AB_AUDIO_MAX_PERIODS) */
  double speech_level;  /* mock: the voice's peak amplitude, 0..1 of full scale */
  double noise_level;   /* mock: the noise's RMS, 0..1 of full scale */
  int64_t barge_ns;     /* mock: how long into the user's speech playing on is talking over */
  int64_t window_ns;    /* mock: ticks are judged up to the run's window from the start (0: no end) */
  ab_audio_script_t script; /* mock: what the capture clock plays */
} ab_audio_cfg_t;

/* What the device saw, both backends (counted by the owner, read after the run). */
typedef struct ab_audio_stats {
  uint64_t captured;        /* frames read by the app */
  uint64_t overruns;        /* capture periods lost (mock: exact; ALSA: an estimate, the buffer
                             * prepare discards plus the periods since it filled) */
  uint64_t overrun_events;  /* xruns on capture */
  uint64_t played;          /* frames the playback clock took */
  uint64_t underruns;       /* ticks with nothing to play while a reply was playing */
  uint64_t underrun_events; /* runs of such ticks (ALSA: -EPIPE on playback while a reply played) */
  uint64_t dropped;         /* frames flushed from the playback buffer (ab_audio_drop) */
  uint64_t overrun_max, underrun_max; /* frames in the longest xrun of each kind */
  uint64_t talked_over;     /* mock: voiced frames played while the script's user had been
                             * speaking for more than barge_ns (the assistant talked over them) */
} ab_audio_stats_t;

/* Supervisor, after prepare and before the run. 0, or -EINVAL for a value out of range. On a
 * real PCM only `periods` applies. */
int ab_audio_config(void *state, const ab_audio_cfg_t *cfg);
/* Supervisor, after the run. */
int ab_audio_stats(const void *state, ab_audio_stats_t *out);
/* 1 for the mock, whose script is the ground truth (a real PCM has none). */
int ab_audio_is_mock(const void *state);

/* The mock's sound: the samples of frame `index` (the frame whose last sample arrives at
 * t_start + (index + 1) * 20 ms) of the script, deterministic in (cfg, index). */
void ab_audio_mock_frame(const ab_audio_cfg_t *cfg, uint64_t index, int16_t out[AB_AUDIO_FRAME]);

/* A voiced sound: `n` samples of harmonics of f0 (with a vowel's formant weighting) under an
 * amplitude `amp` (0..1), continuing from *phase (radians, updated). Real synthesis, used by
 * the mock's speech and by the scenario's text-to-speech. */
void ab_audio_voice(int16_t *out, int n, double f0, double amp, double *phase);

/* ---- owner side: handle-level calls (the role's are below, through its context) ---------- */

/* The next captured frame: 1 with pcm filled, *t_capture the time its last sample arrived
 * and *index its number since the start; 0 if none is ready; -errno on failure. */
int ab_audio_read_h(void *h, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index);
/* Queue one frame for playback: 1 written, with *t_play when the clock will start playing
 * it; 0 when the device buffer is full; -errno. more: a reply continues after this frame. */
int ab_audio_write_h(void *h, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play);
/* Frames the device buffer takes now. */
int ab_audio_space_h(void *h);
/* Stop playback now: everything queued is flushed (barge-in). Returns the frames flushed. */
int ab_audio_drop_h(void *h);

/* The same from the owner role, between ab_block_begin/end (a runtime may wrap them). */
int ab_audio_read(ab_ctx_t *ctx, int16_t pcm[AB_AUDIO_FRAME], int64_t *t_capture, uint64_t *index);
int ab_audio_write(ab_ctx_t *ctx, const int16_t pcm[AB_AUDIO_FRAME], int more, int64_t *t_play);
int ab_audio_space(ab_ctx_t *ctx);
int ab_audio_drop(ab_ctx_t *ctx);

#endif
