package libstart

import (
	"runtime"

	"github.com/lxcrun/lxcrun/libstart/nsenter"
	"golang.org/x/sys/unix"
)

// withOriginalTimerSlack runs fork, which starts a child process, on a
// thread whose timer slack is the one lxcrun was started with. Every
// lxcrun thread runs with the coarse nsenter.TimerSlack, and a child takes
// both its current and its default slack from the thread that forks it;
// forked from here, the container's processes and hooks get exactly what
// they would get from runc. The value is set explicitly: "the default"
// (PR_SET_TIMERSLACK 0) is per thread, and Go's threads were made after
// the constructor raised the slack.
func withOriginalTimerSlack(fork func() error) error {
	orig := nsenter.OriginalTimerSlack()
	if orig == 0 {
		return fork()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, orig, 0, 0, 0)
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, nsenter.TimerSlack, 0, 0, 0)
	return fork()
}

// restoreTimerSlack gives the calling thread the slack its process was
// started with, right before it execs the container's process (the init
// and the exec helper were forked with the original slack by
// withOriginalTimerSlack, and their constructor raised it again).
func restoreTimerSlack() {
	if orig := nsenter.OriginalTimerSlack(); orig != 0 {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, orig, 0, 0, 0)
	}
}
