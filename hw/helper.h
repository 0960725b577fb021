/* A helper process: a device's mock (the motor simulator) or a scenario's service (the agents'
 * database). Not one of the roles, so its costs are not the architecture's. It leaves with
 * the process that started it (PR_SET_PDEATHSIG, so start it from a thread that lives as long
 * as the run), ignores Ctrl-C and sits in a process group of its own (a signal to the run's
 * group is the supervisor's, which then stops it in order), and keeps only the descriptors
 * it is given.
 */
#ifndef AB_HELPER_H
#define AB_HELPER_H

#include <sys/types.h>

/* Fork `name` running main(arg) with only keep[0..nkeep-1] open besides 0-2; its exit status
 * is main's (0 or 1). Returns the pid, or -errno. */
pid_t ab_helper_start(const char *name, int (*main)(void *arg), void *arg, const int *keep, int nkeep);
/* SIGTERM, up to grace_ms for it to leave, then SIGKILL; reaped. A pid already reaped by
 * someone else (ESRCH, ECHILD) is left alone. */
void ab_helper_stop(pid_t pid, int grace_ms);

#endif
