/* Devices: one interface per kind, a real backend and a loopback mock behind it.
 *
 * Two phases, so that a device is opened only by its owner role yet mocks outlive nothing:
 *   prepare  in the supervisor before any role starts: starts the mock (a pty whose far end
 *            is a simulator process, a synthetic camera's prerendered frames) or checks the
 *            real device path; fills `backend` ("mock-pty", "/dev/ttyUSB0", ...).
 *   open     in the owner role's own thread or process; close there too.
 *   release  in the supervisor after every role has stopped: kills and reaps the mock.
 * All return 0 or a negative errno: -ENOENT/-EACCES/-ENODEV for a missing device or
 * permission (CLI exit 3), -ENOTTY/-EINVAL for a path that is the wrong kind of thing (exit 2).
 * `err` receives a one-line message naming the bad value and what was expected.
 */
#ifndef AB_HW_H
#define AB_HW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AB_ERRLEN 256

typedef struct ab_dev_opts {
  const char *serial;  /* --serial DEV or NULL for the mock */
  int baud;            /* 115200 by default */
  const char *camera;  /* --camera /dev/videoN or NULL for the synthetic source */
  int width, height;   /* 1920x1080 by default */
  double fps;          /* 30 by default */
  const char *robot;   /* always NULL: no real robot backend (libfranka is not packaged for Debian) */
  const char *instrument; /* --instrument HOST:PORT (SCPI over TCP) or NULL for the mock */
  const char *audio;   /* --audio PCM (an ALSA PCM) or NULL for the mock clock */
} ab_dev_opts_t;

typedef struct ab_devops {
  const char *kind;
  /* The option that names a real device of this kind ("--serial"), and where its path is
   * kept in ab_dev_opts_t (NULL there: the loopback mock). */
  const char *option;
  size_t path_off;
  /* Why a kind has no real backend, only its mock (NULL: it has one); its option is then
   * never parsed, so its path is always NULL. */
  const char *mock_only;
  /* Supervisor side. `state` is a zeroed block of `state_size` bytes in memory shared by
   * every role (so a forked owner sees what prepare filled in). */
  size_t state_size;
  int (*prepare)(void *state, const ab_dev_opts_t *o, char *err);
  void (*release)(void *state);
  const char *(*backend)(const void *state);
  /* Owner side. */
  int (*open)(void *state, void **handle, char *err);
  int (*fd)(void *handle); /* pollable: readable when the device has data */
  /* At the run's start (t_start, CLOCK_MONOTONIC), after every role is ready: a device with
   * a clock of its own (a camera's frames) starts it from there. May be NULL. */
  void (*start)(void *handle, int64_t t_start);
  void (*close)(void *handle);
} ab_devops_t;

/* Write the message (printf-style) into err (AB_ERRLEN bytes; may be NULL) and return rc:
 * `return ab_dev_fail(err, -ENOENT, "...", ...)`. */
int ab_dev_fail(char *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The path given for a device of this kind (NULL: its mock), as an lvalue. */
static inline const char **ab_dev_path(const ab_devops_t *ops, const ab_dev_opts_t *o)
{
  return (const char **)((char *)o + ops->path_off);
}

extern const ab_devops_t ab_serial_ops;
extern const ab_devops_t ab_camera_ops;
extern const ab_devops_t ab_franka_ops;
extern const ab_devops_t ab_instrument_ops;
extern const ab_devops_t ab_audio_ops;

#endif
