/* Message queues: POSIX (mq_send/mq_receive, as rt-tests' pmqtest uses them) and System V
 * (msgsnd/msgrcv). One queue per direction. A payload larger than the queue's message size
 * (8 KiB by default for both, /proc/sys/fs/mqueue/msgsize_max and kernel/msgmax) goes as
 * fragments of that size, cut the same way on both sides. POSIX queues are named
 * /archbench-abm-<pid>-<n> for the microseconds between mq_open and mq_unlink; SysV queues
 * are IPC_PRIVATE, outlive the process unless removed, and so are listed while they live:
 * tear-down removes them, and abm_cleanup does on a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#include "abm.h"

static long proc_long(const char *path, long def)
{
  FILE *f = fopen(path, "re");
  long v = def;
  if (f) {
    if (fscanf(f, "%ld", &v) != 1)
      v = def;
    fclose(f);
  }
  return v;
}

/* Fragment size for a payload of n bytes on a queue whose largest message is max. */
static size_t frag_size(size_t n, size_t max)
{
  if (n == 0)
    n = 1;
  return n < max ? n : max;
}

/* ---- POSIX --------------------------------------------------------------------------------- */

typedef struct pmq {
  size_t msgsize;
} pmq_t;

static int pmq_setup(abm_link_t *l)
{
  static unsigned serial;
  pmq_t *q = calloc(1, sizeof *q);
  if (!q)
    return -ENOMEM;
  l->priv = q;
  size_t biggest = l->bytes > l->back ? l->bytes : l->back;
  q->msgsize = frag_size(biggest, (size_t)proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192));
  long maxmsg = proc_long("/proc/sys/fs/mqueue/msg_max", 10);
  struct mq_attr a = { .mq_maxmsg = maxmsg < 10 ? maxmsg : 10, .mq_msgsize = (long)q->msgsize };
  for (int to = 0; to < 2; to++) {
    char name[64];
    snprintf(name, sizeof name, "/archbench-abm-%d-%u", (int)getpid(), serial++);
    mqd_t d = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
    int e = errno;
    mq_unlink(name);
    if (d == (mqd_t)-1)
      return -e;
    l->fd[to] = (int)d;
  }
  return 0;
}

static void pmq_enter(abm_link_t *l, int side) { (void)l; (void)side; }

static ssize_t pmq_put(void *l, int side, char *p, size_t k)
{
  abm_link_t *link = l;
  return mq_send((mqd_t)link->fd[!side], p, k, 0) < 0 ? -1 : (ssize_t)k;
}

/* mq_receive wants room for the queue's largest message: buf has ABM_SLACK bytes beyond
 * n, and the sender cuts the payload the same way, so a fragment fits where it lands. */
static ssize_t pmq_get(void *l, int side, char *p, size_t k)
{
  abm_link_t *link = l;
  (void)k;
  return mq_receive((mqd_t)link->fd[side], p, ((const pmq_t *)link->priv)->msgsize, NULL);
}

static int pmq_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  return abm_pieces(pmq_put, l, side, (void *)buf, n, ((const pmq_t *)l->priv)->msgsize);
}

static int pmq_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  *data = buf;
  return abm_pieces(pmq_get, l, side, buf, n, ((const pmq_t *)l->priv)->msgsize);
}

static void pmq_teardown(abm_link_t *l)
{
  for (int i = 0; i < 2; i++)
    if (l->fd[i] >= 0)
      mq_close((mqd_t)l->fd[i]);
  free(l->priv);
}

static const abm_link_ops_t pmq_ops = {
  .setup = pmq_setup, .enter = pmq_enter, .send = pmq_send, .recv = pmq_recv,
  .teardown = pmq_teardown,
};

/* ---- System V ------------------------------------------------------------------------------ */

/* The SysV queues alive now: a benchmark has two at most, one run at a time. */
static volatile sig_atomic_t smq_live[4] = { -1, -1, -1, -1 };

static void smq_track(int id, int alive)
{
  for (int i = 0; i < 4; i++)
    if (smq_live[i] == (alive ? -1 : id)) {
      smq_live[i] = alive ? id : -1;
      return;
    }
}

void abm_cleanup(void)
{
  for (int i = 0; i < 4; i++)
    if (smq_live[i] >= 0)
      msgctl(smq_live[i], IPC_RMID, NULL);
}

typedef struct smq {
  size_t msgmax;
  int id[2];
} smq_t;

typedef struct smq_msg {
  long mtype;
  char mtext[];
} smq_msg_t;

static int smq_setup(abm_link_t *l)
{
  smq_t *q = calloc(1, sizeof *q);
  if (!q)
    return -ENOMEM;
  l->priv = q;
  q->id[0] = q->id[1] = -1;
  size_t biggest = l->bytes > l->back ? l->bytes : l->back;
  q->msgmax = frag_size(biggest, (size_t)proc_long("/proc/sys/kernel/msgmax", 8192));
  for (int to = 0; to < 2; to++) {
    if ((q->id[to] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
      return -errno;
    smq_track(q->id[to], 1);
  }
  /* msgsnd/msgrcv want the type word in front of the text: a staging message per side. */
  for (int s = 0; s < 2; s++) {
    l->side[s].tmp_size = sizeof(smq_msg_t) + q->msgmax;
    if (!(l->side[s].tmp = abm_alloc(l->side[s].tmp_size)))
      return -errno;
  }
  return 0;
}

static void smq_enter(abm_link_t *l, int side) { (void)l; (void)side; }

/* msgsnd and msgrcv want the type word in front of the text: through the side's staging
 * message. */
static ssize_t smq_put(void *l, int side, char *p, size_t k)
{
  abm_link_t *link = l;
  smq_msg_t *m = link->side[side].tmp;
  m->mtype = 1;
  memcpy(m->mtext, p, k);
  return msgsnd(((const smq_t *)link->priv)->id[!side], m, k, 0) < 0 ? -1 : (ssize_t)k;
}

static ssize_t smq_get(void *l, int side, char *p, size_t k)
{
  abm_link_t *link = l;
  smq_msg_t *m = link->side[side].tmp;
  const smq_t *q = link->priv;
  ssize_t r = msgrcv(q->id[side], m, q->msgmax, 0, 0);
  if (r > (ssize_t)k) {
    errno = EPROTO;
    return -1;
  }
  if (r > 0)
    memcpy(p, m->mtext, (size_t)r);
  return r;
}

static int smq_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  return abm_pieces(smq_put, l, side, (void *)buf, n, ((const smq_t *)l->priv)->msgmax);
}

static int smq_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  *data = buf;
  return abm_pieces(smq_get, l, side, buf, n, ((const smq_t *)l->priv)->msgmax);
}

static void smq_teardown(abm_link_t *l)
{
  smq_t *q = l->priv;
  if (!q)
    return;
  for (int i = 0; i < 2; i++) {
    if (q->id[i] >= 0) {
      msgctl(q->id[i], IPC_RMID, NULL);
      smq_track(q->id[i], 0);
    }
    abm_free(l->side[i].tmp, l->side[i].tmp_size);
  }
  free(q);
}

static const abm_link_ops_t smq_ops = {
  .setup = smq_setup, .enter = smq_enter, .send = smq_send, .recv = smq_recv,
  .teardown = smq_teardown,
};

static const abm_link_def_t defs[] = {
  { "mq", &pmq_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
  { "sysvmq", &smq_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
};

void abm_register_msgq(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
