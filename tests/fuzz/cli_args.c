/* Fuzz target: `archbench run ARGS...` as far as the plan (harness/cli.c ab_cli_plan_only):
 * the option parser, the scenario lookup, the --arch/--transport lists and the plan, with
 * nothing created and no run started. The input is the arguments, one per line.
 *
 * Properties: the answer is an exit code of DESIGN.md (0, 2 or 3 here: nothing ran, so never
 * 1 or 130), and the same arguments always give the same answer (no state leaks from one
 * parse into the next).
 */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_ARGS 24
#define MAX_LEN 2048

static int null_fd = -1, err_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  err_fd = dup(2);
  return 0;
}

/* Every refusal prints its one line: not the fuzzer's business, whose own log is on fd 2. */
static int quietly(int argc, char **argv)
{
  fflush(stderr);
  dup2(null_fd, 2);
  int r = ab_cli_plan_only(argc, argv);
  fflush(stderr);
  dup2(err_fd, 2);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > MAX_LEN)
    return 0;
  char buf[MAX_LEN + 1];
  memcpy(buf, data, size);
  buf[size] = 0;
  if (strlen(buf) != size)
    return 0; /* a NUL cannot be in an argument */
  char *argv[MAX_ARGS + 3] = { "archbench", "run" };
  int argc = 2;
  for (char *p = buf, *save = NULL, *tok; argc < MAX_ARGS + 2 && (tok = strtok_r(p, "\n", &save)); p = NULL)
    argv[argc++] = tok;
  argv[argc] = NULL;
  int a = quietly(argc, argv);
  int b = quietly(argc, argv);
  assert(a == 0 || a == AB_EXIT_USAGE || a == AB_EXIT_RESOURCE);
  assert(a == b);
  return 0;
}
