/* Running the archbench binaries (or a script) from a test, as a user would, and checking
 * what they leave behind. Shared by tests/test_cli.c, test_e2e.c and test_micro.c; the code
 * is in tests/test_proc.c (named test_*.c so that the Makefile's wildcard builds it; it
 * holds no TEST).
 *
 * Every run gets a session of its own (setsid), so that all its descendants can be found by
 * session id in /proc, and its stdout and stderr go to temporary files. Temporary paths are
 * removed and every started session is SIGKILLed by cleanup_now, and when the test process
 * exits, whatever happened: a failed assertion must not leave a 30 s run behind.
 */
#ifndef AB_TEST_PROC_H
#define AB_TEST_PROC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* A NULL-terminated list of strings: L("run", "robot"). */
#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The archbench IPC names in /dev/shm and /dev/mqueue: /archbench-<pid>-<n> (shm),
 * /archbench-mq-<pid>-<n> (mq). Sized so that no directory entry can be cut short. */
typedef struct ipc_snap {
  char names[256][sizeof "/dev/mqueue/" + NAME_MAX];
  int n;
} ipc_snap_t;

typedef struct proc {
  pid_t pid;           /* also the session and process group id */
  const char *fo, *fe; /* the files that capture stdout and stderr */
  int code;            /* exit code, or -signal when killed by one (130 is an exit, not SIGINT) */
  char *out, *err;     /* what it wrote, once it has exited */
  char cmd[1024];      /* its command line, for messages */
  ipc_snap_t ipc;      /* the IPC names that existed before it started */
} proc_t;

/* CLOCK_MONOTONIC, in seconds. */
double now_s(void);

/* A fresh $TMPDIR/ab-tmp-XXXXXX (the runner gives each test a TMPDIR of its own): a directory
 * when dir, else an empty file; removed, with all below it, by cleanup_now or at exit. */
const char *temp_path(int dir);

/* Kill every session start_ab started and remove every temporary path, as at exit. A test
 * that passes ends in the runner's _exit(0), which runs no atexit handler: a helper that made
 * temporary paths or started runs calls this when it is done with them. */
void cleanup_now(void);

/* The whole file as a malloc'd string; fails the test if it cannot be read. */
char *slurp(const char *path);

/* The number of entries of directory path but . and .., their names put into names
 * (space-separated, cut short to len); fails the test if path cannot be opened. */
int dir_entries(const char *path, char *names, size_t len);

/* Start $AB_BIN (else build/archbench; the test skips without either) with args in a new
 * session, stdin /dev/null, stdout and stderr captured; p->ipc is snapshotted first. */
void start_ab(proc_t *p, const char *const *args);

/* The same for any program bin (a path: no search of PATH). */
void start_prog(proc_t *p, const char *bin, const char *const *args);

/* Wait up to timeout_s for the exit: 1 once it came (code, out and err filled in, and no
 * sanitizer report on stderr), 0 if it did not (the run is left running). */
int wait_ab(proc_t *p, double timeout_s);

/* Wait up to timeout_s for the exit; if it does not come, kill the session and fail. */
void finish_ab(proc_t *p, double timeout_s);

/* start_ab (or start_prog), then finish_ab. */
void run_ab(proc_t *p, const char *const *args, double timeout_s);
void run_prog(proc_t *p, const char *bin, const char *const *args, double timeout_s);

/* archbench-micro beside $AB_BIN (else build/archbench-micro), for start_prog and run_prog. */
const char *micro_bin(void);

/* Free what wait_ab captured. */
void proc_free(proc_t *p);

/* The process of session sid named comm (threads: also the process holding a thread so
 * named), or 0. */
pid_t session_find(pid_t sid, const char *comm, int threads);

/* This process's children by /proc, alive or not yet reaped (the runner's leftovers, a
 * helper not otherwise visible): up to max into kids; their count, -1 without /proc. */
typedef struct {
  pid_t pid;
  char state;    /* R, S, Z, ... */
  char comm[32];
} ab_child_t;
int my_children(ab_child_t *kids, int max);

/* The child of this process named comm, by /proc, or 0. */
pid_t find_child(const char *comm);

/* From here on this test process (and what it starts) has mounts of its own, and a tmpfs
 * of `size` (mount's size= syntax) is mounted at dir, read-only if ro. Skips when the
 * machine does not allow it (not root, no namespaces). */
void private_tmpfs(const char *dir, const char *size, int ro);

/* The PSS of every process of session sid but those named skip (NULL: none), summed from
 * /proc/<pid>/smaps_rollup back to back; *nprocs (may be NULL) gets how many were read. */
double session_pss_kb(pid_t sid, const char *skip, int *nprocs);

/* Fail unless the run p, which has exited, left nothing behind: no process in its session
 * after 3 s, no IPC name that was not in p->ipc (one whose creator is alive outside the
 * session is another run on this machine, not ours). */
void assert_nothing_left(const proc_t *p);

#endif
