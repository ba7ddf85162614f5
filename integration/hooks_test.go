package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookDirInCtr is where the hook log directory is bind-mounted in the
// container, for the startContainer hook (it runs in the container).
const hookDirInCtr = "/mnt/hooks"

// hookLog is a host directory that hooks write to: `log` gets one line per
// hook run, NAME.json the state the hook read on stdin.
type hookLog struct{ dir string }

func newHookLog(t *testing.T) hookLog {
	t.Helper()
	dir := shortTempDir(t)
	// hooks may run as any user; the container's startContainer hook runs
	// as the container's root.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return hookLog{dir: dir}
}

// hook returns a hook that logs NAME and saves its stdin. inCtr selects the
// container's busybox sh and the in-container path of the log directory.
func (h hookLog) hook(name string, inCtr bool, extra string) specs.Hook {
	dir := h.dir
	if inCtr {
		dir = hookDirInCtr
	}
	script := "cat > " + dir + "/" + name + ".json; echo " + name + " >> " + dir + "/log"
	if extra != "" {
		script += "; " + extra
	}
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Env: []string{defaultPath}}
}

func (h hookLog) entries() []string {
	b, _ := os.ReadFile(filepath.Join(h.dir, "log"))
	return lines(string(b))
}

// state decodes the state a hook got on stdin.
func (h hookLog) state(t *testing.T, name string) specs.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, name+".json"))
	if err != nil {
		t.Fatalf("hook %s: no stdin saved: %v", name, err)
	}
	var st specs.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("hook %s: stdin is not state JSON: %v: %q", name, err, b)
	}
	return st
}

// allHooks sets one logging hook of every kind.
func allHooks(h hookLog) specOpt {
	return func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
			Prestart:        []specs.Hook{h.hook("prestart", false, "")},
			CreateRuntime:   []specs.Hook{h.hook("createRuntime", false, "")},
			CreateContainer: []specs.Hook{h.hook("createContainer", false, "")},
			StartContainer:  []specs.Hook{h.hook("startContainer", true, "")},
			Poststart:       []specs.Hook{h.hook("poststart", false, "")},
			Poststop:        []specs.Hook{h.hook("poststop", false, "")},
		}
	}
}

// TestHooksOrderAndState: each hook runs at its step, in order, with the
// container state on stdin.
func TestHooksOrderAndState(t *testing.T) {
	t.Parallel()
	h := newHookLog(t)
	c := newCtr(t, allHooks(h), withBind(h.dir, hookDirInCtr))

	c.create().mustSucceed(t)
	createHooks := []string{"prestart", "createRuntime", "createContainer"}
	startHooks := append(slices.Clone(createHooks), "startContainer", "poststart")
	if isRunc() {
		// runc 1.1.5 runs poststart hooks in create, before the process
		// was started (fixed in runc 1.2; lxcrun runs them in start).
		createHooks = append(createHooks, "poststart")
		startHooks = append(slices.Clone(createHooks), "startContainer")
	}
	if got := h.entries(); !slices.Equal(got, createHooks) {
		t.Fatalf("hooks run by create: %v, want %v", got, createHooks)
	}
	pid := c.mustState().Pid

	c.start().mustSucceed(t)
	// startContainer runs in the container's init; start may return before
	// it logged (with runc), so wait for it.
	if !waitFor(func() bool { return len(h.entries()) >= len(startHooks) }) {
		t.Fatalf("hooks after start: %v, want %v", h.entries(), startHooks)
	}
	if got := h.entries(); !slices.Equal(got, startHooks) {
		t.Fatalf("hooks after start: %v, want %v", got, startHooks)
	}

	c.rt("kill", c.id, "KILL").mustSucceed(t)
	c.waitStatus(specs.StateStopped)
	c.rt("delete", c.id).mustSucceed(t)
	all := append(slices.Clone(startHooks), "poststop")
	if got := h.entries(); !slices.Equal(got, all) {
		t.Fatalf("hooks after delete: %v, want %v", got, all)
	}

	// what each hook must see as status. lxcrun gives the create-time hooks
	// "created", as the conformance suite's hooks_stdin requires
	// (../shared/CONFORMANCE.md lets that program fail only its pid check);
	// runc 1.1.5 gives them "creating".
	status := map[string]specs.ContainerState{
		"prestart":        specs.StateCreated,
		"createRuntime":   specs.StateCreated,
		"createContainer": specs.StateCreated,
		"startContainer":  specs.StateCreated,
		"poststart":       specs.StateRunning,
		"poststop":        specs.StateStopped,
	}
	if isRunc() {
		status["prestart"] = specs.StateCreating
		status["createRuntime"] = specs.StateCreating
		status["createContainer"] = specs.StateCreating
		status["poststart"] = specs.StateCreated // runs in create, see above
	}
	for _, name := range all {
		st := h.state(t, name)
		if st.Status != status[name] {
			t.Errorf("hook %s got status %q, want %q", name, st.Status, status[name])
		}
		if st.ID != c.id || st.Version == "" {
			t.Errorf("hook %s got state id %q ociVersion %q, want id %q and an ociVersion", name, st.ID, st.Version, c.id)
		}
		if st.Bundle != c.bundle {
			t.Errorf("hook %s got bundle %q, want %q", name, st.Bundle, c.bundle)
		}
		// The pid is required while the container is created or running.
		// The hooks run on the host see the host pid; those run in the
		// container's namespaces may see it in the container's pid ns.
		switch name {
		case "prestart", "createRuntime", "poststart":
			if st.Pid != pid {
				t.Errorf("hook %s got pid %d, want the container's pid %d", name, st.Pid, pid)
			}
		case "createContainer", "startContainer":
			if st.Pid <= 0 {
				t.Errorf("hook %s got pid %d, want the container's pid", name, st.Pid)
			}
		}
	}
}

// TestHookPoststartAfterExec: poststart runs after the user process was
// executed (spec: "after the user-specified process is executed").
func TestHookPoststartAfterExec(t *testing.T) {
	if isRunc() {
		// runc 1.1.5 runs poststart in create, while its init is still
		// runc:[2:INIT] (runtime-tools "poststart" fails for runc; lxcrun
		// must pass it).
		t.Skip("runc 1.1.5 runs poststart hooks in create, before the process is executed")
	}
	t.Parallel()
	h := newHookLog(t)
	// the hook records the comm of the pid it was given
	comm := `pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' ` + h.dir + `/poststart.json); cat /proc/$pid/comm > ` + h.dir + `/comm`
	c := newCtr(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{h.hook("poststart", false, comm)}}
	})
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	// start returns after the poststart hooks ran
	if got := strings.TrimSpace(readBack(filepath.Join(h.dir, "comm"))); got != "sleep" {
		t.Errorf("poststart saw the container process as %q, want \"sleep\" (the executed process)", got)
	}
}

// TestHookPrestartFails: a failing prestart hook fails create and leaves
// nothing behind (the cleanup checks state, cgroup, processes and mounts).
func TestHookPrestartFails(t *testing.T) {
	t.Parallel()
	h := newHookLog(t)
	c := newCtr(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
			Prestart: []specs.Hook{h.hook("prestart", false, "exit 7")},
			Poststop: []specs.Hook{h.hook("poststop", false, "")},
		}
	})
	c.create().mustFail(t)
	c.rt("state", c.id).mustFail(t, "does not exist")
	if got := h.entries(); len(got) == 0 || got[0] != "prestart" {
		t.Errorf("hook log %v, want prestart to have run", got)
	}
	checkNothingLeft(t, c)
}

// TestHookPoststartFails: a failing poststart hook only warns; the remaining
// poststart hooks run and the container keeps running (spec, and the
// runtime-tools "poststart_fail" test).
func TestHookPoststartFails(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.1.5 runs poststart in create and fails create when a poststart hook fails")
	}
	t.Parallel()
	h := newHookLog(t)
	c := newCtr(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{
			h.hook("poststart1", false, "exit 1"),
			h.hook("poststart2", false, ""),
		}}
	})
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	if got, want := h.entries(), []string{"poststart1", "poststart2"}; !slices.Equal(got, want) {
		t.Errorf("poststart hooks run: %v, want %v", got, want)
	}
	if st := c.mustState(); st.Status != specs.StateRunning {
		t.Errorf("status %q after a failed poststart hook, want running", st.Status)
	}
}

// TestHookPoststopFails: every poststop hook runs even after one fails, and
// delete still removes the container.
func TestHookPoststopFails(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.1.5 stops at the first failing poststop hook (runtime-tools poststop_fail)")
	}
	t.Parallel()
	h := newHookLog(t)
	c := newCtr(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{
			h.hook("poststop1", false, "exit 1"),
			h.hook("poststop2", false, ""),
		}}
	})
	c.create().mustSucceed(t)
	c.rt("delete", "--force", c.id).mustSucceed(t)
	if got, want := h.entries(), []string{"poststop1", "poststop2"}; !slices.Equal(got, want) {
		t.Errorf("poststop hooks run: %v, want %v", got, want)
	}
	c.rt("state", c.id).mustFail(t, "does not exist")
}
