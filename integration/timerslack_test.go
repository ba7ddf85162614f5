package integration

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestTimerSlackNotInherited: lxcrun runs its own threads with a coarse
// timer slack (to batch Go's sysmon wake-ups), but the container's init,
// exec'd processes and hooks get the slack the runtime was started with,
// as with runc. The runtime is started here with an unusual slack, so a
// child that inherited lxcrun's own, or the kernel default, is caught.
func TestTimerSlackNotInherited(t *testing.T) {
	const slack = 123457
	hooks := newHookLog(t)
	record := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Env: []string{defaultPath},
			Args: []string{"sh", "-c", "cat /proc/self/timerslack_ns > " + filepath.Join(hooks.dir, name)}}
	}
	c := newCtr(t, withSh("cat /proc/self/timerslack_ns; sleep 1000"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{record("createRuntime")},
			Poststart: []specs.Hook{record("poststart")}}
	})

	// A child takes its slack from the thread that forks it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, slack, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)

	c.run("-d").mustSucceed(t)
	st := c.mustState()
	want := strconv.Itoa(slack)
	if got := readSlack(t, st.Pid); got != want {
		t.Errorf("container init: timer slack %s, want %s (the runtime's)", got, want)
	}
	if out := c.rt("exec", c.id, "cat", "/proc/self/timerslack_ns").mustSucceed(t); strings.TrimSpace(out.Stdout) != want {
		t.Errorf("exec'd process: timer slack %q, want %s", strings.TrimSpace(out.Stdout), want)
	}
	for _, h := range []string{"createRuntime", "poststart"} {
		b, err := os.ReadFile(filepath.Join(hooks.dir, h))
		if err != nil {
			t.Errorf("%s hook did not run: %v", h, err)
			continue
		}
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s hook: timer slack %s, want %s", h, got, want)
		}
	}
}

func readSlack(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
