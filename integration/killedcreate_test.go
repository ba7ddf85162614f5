package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestKilledCreate: a create SIGKILLed half-way (in a prestart hook) leaves a
// half-made container; `delete --force ID` then exits 0 and removes all of it:
// init process, cgroup and state.
func TestKilledCreate(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	marker := filepath.Join(dir, "hook-pid")
	c := newCtr(t, func(s *specs.Spec) {
		//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"sh", "-c", "echo $$ > " + marker + ".tmp; mv " + marker + ".tmp " + marker + "; exec sleep 30"},
			Env:  []string{defaultPath},
		}}}
	})

	cmd := c.cmd("create", "--bundle", c.bundle, c.id)
	done := make(chan result, 1)
	go func() { done <- runCmd(t, cmd) }()

	// the hook runs: create is in the middle of its work
	hookPid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, marker)))
	if err != nil {
		t.Fatalf("hook pid file: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(hookPid, syscall.SIGKILL) })
	// what the half-made container has so far
	inCgroup := cgroupProcs(c.id)
	if len(inCgroup) == 0 {
		t.Errorf("no process in the container's cgroup while its prestart hook runs")
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing create: %v", err)
	}
	if res := <-done; res.Code != 128+9 {
		t.Fatalf("create was not killed by SIGKILL: %s", res)
	}

	// The hook is not part of the container (it runs in the runtime's
	// namespaces, from the bundle directory): end it, so that what remains
	// is what the runtime left.
	syscall.Kill(hookPid, syscall.SIGKILL)
	waitGone(hookPid)

	c.rt("delete", "--force", c.id).mustSucceed(t)
	if isRunc() {
		// runc 1.1.5 writes no state before its init is ready, so its
		// `delete --force` finds nothing and leaves the cgroup behind.
		// lxcrun writes a "creating" state first and must remove it.
		t.Logf("runc 1.1.5 leaks the cgroup of a killed create: %v", cgroupDirs(c.id))
		for _, d := range cgroupDirs(c.id) {
			syscall.Rmdir(d)
		}
	}
	for _, pid := range inCgroup {
		if !waitGone(pid) {
			t.Errorf("process %d of the half-made container survived delete --force", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(c.root, c.id)); err == nil {
		t.Errorf("state dir %s left after delete --force", filepath.Join(c.root, c.id))
	}
	c.rt("state", c.id).mustFail(t, "does not exist")
	checkNothingLeft(t, c)
}
