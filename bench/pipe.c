/* pipe: two pipes, one per direction, blocking, written and read whole (a large payload
 * goes through the 64 KiB pipe buffer in pieces, as any writer's would). pipe/procs/rtt/8
 * is `perf bench sched pipe`: a round trip between two processes. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "abm.h"

/* fd[2 * to + 0] is the read end of the pipe toward side `to`, fd[2 * to + 1] its write end. */
static int pipe_setup(abm_link_t *l)
{
  for (int to = 0; to < 2; to++)
    if (pipe2(&l->fd[2 * to], O_CLOEXEC) < 0)
      return -errno;
  return 0;
}

static void pipe_close(abm_link_t *l, int i)
{
  if (l->fd[i] >= 0)
    close(l->fd[i]);
  l->fd[i] = -1;
}

static void pipe_enter(abm_link_t *l, int side)
{
  if (!l->procs)
    return;
  pipe_close(l, 2 * side + 1);    /* we never write to ourselves */
  pipe_close(l, 2 * !side + 0);   /* nor read what goes to the other side */
}

static int pipe_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  return abm_write_full(l->fd[2 * !side + 1], buf, n);
}

static int pipe_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  *data = buf;
  return abm_read_full(l->fd[2 * side], buf, n);
}

static void pipe_teardown(abm_link_t *l)
{
  for (int i = 0; i < 4; i++)
    pipe_close(l, i);
}

static const abm_link_ops_t pipe_ops = {
  .setup = pipe_setup, .enter = pipe_enter, .send = pipe_send, .recv = pipe_recv,
  .teardown = pipe_teardown,
};

static const abm_link_def_t defs[] = {
  { "pipe", &pipe_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
};

void abm_register_pipe(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
