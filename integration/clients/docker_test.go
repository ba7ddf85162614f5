package clients

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDocker starts dockerd on containerd e (namespace moby) with its own
// data root, exec root, pid file and socket, the runtime registered as rtName,
// iptables and the default bridge off, and the cgroupfs driver. It is stopped
// by pid when t ends, after every container and network is removed.
func startDocker(t *testing.T, e *containerdEnv) *client {
	t.Helper()
	dir := filepath.Join(work, "docker")
	for _, d := range []string{"root", "exec"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "docker.sock")
	conf := map[string]any{
		"data-root":      filepath.Join(dir, "root"),
		"exec-root":      filepath.Join(dir, "exec"),
		"pidfile":        filepath.Join(dir, "dockerd.pid"),
		"hosts":          []string{"unix://" + sock},
		"containerd":     e.sock,
		"iptables":       false,
		"ip-masq":        false,
		"bridge":         "none",
		"userland-proxy": false,
		"exec-opts":      []string{"native.cgroupdriver=cgroupfs"},
		"storage-driver": "overlay2",
		"runtimes":       map[string]any{dockerRuntime(): map[string]string{"path": rtPath}},
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "dockerd", filepath.Join(dir, "dockerd.log"), filepath.Join(dir, "dockerd.bgpid"),
		nil, "dockerd", "--config-file", cfg)
	c := &client{argv: []string{dockerBin, "-H", "unix://" + sock}}
	t.Cleanup(func() {
		if d.alive() {
			r := c.quiet(t, "ps", "-aq")
			if ids := strings.Fields(r.stdout); len(ids) > 0 {
				c.quiet(t, append([]string{"rm", "-f"}, ids...)...)
			}
			c.quiet(t, "network", "prune", "-f")
		}
		d.stop(30 * time.Second)
		if t.Failed() {
			t.Logf("dockerd log (tail):\n%s", d.tail(4000))
		}
	})
	ok := waitFor(t, "dockerd to answer", 60*time.Second, func() (bool, string) {
		if !d.alive() {
			return true, ""
		}
		r := runCmd(t, cmdOpts{quiet: true, timeout: 10 * time.Second}, c.cmd("version")...)
		return r.code == 0, r.String()
	})
	if !ok || !d.alive() {
		t.Fatalf("dockerd did not come up:\n%s", d.tail(4000))
	}
	return c
}

// dockerRuntime is the name the runtime is registered under ("runc" is reserved).
func dockerRuntime() string { return "test-" + rtName }

// dockerBridge is the host bridge of the user-defined network of test
// process pid (reapStale removes a dead run's).
func dockerBridge(pid int) string { return fmt.Sprintf("lxccd%d", pid%1000000) }

func TestDocker(t *testing.T) {
	requireSuite(t)
	e := startContainerd(t, "dockerd-containerd", "", "moby")
	c := startDocker(t, e)
	expectRuntimeUsed(t)
	c.ok(t, "load", "-q", "-i", tarBusybox)
	img := imgBusybox
	run := func(args ...string) []string { return append([]string{"run", "--runtime", dockerRuntime()}, args...) }
	c1 := uniq("dk")
	var c1pid int
	needC1 := func(t *testing.T) {
		if c1pid == 0 {
			t.Fatal("no detached container: run_detached failed")
		}
	}

	scenario(t, "run_output_exitcode", func(t *testing.T) {
		expectExit(t, c.run(t, run("--rm", "--network", "none", img, "echo", "hello from docker")...), 0, "hello from docker")
		expectExit(t, c.run(t, run("--rm", "--network", "none", img, "sh", "-c", "exit 9")...), 9)
	})

	scenario(t, "run_missing_executable", func(t *testing.T) {
		r := c.run(t, run("--rm", "--network", "none", img, "/nonexistent")...)
		expectExit(t, r, 127)
		expectAny(t, r, "no such file or directory", "not found")
	})

	scenario(t, "run_detached", func(t *testing.T) {
		r := c.run(t, run(append([]string{"-d", "--name", c1, "--network", "none", "--memory", "64m", "--pids-limit", "100", img}, trapLoop...)...)...)
		if !expectExit(t, r, 0) {
			return
		}
		pid, _, ok := waitInspectStatus(t, c, c1, "running")
		if !ok {
			return
		}
		if !waitReady(t, c1, func() result { return c.quiet(t, "exec", c1, "test", "-e", "/tmp/ready") }) {
			return
		}
		c1pid = pid
		expectCgroup(t, pid, map[string]string{"memory/memory.limit_in_bytes": "67108864", "pids/pids.max": "100"})
	})

	scenario(t, "exec", func(t *testing.T) {
		needC1(t)
		expectExit(t, c.run(t, "exec", c1, "sh", "-c", "echo exec-ok; id -u"), 0, "exec-ok\n0\n")
		expectExit(t, c.runIn(t, "piped-input\n", "exec", "-i", c1, "cat"), 0, "piped-input")
		expectExit(t, c.runTTY(t, "", "exec", "-t", c1, "tty"), 0, "/dev/pts/")
		expectExit(t, c.run(t, "exec", c1, "sh", "-c", "exit 5"), 5)
		expectExit(t, c.run(t, "exec", "--user", "65534:65534", c1, "id", "-u"), 0, "65534")
	})

	scenario(t, "top", func(t *testing.T) {
		needC1(t)
		// docker top is the runtime's `ps --format json`.
		expectExit(t, c.run(t, "top", c1), 0, fmt.Sprint(c1pid))
	})

	scenario(t, "pause_resume", func(t *testing.T) {
		needC1(t)
		checkPauseResume(t, c, c1, c1pid)
	})

	scenario(t, "kill_signal", func(t *testing.T) {
		needC1(t)
		checkKillSignal(t, c, c1)
	})

	scenario(t, "update", func(t *testing.T) {
		needC1(t)
		if expectExit(t, c.run(t, "update", "--memory", "128m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "200", c1), 0) {
			expectCgroup(t, c1pid, map[string]string{
				"memory/memory.limit_in_bytes": "134217728",
				"cpu/cpu.cfs_quota_us":         "50000",
				"cpu/cpu.cfs_period_us":        "100000",
				"pids/pids.max":                "200",
			})
		}
	})

	scenario(t, "stop_start_restart_rm", func(t *testing.T) {
		needC1(t)
		cg, _ := cgroupDir(c1pid, "memory")
		if expectExit(t, c.run(t, "stop", "-t", "10", c1), 0) {
			if _, exit, ok := waitInspectStatus(t, c, c1, "exited"); ok && exit != 3 {
				t.Errorf("exit code after stop = %d, want 3 (the TERM trap)", exit)
			}
			expectGone(t, cg)
		}
		if expectExit(t, c.run(t, "start", c1), 0) {
			pid, _, _ := waitInspectStatus(t, c, c1, "running")
			if pid > 0 {
				cg, _ = cgroupDir(pid, "memory")
			}
			waitReady(t, c1, func() result { return c.quiet(t, "exec", c1, "test", "-e", "/tmp/ready") })
			if expectExit(t, c.run(t, "restart", "-t", "5", c1), 0) {
				pid2, _, _ := waitInspectStatus(t, c, c1, "running")
				if pid2 == pid {
					t.Errorf("restart kept pid %d", pid)
				}
				if pid2 > 0 {
					cg, _ = cgroupDir(pid2, "memory")
				}
			}
		}
		if expectExit(t, c.run(t, "rm", "-f", c1), 0) {
			if r := c.quiet(t, "inspect", c1); r.code == 0 {
				t.Errorf("%s still exists after rm -f", c1)
			}
			expectGone(t, cg)
		}
		c1pid = 0
	})

	scenario(t, "readonly_rootfs_nonroot_user", func(t *testing.T) {
		checkROUser(t, c.run(t, run("--rm", "--network", "none", "--read-only", "--user", "65534:65534", img, "sh", "-c", roUserProbe)...))
	})

	scenario(t, "run_tty", func(t *testing.T) {
		expectExit(t, c.runTTY(t, "", run("--rm", "-t", "--network", "none", img, "tty")...), 0, "/dev/pts/")
		r := c.runTTY(t, "echo hi-from-tty\nexit 3\n", run("--rm", "-it", "--network", "none", img, "sh")...)
		expectExit(t, r, 3, "hi-from-tty")
	})

	scenario(t, "user_defined_bridge_network", func(t *testing.T) {
		// Docker wires the veth from an OCI prestart hook (libnetwork-setkey).
		net := uniq("lxcnet")
		if !expectExit(t, c.run(t, "network", "create", "--driver", "bridge", "--subnet", "172.31.250.0/24",
			"-o", "com.docker.network.bridge.name="+dockerBridge(os.Getpid()), net), 0) {
			return
		}
		defer c.quiet(t, "network", "rm", net)
		r := c.run(t, run("--rm", "--network", net, img, "ip", "-4", "addr", "show", "eth0")...)
		expectExit(t, r, 0, "inet 172.31.250.")
	})
}
