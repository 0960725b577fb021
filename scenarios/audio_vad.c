/* Voice-activity detection (audio_vad.h). */
#include <math.h>
#include <string.h>

#include "audio_vad.h"

void ab_vad_init(ab_vad_t *v, int hangover)
{
  memset(v, 0, sizeof *v);
  v->hangover = hangover > 0 ? hangover : 1;
}

int ab_vad_push(ab_vad_t *v, const int16_t *pcm, int n, uint64_t index, ab_vad_frame_t *f)
{
  double ms = 0;
  int cross = 0;
  for (int i = 0; i < n; i++) {
    ms += (double)pcm[i] * pcm[i];
    cross += i && ((pcm[i] >= 0) != (pcm[i - 1] >= 0));
  }
  ms /= n > 0 ? n * 32768.0 * 32768.0 : 1;
  double db = 10 * log10(ms + 1e-12), zcr = n > 1 ? (double)cross / (n - 1) : 0;
  /* The floor follows the quietest frames down at once and up slowly, so that speech never
   * lifts it far: a minimum tracker. */
  if (!v->frames++ || db < v->floor_db)
    v->floor_db = db;
  else if (!v->speaking)
    v->floor_db += AB_VAD_FLOOR_RISE;
  int speech = (db > v->floor_db + AB_VAD_OVER_FLOOR && zcr < AB_VAD_ZCR_MAX) || db > v->floor_db + AB_VAD_LOUD;
  if (f)
    *f = (ab_vad_frame_t){ db, zcr, speech };
  if (!v->speaking) {
    v->run = speech ? v->run + 1 : 0;
    if (v->run < AB_VAD_ONSET)
      return AB_VAD_NONE;
    v->speaking = 1, v->quiet = 0;
    v->first = index + 1 - AB_VAD_ONSET;
    v->last = index;
    return AB_VAD_START;
  }
  if (speech) {
    v->quiet = 0, v->last = index;
    return AB_VAD_NONE;
  }
  if (++v->quiet < v->hangover)
    return AB_VAD_NONE;
  v->speaking = 0, v->run = 0;
  return AB_VAD_END;
}
