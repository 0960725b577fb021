/* Not tests: the helpers of tests/proc.h, which run the archbench binary in a session of its
 * own and check what it leaves behind. The name only matches the Makefile's tests/test_*.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

#define MAX_TEMPS 32
#define MAX_SESSIONS 16

static char temps[MAX_TEMPS][512];
static int ntemps;
static pid_t sessions[MAX_SESSIONS];
static int nsessions;

double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Messages are built by appending; one cut short is still a message. */
__attribute__((format(printf, 3, 4))) static void appendf(char *buf, size_t len, const char *fmt, ...)
{
  size_t o = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + o, len - o, fmt, ap);
  va_end(ap);
}

/* ---- temp dirs and files, sessions: cleaned at exit, whatever happened ------------------------ */

/* path and, when it is a directory (not a link to one), everything below it */
static void rm_tree(const char *path)
{
  struct stat st;
  DIR *d = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(path) : NULL;
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    rm_tree(p);
  }
  closedir(d);
  rmdir(path);
}

void cleanup_now(void)
{
  for (int i = 0; i < nsessions; i++)
    kill(-sessions[i], SIGKILL);
  nsessions = 0;
  for (int i = 0; i < ntemps; i++)
    rm_tree(temps[i]);
  ntemps = 0;
}

const char *temp_path(int dir)
{
  static int registered;
  if (!registered++)
    atexit(cleanup_now);
  ASSERT(ntemps < MAX_TEMPS);
  char *p = temps[ntemps];
  const char *base = getenv("TMPDIR"); /* the runner gives each test a directory of its own */
  snprintf(p, sizeof temps[0], "%s/ab-tmp-XXXXXX", base && *base ? base : "/tmp");
  int fd = -1;
  if (dir ? !mkdtemp(p) : (fd = mkstemp(p)) < 0)
    AB_FAIL("mktemp: %s", strerror(errno));
  if (fd >= 0)
    close(fd);
  ntemps++;
  return p;
}

char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    AB_FAIL("%s: %s", path, strerror(errno));
  size_t cap = 4096, len = 0, n;
  char *s = malloc(cap);
  ASSERT(s != NULL);
  while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) {
      cap *= 2;
      s = realloc(s, cap);
      ASSERT(s != NULL);
    }
  }
  s[len] = 0;
  fclose(f);
  return s;
}

int dir_entries(const char *path, char *names, size_t len)
{
  DIR *d = opendir(path);
  if (!d)
    AB_FAIL("opendir %s: %s", path, strerror(errno));
  int n = 0;
  names[0] = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    appendf(names, len, "%s%s", n ? " " : "", e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

/* ---- /dev/shm, /dev/mqueue ------------------------------------------------------------------- */

static void ipc_list(ipc_snap_t *s)
{
  static const char *const dirs[] = { "/dev/shm", "/dev/mqueue" };
  s->n = 0;
  for (int k = 0; k < 2; k++) {
    DIR *d = opendir(dirs[k]);
    if (!d)
      continue;
    struct dirent *e;
    while ((e = readdir(d)) && s->n < 256)
      if (!strncmp(e->d_name, "archbench-", 10))
        snprintf(s->names[s->n++], sizeof s->names[0], "%s/%s", dirs[k], e->d_name);
    closedir(d);
  }
}

static pid_t ipc_owner(const char *name)
{
  const char *p = strrchr(name, '/') + 1 + strlen("archbench-");
  if (!strncmp(p, "mq-", 3))
    p += 3;
  return (pid_t)strtol(p, NULL, 10);
}

/* ---- running the binary in a session of its own ------------------------------------------------ */

static const char *ab_bin(void)
{
  const char *b = getenv("AB_BIN");
  if (b && *b)
    return b;
  if (access("build/archbench", X_OK) == 0)
    return "build/archbench";
  SKIP("AB_BIN is not set and build/archbench does not exist (run through `make test`)");
  return NULL;
}

const char *micro_bin(void)
{
  static char path[PATH_MAX];
  const char *ab = getenv("AB_BIN");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", ab && *ab ? ab : "build/archbench");
  snprintf(path, sizeof path, "%s/archbench-micro", dirname(tmp));
  return path;
}

/* Under SANITIZE=address|undefined a report on stderr is a bug even when the exit code is
 * one the test accepts (UBSan recovers; an ASan report in a role becomes an exit 1). */
static void assert_no_sanitizer_report(const char *err)
{
  static const char *const marks[] = { "runtime error:", "AddressSanitizer", "LeakSanitizer",
                                       "UndefinedBehaviorSanitizer", "ThreadSanitizer" };
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
    const char *m = strstr(err, marks[i]);
    if (m)
      AB_FAIL("sanitizer report on the run's stderr: \"%.600s\"", m);
  }
}

void start_ab(proc_t *p, const char *const *args)
{
  start_prog(p, ab_bin(), args);
}

void start_prog(proc_t *p, const char *bin, const char *const *args)
{
  const char *argv[40];
  int n = 0;
  argv[n++] = bin;
  for (int i = 0; args[i]; i++) {
    ASSERT(n < 39);
    argv[n++] = args[i];
  }
  argv[n] = NULL;
  memset(p, 0, sizeof *p);
  for (int i = 0; argv[i]; i++)
    appendf(p->cmd, sizeof p->cmd, "%s%s", i ? " " : "", argv[i]);
  ipc_list(&p->ipc);
  /* Orphans of a killed supervisor come to us, to be reaped, not left as zombies for an init
   * that reaps when it pleases. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  p->fo = temp_path(0);
  p->fe = temp_path(0);
  ASSERT(nsessions < MAX_SESSIONS);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    setsid(); /* a new session and process group: what a terminal's job would be */
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core); /* a role killed by a signal must not drop a core in the repo */
    int o = open(p->fo, O_WRONLY | O_TRUNC), e = open(p->fe, O_WRONLY | O_TRUNC);
    int nul = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || nul < 0)
      _exit(125);
    dup2(nul, 0);
    dup2(o, 1);
    dup2(e, 2);
    execv(argv[0], (char *const *)argv);
    _exit(126);
  }
  sessions[nsessions++] = pid;
  p->pid = pid;
}

int wait_ab(proc_t *p, double timeout_s)
{
  double t0 = now_s();
  for (;;) {
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
      p->code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
      p->out = slurp(p->fo);
      p->err = slurp(p->fe);
      ASSERT(p->code != 125 && p->code != 126); /* the exec itself worked */
      assert_no_sanitizer_report(p->err);
      return 1;
    }
    if (now_s() - t0 > timeout_s)
      return 0;
    usleep(5000);
  }
}

void finish_ab(proc_t *p, double timeout_s)
{
  if (!wait_ab(p, timeout_s)) {
    kill(-p->pid, SIGKILL);
    AB_FAIL("`%s` did not exit within %.1f s", p->cmd, timeout_s);
  }
}

void run_ab(proc_t *p, const char *const *args, double timeout_s)
{
  start_ab(p, args);
  finish_ab(p, timeout_s);
}

void run_prog(proc_t *p, const char *bin, const char *const *args, double timeout_s)
{
  start_prog(p, bin, args);
  finish_ab(p, timeout_s);
}

void proc_free(proc_t *p)
{
  free(p->out);
  free(p->err);
  p->out = p->err = NULL;
}

/* ---- /proc: the run's session ------------------------------------------------------------------ */

static int proc_session(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *rp = strrchr(buf, ')');
  char state;
  int ppid, pgrp, sid;
  if (!rp || sscanf(rp + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) != 4)
    return -1;
  return sid;
}

static void read_comm(const char *path, char *comm, size_t len)
{
  snprintf(comm, len, "?");
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  if (fgets(comm, (int)len, f))
    comm[strcspn(comm, "\n")] = 0;
  fclose(f);
}

/* Visit every process of session sid; stops early when fn returns non-zero (returned). */
typedef int (*proc_fn)(pid_t pid, const char *comm, void *arg);

static int session_each(pid_t sid, proc_fn fn, void *arg)
{
  DIR *d = opendir("/proc");
  ASSERT(d != NULL);
  struct dirent *e;
  int r = 0;
  while (!r && (e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || proc_session((pid_t)pid) != sid)
      continue;
    char path[64], comm[32];
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    read_comm(path, comm, sizeof comm);
    r = fn((pid_t)pid, comm, arg);
  }
  closedir(d);
  return r;
}

typedef struct find {
  const char *comm;
  int threads; /* also look at every thread's name */
  pid_t found;
} find_t;

static int find_fn(pid_t pid, const char *comm, void *arg)
{
  find_t *f = arg;
  if (!strcmp(comm, f->comm)) {
    f->found = pid;
    return 1;
  }
  if (!f->threads)
    return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char tp[PATH_MAX], tc[32]; /* room for any entry name: the path cannot be cut short */
    snprintf(tp, sizeof tp, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
    read_comm(tp, tc, sizeof tc);
    if (!strcmp(tc, f->comm)) {
      f->found = pid;
      break;
    }
  }
  closedir(d);
  return f->found != 0;
}

pid_t session_find(pid_t sid, const char *comm, int threads)
{
  find_t f = { comm, threads, 0 };
  session_each(sid, find_fn, &f);
  return f.found;
}

typedef struct pss_sum {
  const char *skip;
  double kb;
  int n;
} pss_sum_t;

static int pss_fn(pid_t pid, const char *comm, void *arg)
{
  pss_sum_t *s = arg;
  if (s->skip && !strcmp(comm, s->skip))
    return 0;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  long long kb;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Pss: %lld kB", &kb) == 1) {
      s->kb += (double)kb;
      s->n++;
    }
  fclose(f);
  return 0;
}

double session_pss_kb(pid_t sid, const char *skip, int *nprocs)
{
  pss_sum_t s = { skip, 0, 0 };
  session_each(sid, pss_fn, &s);
  if (nprocs)
    *nprocs = s.n;
  return s.kb;
}

typedef struct left {
  char desc[1024];
  int n;
} left_t;

static int left_fn(pid_t pid, const char *comm, void *arg)
{
  left_t *l = arg;
  if (waitpid(pid, NULL, WNOHANG) == pid)
    return 0; /* an orphan that had already died: reaped, not left */
  appendf(l->desc, sizeof l->desc, "%s%d(%s)", l->n ? " " : "", (int)pid, comm);
  l->n++;
  return 0;
}

static void assert_session_empty(pid_t sid)
{
  left_t l;
  double t0 = now_s();
  for (;;) {
    memset(&l, 0, sizeof l);
    session_each(sid, left_fn, &l);
    if (!l.n || now_s() - t0 > 3.0)
      break;
    usleep(20000);
  }
  if (l.n)
    AB_FAIL("processes left in the run's session %d after 3 s: %s", (int)sid, l.desc);
}

static void assert_no_new_ipc(const ipc_snap_t *before, pid_t sid)
{
  ipc_snap_t after;
  ipc_list(&after);
  for (int i = 0; i < after.n; i++) {
    int old = 0;
    for (int j = 0; j < before->n && !old; j++)
      old = !strcmp(after.names[i], before->names[j]);
    if (old)
      continue;
    pid_t owner = ipc_owner(after.names[i]);
    if (owner > 0 && owner != sid && kill(owner, 0) == 0 && proc_session(owner) != sid)
      continue;
    AB_FAIL("IPC object left behind by the run: %s", after.names[i]);
  }
}

void assert_nothing_left(const proc_t *p)
{
  assert_session_empty(p->pid);
  assert_no_new_ipc(&p->ipc, p->pid);
}

/* ---- mounts of the test's own --------------------------------------------------------------- */

void private_tmpfs(const char *dir, const char *size, int ro)
{
  static int done;
  if (!done) {
    if (geteuid() != 0)
      SKIP("not root: a private mount namespace is needed");
    if (unshare(CLONE_NEWNS) < 0) {
      if (errno == EPERM || errno == EINVAL || errno == ENOSYS)
        SKIP("unshare(CLONE_NEWNS): %s (a private mount namespace is needed)", strerror(errno));
      AB_FAIL("unshare(CLONE_NEWNS): %s", strerror(errno));
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
      AB_FAIL("making / private: %s", strerror(errno));
    done = 1;
  }
  char opts[64];
  snprintf(opts, sizeof opts, "size=%s,mode=1777", size);
  if (mount("tmpfs", dir, "tmpfs", ro ? MS_RDONLY : 0, opts) < 0)
    AB_FAIL("mount tmpfs (%s) on %s: %s", opts, dir, strerror(errno));
}

int my_children(ab_child_t *kids, int max)
{
  DIR *d = opendir("/proc");
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while (n < max && (e = readdir(d))) {
    char path[300], buf[512];
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *fp = fopen(path, "r");
    if (!fp)
      continue;
    size_t k = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[k] = '\0';
    /* pid (comm) state ppid ... ; comm may hold spaces, so split at the last ')' */
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    ab_child_t c = { (pid_t)atoi(e->d_name), 0, "" };
    int ppid;
    if (!open || !close || close < open || sscanf(close + 1, " %c %d", &c.state, &ppid) != 2 || ppid != getpid())
      continue;
    snprintf(c.comm, sizeof c.comm, "%.*s", (int)(close - open - 1), open + 1);
    kids[n++] = c;
  }
  closedir(d);
  return n;
}

pid_t find_child(const char *comm)
{
  ab_child_t kids[256];
  int n = my_children(kids, 256);
  ASSERT(n >= 0);
  for (int i = 0; i < n; i++)
    if (!strcmp(kids[i].comm, comm))
      return kids[i].pid;
  return 0;
}
