/* What the serial device's two files share (hw/serial.c: the device, its backends and the
 * handle I/O; hw/serial_motorsim.c: the simulated controller). Not for anyone else. */
#ifndef AB_SERIAL_IMPL_H
#define AB_SERIAL_IMPL_H

/* Make a terminal 8N1, raw, without flow control, at `baud` when termios knows that rate
 * (otherwise the speed is left alone). 0 or a negative errno. */
int ab__serial_make_raw(int fd, int baud);

#endif
