/* Where results go: --out DIR or results/<run-id>/ (with results/latest), checked before
 * anything is created and removed again when nothing landed; and one lock per result file,
 * so two runs writing the same result into one directory cannot replace each other. No
 * fixed path buffers; nothing is written through a symlink planted in the directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* A path the kernel will take: under PATH_MAX with every component under NAME_MAX. */
static int ab__path_fits(const char *path, size_t extra)
{
  if (strlen(path) + extra >= PATH_MAX)
    return 0;
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    if (n > NAME_MAX)
      return 0;
    p += n + (p[n] == '/');
  }
  return 1;
}

/* Would mkdir -p path work, and could we write there? 0, or an exit code after the error.
 * Nothing is created. */
static int ab__check_out(const char *opt, const char *path)
{
  if (!ab__path_fits(path, 64))
    return fprintf(stderr, "archbench: %s %.60s...: path too long (at most %d bytes, %d a component)\n", opt,
                   path, PATH_MAX - 64, NAME_MAX), AB_EXIT_USAGE;
  char *p = strdup(path);
  if (!p)
    return AB_EXIT_RESOURCE;
  struct stat sb;
  /* The deepest part that exists decides: a directory we may write into, or a refusal. */
  for (;;) {
    if (stat(p, &sb) == 0)
      break;
    if (errno != ENOENT) {
      int e = errno;
      fprintf(stderr, "archbench: %s %s: %s\n", opt, path, strerror(e));
      free(p);
      return e == ENOTDIR ? AB_EXIT_USAGE : AB_EXIT_RESOURCE;
    }
    char *slash = strrchr(p, '/');
    while (slash && slash > p && slash[1] == 0) { /* trailing slashes */
      *slash = 0;
      slash = strrchr(p, '/');
    }
    if (!slash) {
      strcpy(p, ".");
    } else if (slash == p) {
      p[1] = 0;
    } else {
      *slash = 0;
    }
  }
  int code = 0;
  if (!S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "archbench: %s %s: %s is not a directory\n", opt, path, p);
    code = AB_EXIT_USAGE;
  } else if (access(p, W_OK | X_OK) < 0) {
    fprintf(stderr, "archbench: %s %s: cannot write into %s: %s\n", opt, path, p, strerror(errno));
    code = AB_EXIT_RESOURCE;
  }
  free(p);
  return code;
}

static int ab__mkdirs(const char *path)
{
  char *buf = strdup(path);
  if (!buf)
    return -ENOMEM;
  int r = 0;
  for (char *p = buf + 1; *p && !r; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        r = -errno;
      *p = '/';
    }
  if (!r && mkdir(buf, 0755) < 0 && errno != EEXIST)
    r = -errno;
  free(buf);
  return r;
}


/* results/<run-id>/ and results/latest pointing at it. */
static int ab__default_out(ab__out_t *out)
{
  int r = ab__mkdirs("results");
  if (r < 0)
    return r;
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  char id[64];
  strftime(id, sizeof id, "%Y%m%d-%H%M%S", &tm);
  for (int k = 1; k < 100; k++) {
    char *o = NULL;
    if ((k == 1 ? asprintf(&o, "results/%s", id) : asprintf(&o, "results/%s-%d", id, k)) < 0)
      return -ENOMEM;
    if (mkdir(o, 0755) == 0) {
      char prev[PATH_MAX];
      ssize_t n = readlink("results/latest", prev, sizeof prev - 1);
      if (n > 0) {
        prev[n] = 0;
        out->prev_latest = strdup(prev);
      }
      unlink("results/latest.tmp");
      if (symlink(o + strlen("results/"), "results/latest.tmp") == 0)
        rename("results/latest.tmp", "results/latest");
      out->dir = o;
      out->created = out->is_default = 1;
      return 0;
    }
    int e = errno;
    free(o);
    if (e != EEXIST)
      return -e;
  }
  return -EEXIST;
}

/* Checked, then created: --out DIR, or results/<run-id>/. Returns 0 or an exit code. */
int ab_outdir_make(const char *outdir, ab__out_t *out)
{
  memset(out, 0, sizeof *out);
  int r = ab__check_out(outdir ? "--out" : "results/", outdir ? outdir : "results");
  if (r)
    return r;
  if (!outdir) {
    if ((r = ab__default_out(out)) < 0) {
      fprintf(stderr, "archbench: results/: %s\n", strerror(-r));
      return AB_EXIT_RESOURCE;
    }
    return 0;
  }
  struct stat sb;
  out->created = stat(outdir, &sb) < 0;
  if ((r = ab__mkdirs(outdir)) < 0) {
    fprintf(stderr, "archbench: --out %s: %s\n", outdir, strerror(-r));
    return r == -ENOTDIR || r == -EEXIST ? AB_EXIT_USAGE : AB_EXIT_RESOURCE;
  }
  out->dir = strdup(outdir);
  return out->dir ? 0 : AB_EXIT_RESOURCE;
}

/* No result landed (every run refused at set-up): the directory we made goes again, and
 * results/latest points where it did, so the last real results stay in view. */
void ab_outdir_done(ab__out_t *out)
{
  if (out->created && rmdir(out->dir) == 0 && out->is_default) {
    if (out->prev_latest) {
      unlink("results/latest.tmp");
      if (symlink(out->prev_latest, "results/latest.tmp") == 0)
        rename("results/latest.tmp", "results/latest");
    } else {
      unlink("results/latest");
    }
  }
  free(out->dir);
  free(out->prev_latest);
  memset(out, 0, sizeof *out);
}

/* ---- result locks ---------------------------------------------------------------------------- */

/* <result>.lock, flock'ed for the run and removed after. The lock is only ours if the name
 * still leads to the file we locked (another run may have removed and re-created it). */
int ab_result_lock(const char *result, int *fd_out)
{
  char *path = NULL;
  if (asprintf(&path, "%s.lock", result) < 0)
    return AB_EXIT_RESOURCE;
  for (;;) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) { /* ELOOP: a symlink planted there, which we never follow */
      fprintf(stderr, "archbench: %s: %s\n", path, strerror(errno));
      free(path);
      return AB_EXIT_RESOURCE;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      char pid[32] = "";
      ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      pid[n > 0 ? n : 0] = 0;
      pid[strcspn(pid, "\n")] = 0;
      fprintf(stderr, "archbench: %s is being written by another run (pid %s); choose another --out\n", result,
              pid[0] ? pid : "?");
      close(fd);
      free(path);
      return AB_EXIT_RESOURCE;
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      char pid[32];
      int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
      if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, n, 0) != n)
        pid[0] = 0; /* the pid is only a courtesy to whoever is refused */
      free(path);
      *fd_out = fd;
      return 0;
    }
    close(fd); /* removed under us: take the new one */
  }
}

void ab_result_unlock(const char *result, int fd)
{
  if (fd < 0)
    return;
  char *path = NULL;
  if (asprintf(&path, "%s.lock", result) >= 0) {
    unlink(path); /* while still held: nobody can be refused by a dead lock */
    free(path);
  }
  close(fd);
}

