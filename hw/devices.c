/* The table of device kinds, expanded from AB_DEVICES (ab.h), and the roles' device I/O
 * through their context: the handle-level calls of each kind (hw/serial.c, hw/camera.c,
 * hw/franka.c)
 * between ab_block_begin and ab_block_end, so that a runtime can wrap them, after checking
 * that the role owns a device of that kind. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#include "camera.h"
#include "franka.h"
#include "instrument.h"
#include "internal.h"
#include "serial.h"

#define AB__DEV_ENTRY(up, low) [AB_DEV_##up] = &ab_##low##_ops,
static const ab_devops_t *const ab__devops[AB_DEV_N] = { AB_DEVICES(AB__DEV_ENTRY) };

int ab_dev_fail(char *err, int rc, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, AB_ERRLEN, fmt, ap);
    va_end(ap);
  }
  return rc;
}

const ab_devops_t *ab_devops_for(int kind)
{
  return kind > AB_DEV_NONE && kind < AB_DEV_N ? ab__devops[kind] : NULL;
}

int ab_scenario_has_dev(const ab_scenario_t *sc, int kind)
{
  for (int d = 0; d < sc->ndevs; d++)
    if (sc->devs[d].kind == kind)
      return 1;
  return 0;
}

ssize_t ab_serial_write(ab_ctx_t *ctx, const void *buf, size_t len)
{
  if (ab_dev_kind(ctx) != AB_DEV_SERIAL)
    return -ENODEV;
  ab_block_begin(ctx);
  ssize_t r = ab_serial_write_h(ab_dev(ctx), buf, len);
  ab_block_end(ctx);
  return r;
}

ssize_t ab_serial_read(ab_ctx_t *ctx, void *buf, size_t cap)
{
  if (ab_dev_kind(ctx) != AB_DEV_SERIAL)
    return -ENODEV;
  ab_block_begin(ctx);
  ssize_t r = ab_serial_read_h(ab_dev(ctx), buf, cap);
  ab_block_end(ctx);
  return r;
}

int ab_camera_grab(ab_ctx_t *ctx, void *dst, size_t cap, ab_frame_meta_t *meta, int64_t timeout_ns,
                   uint64_t *skipped)
{
  if (ab_dev_kind(ctx) != AB_DEV_CAMERA)
    return -ENODEV;
  ab_block_begin(ctx);
  int r = ab_camera_grab_h(ab_dev(ctx), dst, cap, meta, timeout_ns, skipped);
  ab_block_end(ctx);
  return r;
}

int ab_camera_ready(ab_ctx_t *ctx) { return ab_dev_kind(ctx) == AB_DEV_CAMERA && ab_camera_ready_h(ab_dev(ctx)); }

int ab_franka_recv_state(ab_ctx_t *ctx, ab_franka_state_t *s)
{
  if (ab_dev_kind(ctx) != AB_DEV_FRANKA)
    return -ENODEV;
  ab_block_begin(ctx);
  int r = ab_franka_recv_state_h(ab_dev(ctx), s);
  ab_block_end(ctx);
  return r;
}

int ab_franka_send_cmd(ab_ctx_t *ctx, uint64_t seq, const double tau[AB_FK_JOINTS])
{
  if (ab_dev_kind(ctx) != AB_DEV_FRANKA)
    return -ENODEV;
  ab_block_begin(ctx);
  int r = ab_franka_send_cmd_h(ab_dev(ctx), seq, tau);
  ab_block_end(ctx);
  return r;
}
