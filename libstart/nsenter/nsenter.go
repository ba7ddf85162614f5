// Package nsenter joins namespaces that only a single-threaded process can
// enter (mount, time, and later user), from a C constructor that runs before
// the Go runtime starts any thread. It does nothing unless the environment
// variable _LXCRUN_NSENTER is set, so every other lxcrun invocation pays
// only for one getenv.
//
// The variable holds lines "TYPE PATH" (TYPE: mnt or time), joined in order.
// A failure is recorded, not printed: the Go side reads it with Err and
// reports it through the sync protocol, naming the stage.
package nsenter

/*
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

char lxcrun_nsenter_err[512];

static int ns_flag(const char *type) {
	if (strcmp(type, "mnt") == 0)
		return CLONE_NEWNS;
	if (strcmp(type, "time") == 0)
		return CLONE_NEWTIME;
	return -1;
}

__attribute__((constructor)) static void lxcrun_nsenter(void) {
	const char *env = getenv("_LXCRUN_NSENTER");
	if (env == NULL || *env == '\0')
		return;
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

import "errors"

// Env is the environment variable the constructor reads.
const Env = "_LXCRUN_NSENTER"

// Err returns the constructor's failure, or nil.
func Err() error {
	msg := C.GoString(&C.lxcrun_nsenter_err[0])
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}
