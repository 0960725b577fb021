/* The machine a result was measured on: kernel, CPU, virtualisation, clock source,
 * frequency governor, scheduler policy of the run; and a process's memory (RSS, PSS). */
#include <ctype.h>
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
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%scontainer", strcmp(out, "none") ? "+" : "");
    if (!strncmp(out, "none+", 5))
      memmove(out, out + 5, strlen(out + 5) + 1);
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
  if (run && run->rt_prio > 0)
    snprintf(s->sched, sizeof s->sched, "SCHED_FIFO:%d", run->rt_prio);
  else
    snprintf(s->sched, sizeof s->sched, "SCHED_OTHER");
}

int ab_mem_self(int64_t *rss_kb, int64_t *pss_kb)
{
  char buf[256];
  *rss_kb = *pss_kb = 0;
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  if (!f)
    return -1;
  while (fgets(buf, sizeof buf, f)) {
    long long v;
    if (sscanf(buf, "Rss: %lld kB", &v) == 1)
      *rss_kb = v;
    else if (sscanf(buf, "Pss: %lld kB", &v) == 1)
      *pss_kb = v;
  }
  fclose(f);
  return 0;
}
