// Package nsenter joins namespaces that only a single-threaded process can
// enter (mount, user, time), from a C constructor that runs before the Go
// runtime starts any thread. It joins nothing unless the environment
// variable _LXCRUN_NSENTER is set, so every other lxcrun invocation pays
// only for one getenv (and one prctl, below).
//
// The variable holds lines, carried out in order:
//
//	user PATH              setns(open(PATH)) into a user namespace, then
//	                       become its root (setresgid/setresuid 0)
//	mnt PATH / time PATH   setns(open(PATH)) (create, namespaces by path)
//	unshare FLAGS          unshare(FLAGS): new namespaces created after a
//	                       joined user namespace, so that it owns them
//	newtime OFFSETS        unshare(CLONE_NEWTIME) and write OFFSETS ("clock
//	                       secs nsecs" entries separated by '|') to
//	                       /proc/self/timens_offsets: only the thread-group
//	                       leader's file exists, and offsets must be written
//	                       before any process is in the namespace; the init
//	                       enters it at its execve of the container process
//	pidfd FD FLAGS         setns(FD, FLAGS): every namespace of a verified
//	                       pidfd at once (exec)
//	fork FD                clone(CLONE_PARENT): the child, which is in the
//	                       joined pid namespace, goes on into Go; this
//	                       process writes the child's pid as a framed sync
//	                       message to FD and exits at once
//
// Every lxcrun process also gets a coarse timer slack here (TimerSlack),
// and its Go runtime starts with one P (RestoreEnv).
//
// The process makes itself non-dumpable first: it is about to be visible
// to the container while it still runs the runtime binary (CVE-2016-9962,
// CVE-2019-5736). A failure is recorded, not printed: the Go side reads it
// with Err and reports it through the sync protocol, naming the stage.
package nsenter

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// MSG_PID must match msgPid in libstart/sync.go.
#define MSG_PID 7

char lxcrun_nsenter_err[512];

static int ns_flag(const char *type) {
	if (strcmp(type, "mnt") == 0)
		return CLONE_NEWNS;
	if (strcmp(type, "time") == 0)
		return CLONE_NEWTIME;
	return -1;
}

// fork_parent clones with CLONE_PARENT so the child is a sibling (the
// runtime parent reaps it) and in the joined pid namespace. This process
// reports the child's pid and exits.
static void fork_parent(int fd) {
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "clone: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		return;
	char body[24];
	int n = snprintf(body, sizeof(body), "%ld", pid);
	unsigned char msg[5 + sizeof(body)];
	msg[0] = MSG_PID;
	msg[1] = n & 0xff;
	msg[2] = (n >> 8) & 0xff;
	msg[3] = 0;
	msg[4] = 0;
	memcpy(msg + 5, body, n);
	ssize_t w = write(fd, msg, 5 + n);
	_exit(w == 5 + n ? 0 : 1);
}

// LXCRUN_TIMER_SLACK_NS is the timer slack of every lxcrun thread (see
// TimerSlack).
#define LXCRUN_TIMER_SLACK_NS 1000000

// lxcrun_timer_slack_orig is the slack the process was started with.
long lxcrun_timer_slack_orig;

// lxcrun_env_saved is the environment entry lxcrun_one_p replaced, NULL
// if none; RestoreEnv puts it back.
char *lxcrun_env_saved;
static char lxcrun_gomaxprocs1[] = "GOMAXPROCS=1";

// lxcrun_one_p makes the Go runtime start with one P (see RestoreEnv). The
// runtime reads its environment from the initial stack array, which is
// environ as long as nothing has reallocated it; one entry of it is
// replaced by GOMAXPROCS=1: GOMAXPROCS itself if set, else the last entry
// that neither the runtime (GO*) nor lxcrun (_LXCRUN*) nor time (TZ)
// reads before main.
static void lxcrun_one_p(char **envp) {
	extern char **environ;
	if (envp == NULL || environ != envp)
		return;
	int pick = -1;
	for (int i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], "GOMAXPROCS=", 11) == 0) {
			if (strcmp(envp[i], lxcrun_gomaxprocs1) == 0)
				return;
			pick = i;
			break;
		}
		if (envp[i][0] != '=' && strchr(envp[i], '=') != NULL && strncmp(envp[i], "GO", 2) != 0 &&
		    strncmp(envp[i], "_LXCRUN", 7) != 0 && strncmp(envp[i], "TZ=", 3) != 0)
			pick = i;
	}
	if (pick < 0)
		return;
	lxcrun_env_saved = envp[pick];
	envp[pick] = lxcrun_gomaxprocs1;
}

static void lxcrun_nsenter_entries(void);

__attribute__((constructor)) static void lxcrun_nsenter(int argc, char **argv, char **envp) {
	(void)argc;
	(void)argv;
	lxcrun_timer_slack_orig = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	lxcrun_nsenter_entries();
	lxcrun_one_p(envp);
	// After any fork above: the forked child raises its own, and keeps
	// the slack it was forked with as its default.
	prctl(PR_SET_TIMERSLACK, LXCRUN_TIMER_SLACK_NS, 0, 0, 0);
}

static void lxcrun_nsenter_entries(void) {
	const char *env = getenv("_LXCRUN_NSENTER");
	if (env == NULL || *env == '\0')
		return;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return;
	}
	char *spec = strdup(env);
	unsetenv("_LXCRUN_NSENTER");
	if (spec == NULL) {
		snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "nsenter: out of memory");
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(spec, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ' ');
		if (path == NULL) {
			snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "nsenter: malformed entry %.64s", line);
			break;
		}
		*path++ = '\0';
		if (strcmp(line, "user") == 0) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "join user namespace %.300s: %s", path, strerror(errno));
				if (fd >= 0)
					close(fd);
				break;
			}
			close(fd);
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "become root in user namespace %.300s: %s", path, strerror(errno));
				break;
			}
			continue;
		}
		if (strcmp(line, "unshare") == 0) {
			unsigned long flags = strtoul(path, NULL, 16);
			if (unshare((int)flags) < 0) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "unshare namespaces (flags %#lx): %s", flags, strerror(errno));
				break;
			}
			continue;
		}
		if (strcmp(line, "newtime") == 0) {
			if (unshare(CLONE_NEWTIME) < 0) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "unshare time namespace: %s", strerror(errno));
				break;
			}
			for (char *c = path; *c; c++)
				if (*c == '|')
					*c = '\n';
			int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, path, strlen(path)) != (ssize_t)strlen(path)) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "write time namespace offsets: %s", strerror(errno));
				if (fd >= 0)
					close(fd);
				break;
			}
			close(fd);
			continue;
		}
		if (strcmp(line, "pidfd") == 0) {
			int fd = -1;
			unsigned long flags = 0;
			if (sscanf(path, "%d %lx", &fd, &flags) != 2) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "nsenter: malformed pidfd entry");
				break;
			}
			if (setns(fd, (int)flags) < 0) {
				snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "join the container's namespaces (flags %#lx): %s", flags, strerror(errno));
				break;
			}
			close(fd);
			continue;
		}
		if (strcmp(line, "fork") == 0) {
			fork_parent(atoi(path));
			if (lxcrun_nsenter_err[0] != '\0')
				break;
			continue;
		}
		int flag = ns_flag(line);
		if (flag < 0) {
			snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "nsenter: unknown namespace type %.16s", line);
			break;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "open %s namespace %.300s: %s", line, path, strerror(errno));
			break;
		}
		if (setns(fd, flag) < 0) {
			snprintf(lxcrun_nsenter_err, sizeof(lxcrun_nsenter_err), "join %s namespace %.300s: %s", line, path, strerror(errno));
			close(fd);
			break;
		}
		close(fd);
	}
	free(spec);
}
*/
import "C"

import (
	"errors"
	"os"
	"strings"
)

// Env is the environment variable the constructor reads.
const Env = "_LXCRUN_NSENTER"

// TimerSlack is the timer slack (ns) the constructor gives every lxcrun
// process before the Go runtime starts its threads, which inherit it.
// Go's sysmon thread sleeps 20 µs at a time for the first milliseconds of
// a process and whenever it took a P from a blocking syscall; with the
// kernel's default 50 µs slack that was a wake-up every ~70 µs, about 150
// per process and a third of the context switches of a `run`. At 1 ms the
// kernel batches them; Go's own timers, which lxcrun never uses for
// polling, lose at most that much precision. Children must not inherit
// it: see libstart's withOriginalTimerSlack.
const TimerSlack = C.LXCRUN_TIMER_SLACK_NS

// RestoreEnv undoes the constructor's one change to the environment; main
// calls it first. Go sizes its scheduler from GOMAXPROCS before any Go code
// runs, and a process that starts with one P per CPU and then drops to one
// (runtime.GOMAXPROCS(1) in main) spends ~0.7 ms more CPU at every start:
// the idle Ps wake spinning threads while the runtime and the package
// initialisers start goroutines. lxcrun never runs Go code in parallel, so
// the constructor starts the runtime with GOMAXPROCS=1 in place of one
// entry of the environment, and this puts the entry back, so that os.Environ
// and every child (hooks inherit the runtime's environment) see exactly
// what lxcrun was started with, GOMAXPROCS included.
func RestoreEnv() {
	if C.lxcrun_env_saved == nil {
		return
	}
	k, v, _ := strings.Cut(C.GoString(C.lxcrun_env_saved), "=")
	if k != "GOMAXPROCS" {
		_ = os.Unsetenv("GOMAXPROCS")
	}
	_ = os.Setenv(k, v)
}

// OriginalTimerSlack is the timer slack the process was started with, as
// the constructor found it (0 if it could not read it).
func OriginalTimerSlack() uintptr {
	if C.lxcrun_timer_slack_orig <= 0 {
		return 0
	}
	return uintptr(C.lxcrun_timer_slack_orig)
}

// Err returns the constructor's failure, or nil.
func Err() error {
	msg := C.GoString(&C.lxcrun_nsenter_err[0])
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}
