package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The tests in this file cover what lxcrun carries over from LXC and runc
// lacks: waiting on state changes (lxc-wait), lifecycle events, and an exit
// status recorded by a monitor. runc has none of these verbs.

func skipRunc(t *testing.T) {
	t.Helper()
	if isRunc() {
		t.Skip("runc has no wait, events --lifecycle or --monitor")
	}
}

// startWait starts `wait` in the background and returns a channel with its
// result once it exits.
func (c *ctr) startWait(args ...string) <-chan result {
	c.t.Helper()
	cmd := c.cmd(append([]string{"wait"}, append(args, c.id)...)...)
	ch := make(chan result, 1)
	go func() { ch <- runCmd(c.t, cmd) }()
	return ch
}

func awaitResult(t *testing.T, ch <-chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return", what)
	}
	return result{}
}

// stillWaiting fails if ch already delivered: wait must not return early.
func stillWaiting(t *testing.T, ch <-chan result, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned before the transition: %s", what, r)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestWaitRunningWhenStartedElsewhere(t *testing.T) {
	skipRunc(t)
	t.Parallel()
	c := newCtr(t, withArgs("sleep", "1000"))
	c.create().mustSucceed(t)
	ch := c.startWait("--state", "running")
	stillWaiting(t, ch, "wait --state running")
	c.start().mustSucceed(t)
	awaitResult(t, ch, "wait --state running").mustSucceed(t)
}

func TestWaitStopped(t *testing.T) {
	skipRunc(t)
	t.Run("exits_by_itself", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("sleep 1"))
		c.create().mustSucceed(t)
		ch := c.startWait("--state", "stopped")
		c.start().mustSucceed(t)
		awaitResult(t, ch, "wait --state stopped").mustSucceed(t)
		if st := c.mustState(); st.Status != specs.StateStopped {
			t.Fatalf("wait returned but state is %q", st.Status)
		}
	})
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		ch := c.startWait()
		stillWaiting(t, ch, "wait")
		c.rt("kill", c.id, "KILL").mustSucceed(t)
		awaitResult(t, ch, "wait").mustSucceed(t)
	})
	t.Run("already_stopped", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("true"))
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		start := time.Now()
		c.rt("wait", "--timeout", "10s", c.id).mustSucceed(t)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("wait on a stopped container took %v", d)
		}
	})
}

func TestWaitErrors(t *testing.T) {
	skipRunc(t)
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create().mustSucceed(t)
		c.rt("wait", "--state", "paused", "--timeout", "300ms", c.id).mustFail(t, "timed out")
	})
	t.Run("unknown_id", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t)
		c.rt("wait", c.id).mustFail(t, "does not exist")
	})
	t.Run("deleted_meanwhile", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create().mustSucceed(t)
		ch := c.startWait("--state", "running")
		stillWaiting(t, ch, "wait --state running")
		c.rt("delete", "--force", c.id).mustSucceed(t)
		awaitResult(t, ch, "wait").mustFail(t, "deleted")
	})
	t.Run("bad_state", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create().mustSucceed(t)
		c.rt("wait", "--state", "sleeping", c.id).mustFail(t, "invalid state")
	})
}

func TestWaitConcurrent(t *testing.T) {
	skipRunc(t)
	t.Parallel()
	c := newCtr(t, withArgs("sleep", "1000"))
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	const n = 50
	chans := make([]<-chan result, n)
	for i := range chans {
		chans[i] = c.startWait()
	}
	time.Sleep(300 * time.Millisecond)
	c.rt("kill", c.id, "KILL").mustSucceed(t)
	for i, ch := range chans {
		awaitResult(t, ch, fmt.Sprintf("waiter %d", i)).mustSucceed(t)
	}
}

func TestEventsLifecycle(t *testing.T) {
	skipRunc(t)
	t.Parallel()
	c := newCtr(t, withArgs("sleep", "1000"))
	c.create().mustSucceed(t)
	cmd := c.cmd("events", "--lifecycle", c.id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev struct{ Type, ID, Status string }
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Type != "state" || ev.ID != c.id {
				events <- "bad line: " + sc.Text()
				continue
			}
			events <- ev.Status
		}
		close(events)
	}()
	next := func(want string) {
		t.Helper()
		select {
		case got, ok := <-events:
			if !ok || got != want {
				t.Fatalf("lifecycle event %q (open %v), want %q", got, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no lifecycle event, want %q", want)
		}
	}
	next("created")
	c.start().mustSucceed(t)
	next("running")
	c.rt("pause", c.id).mustSucceed(t)
	next("paused")
	c.rt("resume", c.id).mustSucceed(t)
	next("running")
	c.rt("kill", c.id, "KILL").mustSucceed(t)
	next("stopped")
	c.rt("delete", c.id).mustSucceed(t)
	if _, ok := <-events; ok {
		t.Fatal("events --lifecycle printed more after delete")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("events --lifecycle did not exit cleanly after delete: %v", err)
	}
}

// monitorState reads the extra exit fields of `state`.
func monitorState(t *testing.T, c *ctr) map[string]any {
	t.Helper()
	res := c.rt("state", c.id).mustSucceed(t)
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMonitorRecordsExit(t *testing.T) {
	skipRunc(t)
	t.Run("exit_status", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("exit 7"))
		c.rt("run", "--detach", "--monitor", "--bundle", c.bundle, c.id).mustSucceed(t)
		c.rt("wait", "--timeout", "20s", c.id).mustSucceed(t)
		m := monitorState(t, c)
		if m["status"] != "stopped" || m["exitStatus"] != float64(7) || m["exitedAt"] == nil {
			t.Fatalf("state after exit 7: %v", m)
		}
	})
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create("--monitor").mustSucceed(t)
		c.start().mustSucceed(t)
		c.rt("kill", c.id, "KILL").mustSucceed(t)
		c.rt("wait", "--timeout", "20s", c.id).mustSucceed(t)
		m := monitorState(t, c)
		if m["exitSignal"] != float64(9) || m["exitStatus"] != nil {
			t.Fatalf("state after SIGKILL: %v", m)
		}
	})
	t.Run("oom_killed", func(t *testing.T) {
		t.Parallel()
		// A 16 MiB limit and a shell that keeps growing a string.
		limit := int64(16 << 20)
		c := newCtr(t, withSh(`x=aaaaaaaaaaaaaaaa; while true; do x="$x$x"; done`), func(s *specs.Spec) {
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
		})
		c.rt("run", "--detach", "--monitor", "--bundle", c.bundle, c.id).mustSucceed(t)
		c.rt("wait", "--timeout", "30s", c.id).mustSucceed(t)
		m := monitorState(t, c)
		if m["oomKilled"] != true || m["exitSignal"] != float64(9) {
			t.Fatalf("state after OOM: %v", m)
		}
	})
	t.Run("monitor_is_parent_and_leaves", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create("--monitor").mustSucceed(t)
		st := c.mustState()
		ppid := parentOf(t, st.Pid)
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid))
		if !strings.Contains(string(comm), "monitor") {
			t.Fatalf("init's parent %d is %q, want the monitor", ppid, comm)
		}
		c.rt("delete", "--force", c.id).mustSucceed(t)
		if !waitGone(ppid) {
			t.Fatalf("monitor %d outlived its container", ppid)
		}
	})
	t.Run("without_monitor_no_monitor", func(t *testing.T) {
		t.Parallel()
		// The shims must reap the init themselves: without --monitor
		// nothing of lxcrun stays behind as its parent.
		c := newCtr(t, withArgs("sleep", "1000"))
		c.create().mustSucceed(t)
		ppid := parentOf(t, c.mustState().Pid)
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", ppid))
		if strings.Contains(string(cmd), "monitor") {
			t.Fatalf("a monitor (%d: %q) is the init's parent without --monitor", ppid, cmd)
		}
	})
}

// parentOf reads the ppid of pid from /proc/pid/stat.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	var ppid int
	fmt.Sscan(fields[1], &ppid)
	return ppid
}
