/* The agents' "database": a loopback service in a helper process of its own (not one of the
 * roles, so not in the architecture's costs), serving every connection concurrently:
 *
 *  - QUERY: answered after its service time (service_us), however many are outstanding, as
 *    a database serving requests in parallel would (a timer heap, not a sleep per request);
 *  - PUT / GET: the shared belief cache of --param cache=manager, one 64-byte value per key,
 *    answered at once: a request/reply round trip per access, as Python's mp.Manager().dict();
 *  - a UDP sink that takes and counts datagrams (the agents' "send to a loopback sink").
 *
 * Requests and replies are fixed frames on a TCP connection (one per agent); every field in
 * host order (loopback only).
 */
#ifndef AB_AGENTDB_H
#define AB_AGENTDB_H

#include <stdint.h>

enum { AB_DB_QUERY = 1, AB_DB_PUT = 2, AB_DB_GET = 3 };
#define AB_DB_VAL 64      /* bytes of a cached value */
#define AB_DB_KEYS 16384  /* keys of the cache */

typedef struct ab_db_msg {  /* a request, and its reply (status 0, or -errno) */
  uint32_t op, key;
  uint64_t id;             /* echoed */
  uint32_t service_us;     /* QUERY */
  int32_t status;
  uint8_t val[AB_DB_VAL];  /* PUT's value, GET's answer */
} ab_db_msg_t;

typedef struct ab_db {
  int listen_fd, udp_fd;   /* in the supervisor until the helper has them */
  uint16_t tcp_port, udp_port;
} ab_db_t;

/* Sockets on 127.0.0.1 (ports chosen by the kernel), then the helper process serving them
 * (ab_run_helper); the supervisor closes its copies. 0 or -errno. */
struct ab_run;
int ab_db_start(struct ab_run *run, ab_db_t *db);

/* Client side: a connected TCP socket (blocking, TCP_NODELAY), and a connected UDP one. */
int ab_db_connect(uint16_t port, int udp);
/* One whole frame each way; 0 or -errno (-EPIPE when the service has gone). */
int ab_db_send(int fd, const ab_db_msg_t *m);
int ab_db_recv(int fd, ab_db_msg_t *m);

#endif
