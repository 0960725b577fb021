/* Channels: a bounded FIFO of messages from one role to another, and the transports behind
 * it (a struct of function pointers, as wrk does for its sockets).
 *
 *   ring   SPSC ring of `depth` slots in memory: private for threads and the loop, in shared
 *          memory for procs (transport "shm"); large messages are written and read in place;
 *          the consumer sleeps on a futex, or on an eventfd when it must also watch other fds.
 *   pipe   a pipe; header then payload as a byte stream.
 *   unix   an AF_UNIX SOCK_SEQPACKET pair; a message in fragments of at most 64 KiB.
 *   mq     a POSIX message queue (unlinked as soon as opened); fragments of mq_msgsize.
 *   tcp    a loopback TCP connection with TCP_NODELAY; a byte stream like the pipe.
 *
 * Every transport keeps the same shared control block (sent, received, dropped, high-water
 * depth), so depth and drops are measured the same way whatever carries the bytes. The
 * AB_DROP policy drops the message being sent when `depth` messages are in flight (a kernel
 * transport cannot take back one it has queued); AB_BLOCK waits for room.
 *
 * Lifecycle: ab_chan_create in the supervisor (before fork), ab_chan_attach in each role's
 * thread/process with the side it plays (closes what that side does not need), send/recv,
 * ab_chan_destroy in the supervisor after every role has stopped. For a shared channel every
 * process that does not play a side (the supervisor included) attaches AB_SIDE_NONE: an end
 * left open elsewhere hides a dead peer (no EOF, no EPIPE). A private channel (threads, loop)
 * is one struct for both sides: attach only adds the side and never closes anything.
 * A process writing to a pipe channel must ignore SIGPIPE (sockets use MSG_NOSIGNAL).
 */
#ifndef AB_CHAN_H
#define AB_CHAN_H

#include <stdint.h>
#include <sys/types.h>

#include "ab.h"

enum ab_side { AB_SIDE_NONE = 0, AB_SIDE_TX = 1, AB_SIDE_RX = 2, AB_SIDE_BOTH = 3 };

typedef struct ab_chan ab_chan_t;

typedef struct ab_chan_ctl {        /* in shared memory for procs; one line per writer */
  _Alignas(64) uint64_t sent;       /* messages accepted by the transport */
  _Alignas(64) uint64_t received;   /* messages released by the receiver */
  uint32_t space_futex;             /* bumped on a release that finds senders blocked on depth */
  uint32_t space_waiters;
  int32_t rx_held;                  /* receiver: the last recv is not released yet */
  _Alignas(64) uint64_t dropped;
  uint64_t max_depth;
  uint64_t bytes;
  int64_t t_last_sent;              /* t_sent of the last message sent */
  int32_t tx_mode;                  /* sender: how the pending send_begin was served */
  uint32_t tx_lock;                 /* several senders (multi_tx): whose turn it is */
  int32_t tx_owner;                 /* the thread holding it from send_begin to send_end */
  /* the ring's wake-up (here, not in the ring, so that a process which unmapped the ring, the
   * procs supervisor, can still wake its receiver at the stop) */
  _Alignas(64) uint32_t data_seq;   /* futex word: bumped when the producer wakes a sleeper */
  _Alignas(64) uint32_t rx_sleeping; /* consumer: asleep on the futex, on its eventfd, or not */
} ab_chan_ctl_t;

typedef struct ab_transport {
  const char *name;
  int inplace;                                       /* reserve/commit write into the channel */
  int (*create)(ab_chan_t *c);
  void (*attach)(ab_chan_t *c, int side);            /* shared channels only */
  int (*send)(ab_chan_t *c, const ab_msg_t *h, const void *buf); /* in place: reserve+commit */
  void *(*reserve)(ab_chan_t *c, size_t len);        /* NULL: not in place */
  int (*commit)(ab_chan_t *c, const ab_msg_t *h);
  /* timeout_ns: 0 = poll once, < 0 = wait forever. Returns 0 and sets *data, or -EAGAIN
   * (nothing within the timeout), -EPIPE (the sender has gone), -ECANCELED (*stop), other
   * -errno. Once a message has started to arrive the rest is waited for. */
  int (*recv)(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns);
  void (*release)(ab_chan_t *c);                     /* done with the data of the last recv */
  int (*fd)(ab_chan_t *c);                           /* pollable: readable when a message waits */
  /* Before sleeping in poll/epoll on fd(): returns 1 if a message is already there (don't
   * sleep; not armed, no disarm needed). After waking: disarm. NULL for transports whose fd
   * is readiness itself. Only an armed receiver costs the sender a syscall. */
  int (*arm)(ab_chan_t *c);
  void (*disarm)(ab_chan_t *c);
  /* After the run's stop word is set: wake a receiver sleeping on this channel so it sees
   * the stop now rather than at its next slice. NULL: the slice bounds the wait. */
  void (*kick)(ab_chan_t *c);
  void (*destroy)(ab_chan_t *c);
} ab_transport_t;

struct ab_chan {     /* read-only after attach: per-message state lives in ctl (and ring mem) */
  char name[32];
  const ab_transport_t *t;
  size_t msg_max;
  unsigned depth;
  int policy;
  int shared;        /* 1: across processes */
  int want_fd;       /* the receiver sleeps in poll/epoll, not in recv */
  struct ab_arena *arena; /* shared memory carved from here (ab_chan_create_in), else its own */
  int multi_tx;      /* several senders (a role's instances): each send, or send_begin to
                      * send_end, holds ctl->tx_lock, so a message is never interleaved */
  int side;          /* shared: this process's side; private: the union of attached sides */
  ab_chan_ctl_t *ctl;
  /* Set by the runtime (after create, before fork/spawn): while *stop != 0, a send or recv
   * that would wait returns -ECANCELED (checked at least every 50 ms). A channel cancelled
   * in the middle of a message is not usable afterwards. NULL: wait forever. */
  volatile uint32_t *stop;
  int64_t spin_ns;   /* ring: poll this long before sleeping (0: sleep at once) */
  int64_t slice_ns;  /* the longest sleep before looking at *stop (0: AB__SLICE_NS) */
  /* Sender's staging (send_begin on copying transports, and drops) and receiver's buffer
   * (copying transports): mapped at create, touched at attach by the side that uses it,
   * unmapped by the processes that do not. */
  void *staging;
  void *rxbuf;
  int fd[2];         /* kernel transports: [0] read end, [1] write end */
  int live[2];       /* mq: socketpair; the peer's end closing says the other side has gone */
  int efd;           /* ring: eventfd for fd() */
  void *mem;         /* ring: the slots and indices */
  size_t mem_size;
  size_t frag;       /* message transports: fragment size */
};

extern const ab_transport_t ab_transport_ring, ab_transport_pipe, ab_transport_unix,
    ab_transport_mq, ab_transport_tcp;
/* By name ("shm" is the shared ring; "ring" the private one); NULL if unknown. */
const ab_transport_t *ab_transport_find(const char *name);
/* "pipe|unix|mq|shm|tcp": the transports the procs runtime accepts. */
extern const char *const ab_proc_transports[];

int ab_chan_create(ab_chan_t *c, const char *name, const ab_transport_t *t, size_t msg_max,
                   unsigned depth, int policy, int shared, int want_fd);
/* The same with its shared memory (control block, ring) carved from arena (shm.h). */
int ab_chan_create_in(ab_chan_t *c, struct ab_arena *arena, const char *name, const ab_transport_t *t,
                      size_t msg_max, unsigned depth, int policy, int shared, int want_fd);
/* For the transports: the channel's shared (or private) memory, from its arena if it has one. */
void *ab__chan_alloc(ab_chan_t *c, size_t size);
void ab__chan_free(ab_chan_t *c, void *p, size_t size);
void ab_chan_attach(ab_chan_t *c, int side);
void ab_chan_destroy(ab_chan_t *c);
/* What the queue holds in this process's account: its structure, control block, ring,
 * staging and receive buffers (payload included). */
size_t ab_chan_bytes(const ab_chan_t *c);

/* Generic layer: depth/policy accounting, timestamps, sequence numbers.
 * send returns 0, 1 if dropped by policy, or -errno (-EMSGSIZE, -EPIPE: the receiver has
 * gone, -ECANCELED: *stop was set while waiting). seq counts from 1 per channel and a dropped
 * message uses one up, so a gap the receiver sees is a drop. t_sent is stamped once the
 * message is admitted (after any wait for room), at send_end for send_begin/send_end.
 * send_begin returns the transport's slot (in place) or a staging buffer; on a drop or an
 * error it still returns a buffer to fill and send_end reports the outcome (NULL + errno
 * only for len > msg_max). recv returns a pointer valid until release (or the next recv,
 * which releases the previous message itself). */
int ab_chan_send(ab_chan_t *c, const void *buf, size_t len, int64_t t_chain);
void *ab_chan_send_begin(ab_chan_t *c, size_t len);
int ab_chan_send_end(ab_chan_t *c, size_t len, int64_t t_chain);
int ab_chan_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns);
void ab_chan_release(ab_chan_t *c);
int ab_chan_fd(ab_chan_t *c);
int ab_chan_arm(ab_chan_t *c);
void ab_chan_disarm(ab_chan_t *c);
void ab_chan_kick(ab_chan_t *c);

/* Futex helpers shared by the ring, the register and the barrier. wait: timeout relative
 * ns (< 0 forever); 0 when woken, -EAGAIN if *addr != val, -ETIMEDOUT, -EINTR.
 * shared: the word is in memory shared between processes. */
int ab_futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns, int shared);
int ab_futex_wake(uint32_t *addr, int n, int shared);

/* ---- for the transports only (chan.c, ring.c, chan_kernel.c) ------------------------ */
#define AB__HDR sizeof(ab_msg_t)            /* the header as it travels */
#define AB__SLICE_NS (50 * AB_NS_PER_MS)    /* longest sleep before looking at *stop */
static inline int ab__stopped(const ab_chan_t *c)
{
  return c->stop && __atomic_load_n(c->stop, __ATOMIC_RELAXED);
}
/* How long the next sleep may last given an absolute deadline (< 0: none): -1 forever,
 * else ns, capped at the channel's slice (AB__SLICE_NS unless set) when a stop word is set up. */
int64_t ab__sleep_ns(const ab_chan_t *c, int64_t deadline);
/* Write one byte per page, so first-touch faults happen at set-up, not in the run. */
void ab__prefault(void *p, size_t n);

#endif
