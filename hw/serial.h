/* Serial link to a motor controller: libserialport for a real port (--serial DEV), or a
 * pseudo-terminal whose far end is a simulated controller speaking hw/motor_proto.h and
 * replying after the real wire time at the configured baud (10 bits a byte for 8N1).
 *
 * The simulator serialises requests on the line (one starts when first seen or when the
 * previous one has finished), adds AB_MOTORSIM_PROC_NS, then the reply's own wire time, and
 * moves each joint toward its target at AB_MOTORSIM_URAD_PER_S of real elapsed time.
 */
#ifndef AB_SERIAL_H
#define AB_SERIAL_H

#include "ab.h"
#include "hw.h"

typedef struct ab_serial ab_serial_t;

#define AB_SERIAL_DEFAULT_BAUD 115200 /* when ab_dev_opts_t.baud is 0 */
#define AB_MOTORSIM_PROC_NS 50000LL     /* request fully received -> reply starts */
#define AB_MOTORSIM_URAD_PER_S 2e6      /* joint speed: 2 rad/s */

/* Owner-side I/O on a handle returned by ab_serial_ops.open. write writes all of it (the
 * link is slow; it may block for the kernel buffer only); read is non-blocking and returns
 * 0 when nothing is waiting, -EIO once the mock's far end has hung up. Both return a
 * negative errno on failure. */
ssize_t ab_serial_write_h(ab_serial_t *s, const void *buf, size_t len);
ssize_t ab_serial_read_h(ab_serial_t *s, void *buf, size_t cap);
/* The same from a role, on the serial device it owns, through its context (marked as
 * blocking, so a runtime can wrap it); -ENODEV if the role owns no serial device. */
ssize_t ab_serial_write(ab_ctx_t *ctx, const void *buf, size_t len);
ssize_t ab_serial_read(ab_ctx_t *ctx, void *buf, size_t cap);
int ab_serial_baud(const ab_serial_t *s);
/* Nanoseconds a byte (n bytes) takes on the wire at `baud`, 8N1. */
static inline int64_t ab_serial_byte_ns(int baud) { return 10LL * 1000000000LL / baud; }
static inline int64_t ab_serial_wire_ns(size_t n, int baud)
{
  return (int64_t)n * 10LL * 1000000000LL / baud;
}

/* The simulator alone, for tests and the micro-benchmarks: runs the controller on `fd`
 * (a pty master) until it reads EOF or gets SIGTERM; returns 0 or a negative errno. On a
 * pty master it holds the slave open itself (and makes it raw), so a host that closes and
 * reopens the slave finds the controller still there; it then ends only by SIGTERM. It
 * installs a SIGTERM handler for its duration, so run it in a process of its own. */
int ab_motorsim_run(int fd, int baud);

#endif
