package clients

import (
	"fmt"
	"strings"
	"testing"
)

// What docker and podman share: their command lines agree on inspect,
// pause/unpause, exec and kill, so these checks serve both.

// inspectState is the status, pid and exit code `inspect` reports.
func inspectState(t testing.TB, c *client, name string) (status string, pid int, exit int) {
	t.Helper()
	r := c.quiet(t, "inspect", "--format", "{{.State.Status}} {{.State.Pid}} {{.State.ExitCode}}", name)
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 3 {
		return "inspect failed: " + strings.TrimSpace(r.all()), 0, -1
	}
	_, _ = fmt.Sscan(f[1], &pid)
	_, _ = fmt.Sscan(f[2], &exit)
	return f[0], pid, exit
}

// waitInspectStatus waits until `inspect` reports status want.
func waitInspectStatus(t testing.TB, c *client, name, want string) (pid int, exit int, ok bool) {
	t.Helper()
	ok = waitFor(t, name+" to be "+want, waitTimeout, func() (bool, string) {
		var st string
		st, pid, exit = inspectState(t, c, name)
		return st == want, fmt.Sprintf("status %s pid %d exit %d", st, pid, exit)
	})
	return pid, exit, ok
}

// checkPauseResume pauses and resumes the running container name (init
// pid) and checks the host's freezer state each time, and that it still
// runs commands after.
func checkPauseResume(t *testing.T, c *client, name string, pid int) {
	t.Helper()
	if expectExit(t, c.run(t, "pause", name), 0) {
		waitInspectStatus(t, c, name, "paused")
		if st := freezerState(pid); st != "FROZEN" {
			t.Errorf("host freezer.state = %s, want FROZEN", st)
		}
	}
	if expectExit(t, c.run(t, "unpause", name), 0) {
		waitInspectStatus(t, c, name, "running")
		if st := freezerState(pid); st != "THAWED" {
			t.Errorf("host freezer.state = %s, want THAWED", st)
		}
	}
	expectExit(t, c.run(t, "exec", name, "echo", "alive"), 0, "alive")
}

// checkKillSignal sends SIGUSR1, which the container's trap records in
// /tmp/sig, and checks the container keeps running.
func checkKillSignal(t *testing.T, c *client, name string) {
	t.Helper()
	if !expectExit(t, c.run(t, "kill", "-s", "USR1", name), 0) {
		return
	}
	waitFor(t, "SIGUSR1 to reach the container", waitTimeout, func() (bool, string) {
		r := c.quiet(t, "exec", name, "cat", "/tmp/sig")
		return strings.Contains(r.stdout, "usr1"), r.String()
	})
	if st, _, _ := inspectState(t, c, name); st != "running" {
		t.Errorf("status after SIGUSR1 = %s, want running", st)
	}
}
