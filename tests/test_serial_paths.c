/* Tests of the checks the serial device (hw/serial.c) makes on a --serial path and a baud
 * rate before anything is opened: a missing path, /dev/null, a regular file, no permission,
 * a bad baud, each an error naming what was wrong. The device itself is tested in
 * tests/test_serial.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "serial.h"
#include "shm.h"
#include "test.h"

/* ---- --serial paths --------------------------------------------------------------------- */

static int prepare_path(const char *path, char *err)
{
  void *st = ab_shm_alloc(ab_serial_ops.state_size, 1);
  ASSERT(st != NULL);
  ab_dev_opts_t o = { .serial = path, .baud = 115200 };
  int rc = ab_serial_ops.prepare(st, &o, err);
  ab_serial_ops.release(st);
  ab_shm_free(st, ab_serial_ops.state_size, 1);
  return rc;
}

TEST(serial_path_missing_is_enoent_naming_the_path)
{
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(prepare_path("/dev/ttyUSB-archbench-missing", err), -ENOENT);
  ASSERT_CONTAINS(err, "/dev/ttyUSB-archbench-missing");
  ASSERT_CONTAINS(err, "No such file or directory");
  ASSERT_CONTAINS(err, "expected a serial port");
}

TEST(serial_path_dev_null_is_enotty_naming_the_path)
{
  char err[AB_ERRLEN] = "";
  ASSERT_EQ(prepare_path("/dev/null", err), -ENOTTY);
  ASSERT_CONTAINS(err, "/dev/null");
  ASSERT_CONTAINS(err, "not a terminal");
  ASSERT_CONTAINS(err, "expected a serial port");
}

TEST(serial_path_regular_file_is_enotty_naming_the_path)
{
  char path[] = "/tmp/ab-serial-file-XXXXXX", err[AB_ERRLEN] = "";
  int fd = mkstemp(path);
  ASSERT_INT(fd, >=, 0);
  close(fd);
  int rc = prepare_path(path, err);
  unlink(path);
  ASSERT_EQ(rc, -ENOTTY);
  ASSERT_CONTAINS(err, path);
  ASSERT_CONTAINS(err, "not a character device");
}

TEST(serial_path_without_permission_is_eacces_naming_it)
{
  char dir[] = "/tmp/ab-serial-perm-XXXXXX", path[PATH_MAX];
  ASSERT(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/ttyS0", dir);
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  ASSERT_INT(fd, >=, 0);
  close(fd);
  ASSERT_EQ(chmod(dir, 0), 0);
  /* Root reads through any mode bits, so ask as nobody, in a child we can throw away. */
  pid_t pid = fork();
  ASSERT_INT(pid, >=, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
      _exit(2);
    char err[AB_ERRLEN] = "";
    int rc = prepare_path(path, err);
    if (rc != -EACCES || !strstr(err, path)) {
      fprintf(stderr, "prepare(%s): %d (%s), expected %d naming the path\n", path, rc, err, -EACCES);
      _exit(1);
    }
    _exit(0);
  }
  int st;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  chmod(dir, 0700);
  unlink(path);
  rmdir(dir);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

TEST(serial_bad_baud_is_einval_naming_the_value)
{
  char err[AB_ERRLEN] = "";
  void *st = ab_shm_alloc(ab_serial_ops.state_size, 1);
  ab_dev_opts_t o = { .serial = NULL, .baud = -5 };
  ASSERT_EQ(ab_serial_ops.prepare(st, &o, err), -EINVAL);
  ASSERT_CONTAINS(err, "-5");
  ab_serial_ops.release(st);
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1); /* no simulator was started */
  ab_shm_free(st, ab_serial_ops.state_size, 1);
}
