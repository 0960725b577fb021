/* Spawn cost: what it takes to start (and collect) a thread or a process, the price a
 * runtime pays per role at set-up (the start barrier keeps it out of the scenario figures).
 *
 *   spawn/threads/create-join     pthread_create of an empty thread, then pthread_join
 *   spawn/procs/fork-wait         fork, the child _exits at once, waitpid
 *   spawn/procs/posix_spawn-wait  posix_spawn of /bin/true, waitpid
 * fork's cost grows with the parent's mappings: this process is small between benchmarks.
 * Each operation is timed into the histogram (counters p50_ns...).
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abm.h"
#include "shm.h"

extern char **environ;

enum { SP_THREAD, SP_FORK, SP_SPAWN };

static void *nothing(void *arg) { return arg; }

static int spawn_one(int how)
{
  pid_t pid;
  int st;
  if (how == SP_THREAD) {
    pthread_t th;
    int r = pthread_create(&th, NULL, nothing, NULL);
    return r ? -r : -pthread_join(th, NULL);
  }
  if (how == SP_FORK) {
    pid = fork();
    if (pid < 0)
      return -errno;
    if (pid == 0)
      _exit(0);
  } else {
    char *argv[] = { (char *)"/bin/true", NULL };
    int r = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (r)
      return -r;
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -errno;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static void spawn_bench(ab_gb_state_t *st, void *arg)
{
  int how = (int)(intptr_t)arg, e = 0;
  ab_hist_t *h = ab_shm_alloc(sizeof *h, 0);
  if (!h) {
    abm_skip(st, "histogram", errno);
    return;
  }
  ab_hist_init(h);
  int64_t t_prev = ab_now_ns();
  while (ab_gb_loop(st)) {
    if ((e = spawn_one(how)) < 0)
      break;
    int64_t t = ab_now_ns();
    ab_hist_record(h, t - t_prev);
    t_prev = t;
  }
  if (e < 0)
    abm_skip(st, how == SP_THREAD ? "pthread_create" : how == SP_FORK ? "fork" : "posix_spawn", e);
  else
    abm_report_hist(st, h);
  ab_gb_items(st, ab_gb_iterations_done(st));
  ab_shm_free(h, sizeof *h, 0);
}

void abm_register_spawn(void)
{
  ab_gb_register("spawn/threads/create-join", spawn_bench, (void *)(intptr_t)SP_THREAD);
  ab_gb_register("spawn/procs/fork-wait", spawn_bench, (void *)(intptr_t)SP_FORK);
  ab_gb_register("spawn/procs/posix_spawn-wait", spawn_bench, (void *)(intptr_t)SP_SPAWN);
}
