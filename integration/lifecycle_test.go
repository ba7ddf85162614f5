package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// trapTERM is a pid-1 script that exits 0 on SIGTERM (sh as pid 1 ignores
// TERM without a handler).
const trapTERM = `trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done`

// TestLifecycle walks create → state → start → state → kill → stopped →
// delete → gone, once per way of naming the signal.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		signal []string // kill's signal argument(s); none means the default (SIGTERM)
		script string
	}{
		{"KILL", []string{"KILL"}, ""},
		{"SIGKILL", []string{"SIGKILL"}, ""},
		{"9", []string{"9"}, ""},
		{"default_is_TERM", nil, trapTERM},
		{"TERM", []string{"TERM"}, trapTERM},
		{"15", []string{"15"}, trapTERM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []specOpt
			if tc.script != "" {
				opts = append(opts, withSh(tc.script))
			}
			c := newCtr(t, opts...)
			pidFile := filepath.Join(shortTempDir(t), "pid")

			c.create("--pid-file", pidFile).mustSucceed(t)
			st := c.mustState()
			if st.Status != specs.StateCreated {
				t.Fatalf("after create: status %q, want created", st.Status)
			}
			if st.ID != c.id || st.Version == "" || st.Bundle != c.bundle {
				t.Errorf("state: id %q ociVersion %q bundle %q; want id %q, an ociVersion, bundle %q", st.ID, st.Version, st.Bundle, c.id, c.bundle)
			}
			if st.Pid <= 0 || !alive(st.Pid) {
				t.Fatalf("created container's pid %d is not a live process", st.Pid)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatalf("pid file: %v", err)
			}
			// containerd and podman read the pid file: digits only, no newline.
			if !regexp.MustCompile(`^[0-9]+$`).Match(b) {
				t.Errorf("pid file holds %q, want digits only (no newline)", b)
			}
			if pid, _ := strconv.Atoi(string(b)); pid != st.Pid {
				t.Errorf("pid file %q != state pid %d", b, st.Pid)
			}

			c.start().mustSucceed(t)
			st = c.mustState()
			if st.Status != specs.StateRunning {
				t.Fatalf("after start: status %q, want running", st.Status)
			}
			// starting a running container is an error
			c.start().mustFail(t)

			c.rt(append([]string{"kill", c.id}, tc.signal...)...).mustSucceed(t)
			st = c.waitStatus(specs.StateStopped)
			if !waitGone(c.pids[0]) {
				t.Fatalf("stopped container's pid %d is still alive", c.pids[0])
			}
			// a stopped container cannot be started again
			c.start().mustFail(t)

			c.rt("delete", c.id).mustSucceed(t)
			c.rt("state", c.id).mustFail(t, "does not exist")
			if left := stateEntries(c.root, c.id); len(left) > 0 {
				t.Errorf("delete left state behind: %v", left)
			}
		})
	}
}

// TestCreateExistingID: a second create with the same id fails and leaves the
// first container alone.
func TestCreateExistingID(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	c.create().mustSucceed(t)
	pid := c.mustState().Pid
	// runc 1.1.5: "container with given ID already exists"
	c.create().mustFail(t, "already exists")
	st := c.mustState()
	if st.Status != specs.StateCreated || st.Pid != pid || !alive(pid) {
		t.Fatalf("first container disturbed by the second create: %+v", st)
	}
}

// TestDeleteCreated: delete (without --force) of a created, never started
// container kills its init and removes it, as runc does (containerd relies on
// it).
func TestDeleteCreated(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	c.create().mustSucceed(t)
	pid := c.mustState().Pid
	c.rt("delete", c.id).mustSucceed(t)
	if !waitGone(pid) {
		t.Errorf("init %d of the deleted created container is still alive", pid)
	}
	c.rt("state", c.id).mustFail(t, "does not exist")
	if left := stateEntries(c.root, c.id); len(left) > 0 {
		t.Errorf("delete left state behind: %v", left)
	}
	if left := cgroupDirs(c.id); len(left) > 0 {
		t.Errorf("delete left cgroups behind: %v", left)
	}
}

// TestRunDetachAndErrors: run --detach, then the error paths of delete, kill
// and state that shims match on.
func TestRunDetachAndErrors(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	c.run("--detach").mustSucceed(t)
	st := c.mustState()
	if st.Status != specs.StateRunning || !alive(st.Pid) {
		t.Fatalf("after run --detach: %+v, want a live running container", st)
	}

	t.Run("delete_running_fails", func(t *testing.T) {
		// runc 1.1.5: "cannot delete container ID that is not stopped: running"
		res := c.rt("delete", c.id).mustFail(t)
		if !containsFold(res.Stderr, "not stopped") && !containsFold(res.Stderr, "running") {
			t.Errorf("delete of a running container: stderr mentions neither \"not stopped\" nor \"running\": %s", res)
		}
		if st := c.mustState(); st.Status != specs.StateRunning {
			t.Errorf("failed delete changed the container: %+v", st)
		}
	})

	t.Run("delete_force_running", func(t *testing.T) {
		c.rt("delete", "--force", c.id).mustSucceed(t)
		if !waitGone(st.Pid) {
			t.Errorf("pid %d survived delete --force", st.Pid)
		}
		if left := stateEntries(c.root, c.id); len(left) > 0 {
			t.Errorf("delete --force left state behind: %v", left)
		}
		if left := cgroupDirs(c.id); len(left) > 0 {
			t.Errorf("delete --force left cgroups behind: %v", left)
		}
	})

	t.Run("unknown_id", func(t *testing.T) {
		// the shims run `delete --force` on ids that are already gone
		c.rt("delete", "--force", "no-such-ctr").mustSucceed(t)
		c.rt("delete", "no-such-ctr").mustFail(t, "does not exist")
		c.rt("kill", "no-such-ctr", "KILL").mustFail(t, "does not exist")
		c.rt("state", "no-such-ctr").mustFail(t, "does not exist")
		c.rt("start", "no-such-ctr").mustFail(t, "does not exist")
	})
}

// TestKillStopped: kill of a stopped container fails with "container not
// running" (what containerd maps to NotFound); kill --all succeeds.
func TestKillStopped(t *testing.T) {
	t.Parallel()
	c := newCtr(t, withSh("exit 0"))
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	c.waitStatus(specs.StateStopped)
	// runc 1.1.5: "container not running"
	c.rt("kill", c.id, "KILL").mustFail(t, "not running")
	c.rt("kill", c.id, "9").mustFail(t, "not running")
	// containerd's shim uses kill --all after the init died
	c.rt("kill", "--all", c.id, "9").mustSucceed(t)
	c.rt("delete", c.id).mustSucceed(t)
}
