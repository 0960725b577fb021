/* The machine a result was measured on: kernel, CPU, virtualisation, clock source,
 * frequency governor, scheduler policy of the run; and a process's memory (RSS, PSS). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

static int ab__read_line(const char *path, char *buf, size_t len)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int ok = fgets(buf, (int)len, f) != NULL;
  fclose(f);
  if (!ok)
    return -1;
  buf[strcspn(buf, "\n")] = 0;
  return 0;
}

static void ab__virt(char *out, size_t len)
{
  char buf[256];
  snprintf(out, len, "none");
  FILE *f = fopen("/proc/cpuinfo", "r");
  int hyper = 0;
  while (f && fgets(buf, sizeof buf, f))
    if (!strncmp(buf, "flags", 5) && strstr(buf, " hypervisor")) {
      hyper = 1;
      break;
    }
  if (f)
    fclose(f);
  if (ab__read_line("/sys/class/dmi/id/sys_vendor", buf, sizeof buf) == 0 && hyper)
    snprintf(out, len, "vm:%s", buf);
  else if (hyper)
    snprintf(out, len, "vm");
  if (access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0) {
    if (!strcmp(out, "none")) {
      snprintf(out, len, "container");
    } else {
      size_t n = strlen(out);
      snprintf(out + n, len - n, "+container");
    }
  }
}

void ab_sysinfo(ab_sysinfo_t *s, const ab_run_t *run)
{
  memset(s, 0, sizeof *s);
  struct utsname u;
  if (uname(&u) == 0) {
    snprintf(s->kernel, sizeof s->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(s->host, sizeof s->host, "%s", u.nodename);
  }
  char buf[256];
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(buf, sizeof buf, f))
    if (!strncmp(buf, "model name", 10)) {
      char *c = strchr(buf, ':');
      if (c) {
        c++;
        while (isspace((unsigned char)*c))
          c++;
        c[strcspn(c, "\n")] = 0;
        snprintf(s->cpu, sizeof s->cpu, "%s", c);
      }
      break;
    }
  if (f)
    fclose(f);
  s->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
  ab__virt(s->virt, sizeof s->virt);
  if (ab__read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", s->clocksource,
                    sizeof s->clocksource) < 0)
    snprintf(s->clocksource, sizeof s->clocksource, "unknown");
  if (ab__read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", s->governor, sizeof s->governor) < 0)
    snprintf(s->governor, sizeof s->governor, "unknown");
  snprintf(s->cpus, sizeof s->cpus, "all");
  if (run && run->cpus) {
    size_t n = 0;
    s->cpus[0] = 0;
    for (int c = 0; c < CPU_SETSIZE && n < sizeof s->cpus - 8; c++)
      if (CPU_ISSET(c, run->cpus))
        n += snprintf(s->cpus + n, sizeof s->cpus - n, "%s%d", n ? "," : "", c);
  }
  if (run && run->rt_prio > 0)
    snprintf(s->sched, sizeof s->sched, "SCHED_FIFO:%d", run->rt_prio);
  else
    snprintf(s->sched, sizeof s->sched, "SCHED_OTHER");
}

int ab_mem_pid(int pid, int64_t *rss_kb, int64_t *pss_kb)
{
  char path[64], buf[256];
  int got = 0;
  *rss_kb = *pss_kb = 0;
  snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  while (fgets(buf, sizeof buf, f)) {
    long long v;
    if (sscanf(buf, "Rss: %lld kB", &v) == 1)
      *rss_kb = v, got |= 1;
    else if (sscanf(buf, "Pss: %lld kB", &v) == 1)
      *pss_kb = v, got |= 2;
  }
  fclose(f);
  return got == 3 ? 0 : -ESRCH; /* a process that has exited reads as empty */
}
