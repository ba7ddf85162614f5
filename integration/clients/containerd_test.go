package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ctrNamespace is the containerd namespace of the ctr scenarios.
const ctrNamespace = "lxcc"

// containerdEnv is a private containerd: its own root, state, sockets and opt
// directory.
type containerdEnv struct {
	dir  string
	sock string
	d    *daemon
}

// startContainerd starts a containerd in <work>/<name> with the plugin
// configuration plugins (TOML tables, version 2; "" disables the CRI plugin),
// waits until it answers, and stops it (by pid) when t ends. Tasks and
// containers left in namespaces are removed first.
func startContainerd(t *testing.T, name, plugins string, namespaces ...string) *containerdEnv {
	t.Helper()
	dir := filepath.Join(work, name)
	for _, d := range []string{"root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &containerdEnv{dir: dir, sock: filepath.Join(dir, "containerd.sock")}
	top := ""
	if plugins == "" {
		top = `disabled_plugins = ["io.containerd.grpc.v1.cri"]`
	}
	conf := fmt.Sprintf(`version = 2
root = "%[1]s/root"
state = "%[1]s/state"
%[3]s
[grpc]
  address = "%[1]s/containerd.sock"
[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"
[debug]
  address = "%[1]s/debug.sock"
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/opt"
%[2]s`, dir, plugins, top)
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	e.d = startDaemon(t, "containerd "+name, filepath.Join(dir, "containerd.log"), filepath.Join(dir, "containerd.pid"),
		nil, "containerd", "--config", cfg)
	t.Cleanup(func() {
		for _, ns := range namespaces {
			e.removeAll(t, ns)
		}
		e.d.stop(20 * time.Second)
		if t.Failed() {
			t.Logf("containerd %s log (tail):\n%s", name, e.d.tail(4000))
		}
	})
	ok := waitFor(t, "containerd to answer", 30*time.Second, func() (bool, string) {
		if !e.d.alive() {
			return true, ""
		}
		r := runCmd(t, cmdOpts{quiet: true, timeout: 10 * time.Second}, "ctr", "-a", e.sock, "version")
		return r.code == 0, r.String()
	})
	if !ok || !e.d.alive() {
		t.Fatalf("containerd did not come up:\n%s", e.d.tail(4000))
	}
	return e
}

// ctr is the ctr client for namespace ns.
func (e *containerdEnv) ctr(ns string) *client {
	return &client{argv: []string{"ctr", "-a", e.sock, "-n", ns}}
}

// removeAll deletes every task and container of namespace ns.
func (e *containerdEnv) removeAll(t testing.TB, ns string) {
	c := e.ctr(ns)
	r := c.quiet(t, "containers", "ls", "-q")
	for _, id := range strings.Fields(r.stdout) {
		c.quiet(t, "task", "delete", "-f", id)
		if r := c.quiet(t, "containers", "delete", id); r.code != 0 {
			fmt.Fprintf(os.Stderr, "clients: cleanup of %s/%s:\n%s\n", ns, id, r)
		}
	}
}

// ctrTask is the PID and STATUS of task id from `ctr task ls`.
func ctrTask(t testing.TB, c *client, id string) (pid int, status string) {
	r := c.quiet(t, "task", "ls")
	for _, l := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == id {
			_, _ = fmt.Sscan(f[1], &pid)
			return pid, f[2]
		}
	}
	return 0, "no task: " + strings.TrimSpace(r.all())
}

func waitCtrStatus(t testing.TB, c *client, id, want string) (pid int, ok bool) {
	t.Helper()
	ok = waitFor(t, "task "+id+" to be "+want, waitTimeout, func() (bool, string) {
		var st string
		pid, st = ctrTask(t, c, id)
		return st == want, fmt.Sprintf("pid %d status %s", pid, st)
	})
	return pid, ok
}

// waitReady waits until the trap loop of a container is set up.
func waitReady(t testing.TB, what string, exec func() result) bool {
	t.Helper()
	return waitFor(t, what+" to be ready", waitTimeout, func() (bool, string) {
		r := exec()
		return r.code == 0, r.String()
	})
}

func TestContainerd(t *testing.T) {
	requireSuite(t)
	e := startContainerd(t, "containerd", "", ctrNamespace)
	c := e.ctr(ctrNamespace)
	expectRuntimeUsed(t)
	for _, tar := range []string{tarBusybox, tarNobody} {
		c.ok(t, "images", "import", tar)
	}
	rtRoot := filepath.Join(e.dir, "rt-root")
	rt := []string{"--runc-binary", rtPath, "--runc-root", rtRoot}
	run := func(args ...string) []string { return append(append([]string{"run"}, rt...), args...) }
	img := imgBusybox
	d1 := uniq("d1")
	var d1pid int
	needD1 := func(t *testing.T) {
		if d1pid == 0 {
			t.Fatal("no detached task: run_detached failed")
		}
	}
	texec := func(t testing.TB, stdin string, args ...string) result {
		return c.runIn(t, stdin, append([]string{"task", "exec", "--exec-id", uniq("e")}, args...)...)
	}

	scenario(t, "run_output_exitcode", func(t *testing.T) {
		expectExit(t, c.run(t, run("--rm", img, uniq("t"), "echo", "hello from ctr")...), 0, "hello from ctr")
		expectExit(t, c.run(t, run("--rm", img, uniq("t"), "sh", "-c", "exit 7")...), 7)
	})

	scenario(t, "create_error_message", func(t *testing.T) {
		// The shim reports the last "error" line of the runtime's log.json.
		r := c.run(t, run("--rm", img, uniq("bad"), "/nonexistent")...)
		if r.code == 0 {
			t.Errorf("ctr run of /nonexistent succeeded:\n%s", r)
		}
		expectAny(t, r, "no such file or directory", "not found")
	})

	scenario(t, "run_detached", func(t *testing.T) {
		r := c.run(t, run(append([]string{"-d", "--null-io", "--memory-limit", "67108864", "--cpus", "0.5", img, d1}, trapLoop...)...)...)
		if !expectExit(t, r, 0) {
			return
		}
		pid, ok := waitCtrStatus(t, c, d1, "RUNNING")
		if !ok {
			return
		}
		if !waitReady(t, d1, func() result { return texec(t, "", d1, "test", "-e", "/tmp/ready") }) {
			return
		}
		d1pid = pid
		expectCgroup(t, pid, map[string]string{
			"memory/memory.limit_in_bytes": "67108864",
			"cpu/cpu.cfs_quota_us":         "50000",
			"cpu/cpu.cfs_period_us":        "100000",
		})
	})

	scenario(t, "exec", func(t *testing.T) {
		needD1(t)
		expectExit(t, texec(t, "", d1, "sh", "-c", "echo exec-ok; id -u"), 0, "exec-ok\n0\n")
		expectExit(t, texec(t, "piped-input\n", d1, "cat"), 0, "piped-input")
		expectExit(t, c.runTTY(t, "", "task", "exec", "-t", "--exec-id", uniq("e"), d1, "tty"), 0, "/dev/pts/")
		expectExit(t, texec(t, "", d1, "sh", "-c", "exit 5"), 5)
	})

	scenario(t, "ps", func(t *testing.T) {
		needD1(t)
		// `ctr task ps` is the runtime's `ps --format json`.
		r := c.run(t, "task", "ps", d1)
		expectExit(t, r, 0, fmt.Sprint(d1pid))
	})

	scenario(t, "pause_resume", func(t *testing.T) {
		needD1(t)
		if expectExit(t, c.run(t, "task", "pause", d1), 0) {
			waitCtrStatus(t, c, d1, "PAUSED")
			if st := freezerState(d1pid); st != "FROZEN" {
				t.Errorf("host freezer.state = %s, want FROZEN", st)
			}
		}
		if expectExit(t, c.run(t, "task", "resume", d1), 0) {
			waitCtrStatus(t, c, d1, "RUNNING")
			if st := freezerState(d1pid); st != "THAWED" {
				t.Errorf("host freezer.state = %s, want THAWED", st)
			}
		}
		expectExit(t, texec(t, "", d1, "echo", "alive"), 0, "alive")
	})

	scenario(t, "kill_signal", func(t *testing.T) {
		needD1(t)
		if !expectExit(t, c.run(t, "task", "kill", "-s", "SIGUSR1", d1), 0) {
			return
		}
		waitFor(t, "SIGUSR1 to reach the container", waitTimeout, func() (bool, string) {
			r := runCmd(t, cmdOpts{quiet: true}, c.cmd("task", "exec", "--exec-id", uniq("e"), d1, "cat", "/tmp/sig")...)
			return strings.Contains(r.stdout, "usr1"), r.String()
		})
		if _, st := ctrTask(t, c, d1); st != "RUNNING" {
			t.Errorf("status after SIGUSR1 = %s, want RUNNING", st)
		}
	})

	scenario(t, "update", func(t *testing.T) {
		t.Skip("ctr 1.6 has no `task update`; the shim's `update --resources -` is covered by TestDocker/update and TestCRI/*/update")
	})

	scenario(t, "stop_rm", func(t *testing.T) {
		needD1(t)
		// "stop": SIGTERM, wait for the exit, delete the task and the container.
		cg, _ := cgroupDir(d1pid, "memory")
		if expectExit(t, c.run(t, "task", "kill", d1), 0) {
			waitCtrStatus(t, c, d1, "STOPPED")
		}
		expectExit(t, c.run(t, "task", "delete", d1), 0)
		expectGone(t, cg)
		expectExit(t, c.run(t, "containers", "delete", d1), 0)
		d1pid = 0

		// kill --all, then delete.
		d2 := uniq("d2")
		if !expectExit(t, c.run(t, run(append([]string{"-d", "--null-io", img, d2}, trapLoop...)...)...), 0) {
			return
		}
		pid, _ := waitCtrStatus(t, c, d2, "RUNNING")
		cg, _ = cgroupDir(pid, "memory")
		if expectExit(t, c.run(t, "task", "kill", "--all", "-s", "SIGKILL", d2), 0) {
			waitCtrStatus(t, c, d2, "STOPPED")
		}
		expectExit(t, c.run(t, "task", "delete", d2), 0)
		expectGone(t, cg)
		expectExit(t, c.run(t, "containers", "delete", d2), 0)

		// rm -f: delete a running task by force.
		d3 := uniq("d3")
		if !expectExit(t, c.run(t, run(append([]string{"-d", "--null-io", img, d3}, trapLoop...)...)...), 0) {
			return
		}
		pid, _ = waitCtrStatus(t, c, d3, "RUNNING")
		cg, _ = cgroupDir(pid, "memory")
		expectExit(t, c.run(t, "task", "delete", "-f", d3), 0)
		if _, st := ctrTask(t, c, d3); !strings.HasPrefix(st, "no task") {
			t.Errorf("task %s still listed after delete -f: %s", d3, st)
		}
		expectGone(t, cg)
		expectExit(t, c.run(t, "containers", "delete", d3), 0)
	})

	scenario(t, "readonly_rootfs_nonroot_user", func(t *testing.T) {
		// ctr 1.6 has no --user: the image's USER is 65534:65534.
		checkROUser(t, c.run(t, run("--rm", "--read-only", imgNobody, uniq("ro"), "sh", "-c", roUserProbe)...))
	})

	scenario(t, "run_tty", func(t *testing.T) {
		expectExit(t, c.runTTY(t, "", run("--rm", "-t", img, uniq("tty"), "tty")...), 0, "/dev/pts/")
	})
}
