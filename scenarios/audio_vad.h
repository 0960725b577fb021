/* Voice-activity detection on 20 ms frames of 16 kHz speech: energy against a tracked noise
 * floor, and the zero-crossing rate (voiced speech crosses zero seldom, noise often), with an
 * onset of two speech frames in a row and a hangover that ends an utterance only after
 * `hangover` frames without speech. Pure: no clock, no I/O, so a test can feed it the mock's
 * script and check its boundaries.
 */
#ifndef AB_AUDIO_VAD_H
#define AB_AUDIO_VAD_H

#include <stdint.h>

#define AB_VAD_ONSET 2          /* speech frames in a row that start an utterance */
#define AB_VAD_OVER_FLOOR 12.0  /* dB over the noise floor a speech frame needs ... */
#define AB_VAD_LOUD 30.0        /* ... or this much, whatever its crossings */
#define AB_VAD_ZCR_MAX 0.35     /* crossings per sample above which a frame is noise */
#define AB_VAD_FLOOR_RISE 0.02  /* dB a frame the floor may rise (1 dB/s): noise that grows */

enum ab_vad_event { AB_VAD_NONE = 0, AB_VAD_START, AB_VAD_END };

typedef struct ab_vad {
  int hangover;        /* frames without speech that end an utterance */
  int speaking;
  int run;             /* speech frames in a row (before an onset) */
  int quiet;           /* frames without speech in a row (while speaking) */
  double floor_db;     /* the noise floor */
  uint64_t frames;
  uint64_t first;      /* the utterance's first speech frame */
  uint64_t last;       /* its last speech frame */
} ab_vad_t;

typedef struct ab_vad_frame {
  double energy_db;    /* mean square, dB of full scale */
  double zcr;          /* zero crossings per sample */
  int speech;          /* this frame, alone */
} ab_vad_frame_t;

void ab_vad_init(ab_vad_t *v, int hangover);
/* One frame, number `index`: AB_VAD_START when it completes an onset (the utterance began at
 * frame v->first), AB_VAD_END when it completes a hangover (the utterance's last speech frame
 * was v->last), else AB_VAD_NONE. f (may be NULL) receives the frame's measures. */
int ab_vad_push(ab_vad_t *v, const int16_t *pcm, int n, uint64_t index, ab_vad_frame_t *f);

#endif
