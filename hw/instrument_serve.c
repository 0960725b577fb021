/* `archbench mock-instrument`: the mock instrument (hw/instrument_mock.c) on a TCP address of
 * one's choosing, in the foreground, until Ctrl-C or SIGTERM. It is what the real path
 * (--instrument HOST:PORT) can be tried against on a machine with no instrument: the run then
 * reaches it through exactly the code a Red Pitaya would see, and names it by its address.
 *
 *   archbench mock-instrument [--listen HOST:PORT] [--mode serial|overlapped] [--acq 50ms]
 *                             [--set 200us] [--link 100e6] [--samples 16384] [--reject pid|iq|both]
 *
 * It prints "listening on HOST:PORT" (port 0: one the kernel chose) once it accepts, and on
 * leaving what it saw (connections, refusals, commands).
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "instrument_impl.h"
#include "shm.h"

int ab_parse_duration(const char *s, int64_t *ns);

static int bad(const char *opt, const char *v, const char *want)
{
  fprintf(stderr, "archbench: mock-instrument: %s %s: expected %s\n", opt, v ? v : "(nothing)", want);
  return AB_EXIT_USAGE;
}

int ab_mock_instrument_main(int argc, char **argv)
{
  const char *listen_at = "127.0.0.1:0";
  ab_instr_cfg_t cfg = { .mode = AB_INSTR_SERIAL, .acq_ns = 50 * AB_NS_PER_MS, .set_ns = 200 * AB_NS_PER_US,
                         .link_bps = 100e6, .samples = 16384 };
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    if (!strcmp(o, "--listen") && v)
      listen_at = v;
    else if (!strcmp(o, "--mode") && v && (!strcmp(v, "serial") || !strcmp(v, "overlapped")))
      cfg.mode = !strcmp(v, "overlapped");
    else if (!strcmp(o, "--acq") && v && ab_parse_duration(v, &cfg.acq_ns) == 0 && cfg.acq_ns <= 60 * AB_NS_PER_S)
      ;
    else if (!strcmp(o, "--set") && v && ab_parse_duration(v, &cfg.set_ns) == 0 && cfg.set_ns <= AB_NS_PER_S)
      ;
    else if (!strcmp(o, "--link") && v && (cfg.link_bps = strtod(v, &end), !*end) && cfg.link_bps >= 1e3 &&
             cfg.link_bps <= 1e12)
      ;
    else if (!strcmp(o, "--samples") && v && (cfg.samples = (int)strtol(v, &end, 10), !*end) && cfg.samples >= 1 &&
             cfg.samples <= (1 << 20))
      ;
    else if (!strcmp(o, "--reject") && v && (!strcmp(v, "pid") || !strcmp(v, "iq") || !strcmp(v, "both")))
      cfg.reject = !strcmp(v, "pid") ? AB_INSTR_REJECT_PID : !strcmp(v, "iq") ? AB_INSTR_REJECT_IQ
                                                                             : AB_INSTR_REJECT_PID | AB_INSTR_REJECT_IQ;
    else
      return bad(o, v, "--listen HOST:PORT, --mode serial|overlapped, --acq/--set DURATION, --link BITS_PER_S, "
                       "--samples 1..1048576 or --reject pid|iq|both");
    i++;
  }
  const char *colon = strrchr(listen_at, ':');
  char host[96];
  if (!colon || (size_t)(colon - listen_at) >= sizeof host)
    return bad("--listen", listen_at, "HOST:PORT");
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen_at), listen_at);
  char *pend;
  long port = strtol(colon + 1, &pend, 10);
  if (!colon[1] || *pend || port < 0 || port > 65535)
    return bad("--listen", listen_at, "HOST:PORT with a port from 0 (any) to 65535");
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
    return bad("--listen", listen_at, "HOST:PORT with an IPv4 host of this machine and a port");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
    fprintf(stderr, "archbench: mock-instrument: listening on %s: %s\n", listen_at, strerror(errno));
    freeaddrinfo(ai);
    return AB_EXIT_RESOURCE;
  }
  freeaddrinfo(ai);
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  ab__in_truth_t *tr = ab_shm_alloc(sizeof *tr, 1);
  if (!tr)
    return AB_EXIT_RESOURCE;
  tr->cfg = cfg;
  /* The server in a child; this process waits for a signal, then stops it and says what it saw. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  pid_t pid = fork();
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGINT, SIG_IGN);
    _exit(ab__instr_mock_run(fd, tr));
  }
  close(fd);
  printf("listening on %s:%u (mode %s)\n", inet_ntoa(a.sin_addr), ntohs(a.sin_port), cfg.mode ? "overlapped" : "serial");
  fflush(stdout);
  int sig = 0, st = 0;
  sigwait(&set, &sig);
  kill(pid, SIGTERM);
  waitpid(pid, &st, 0);
  printf("served %llu connections, refused %llu, %llu messages, %llu commands, %llu errors\n",
         (unsigned long long)tr->connections, (unsigned long long)tr->refusals, (unsigned long long)tr->messages,
         (unsigned long long)tr->commands, (unsigned long long)tr->errors);
  ab_shm_free(tr, sizeof *tr, 1);
  return sig == SIGINT ? AB_EXIT_INTR : 0;
}
