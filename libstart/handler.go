package libstart

import (
	"os"

	"github.com/lxcrun/lxcrun/libstart/cgroup"
	"golang.org/x/sys/unix"
)

// Handler is what one container start owns, like LXC's lxc_handler: created
// by Init, filled by Spawn, released by Fini or undone by Abort. Each field
// says which step sets it.
type Handler struct {
	// Conf is the translated config (Init).
	Conf *Conf
	// Container is the locked state directory (Init).
	Container *Container
	// Opts are the create options (Init).
	Opts CreateOpts
	// Plan says how each namespace comes about (Init).
	Plan NSPlan

	// Cgroup is the container's cgroup (Spawn, before the clone).
	Cgroup *cgroup.Manager
	// Pid and PidFD identify the container init (Spawn, at the clone).
	Pid   int
	PidFD int
	// StartTime is the init's start time from /proc/<pid>/stat (Spawn).
	StartTime uint64

	// syncSock is the parent's end of the sync socketpair (Spawn).
	syncSock *os.File
	// childSync is the init's end, closed in the parent after the clone.
	childSync *os.File
	// listener is the park socket; the parent closes its copy once the
	// init has it (Spawn).
	listener *os.File
	// consoleConn is the connection to --console-socket (Spawn).
	consoleConn *os.File

	// cleanups undo, in reverse order, what Init and Spawn did; Abort runs
	// them, Fini drops them.
	cleanups []func()
}

// onAbort registers an undo step.
func (h *Handler) onAbort(f func()) {
	h.cleanups = append(h.cleanups, f)
}

// Abort undoes everything the start did so far, newest first: kill and reap
// the init, remove the cgroup, remove the state directory. A failed create
// leaves nothing behind.
func (h *Handler) Abort() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
	h.closeFDs()
}

// closeFDs releases the handler's descriptors (not the init's pidfd, which
// run keeps to wait on).
func (h *Handler) closeFDs() {
	for _, f := range []*os.File{h.syncSock, h.listener, h.consoleConn} {
		if f != nil {
			f.Close()
		}
	}
	h.syncSock, h.listener, h.consoleConn = nil, nil, nil
}

// killInit kills the init through its pidfd and reaps it (create is its
// parent until it exits).
func (h *Handler) killInit() {
	if h.PidFD > 0 {
		_ = unix.PidfdSendSignal(h.PidFD, unix.SIGKILL, nil, 0)
	}
	if h.Pid > 0 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(h.Pid, &ws, 0, nil)
	}
}
