package clients

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	criHandler = "lxcc"     // the CRI runtime handler driving the runtime under test
	criBridge  = "lxcccri0" // the CNI bridge on the host
	criSubnet  = "10.250.77.0/24"
	criNetPfx  = "10.250.77."
)

// criEnv is a containerd with the CRI plugin, a handler for the runtime under
// test, a CNI bridge network, and crictl pointed at it.
type criEnv struct {
	dir string
	c   *client
}

func startCRI(t *testing.T) *criEnv {
	t.Helper()
	dir := filepath.Join(work, "cri")
	for _, d := range []string{"cni/net.d", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cni := fmt.Sprintf(`{ "cniVersion": "0.4.0", "name": "lxcc-cri",
  "plugins": [ { "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false,
                 "ipam": { "type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q } },
               { "type": "loopback" } ] }
`, criBridge, criSubnet, filepath.Join(dir, "cni/ipam"))
	if err := os.WriteFile(filepath.Join(dir, "cni/net.d/10-lxcc.conflist"), []byte(cni), 0o644); err != nil {
		t.Fatal(err)
	}
	hadBridge := linkExists(criBridge)
	// restrict_oom_score_adj: the pause sandbox asks for oomScoreAdj -998, and
	// lowering it needs CAP_SYS_RESOURCE, which this machine does not have.
	plugins := fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[1]q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = %[2]q
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%[2]s]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%[2]s.options]
        BinaryName = %[3]q
        SystemdCgroup = false
        Root = %[4]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[5]q
`, imgPause, criHandler, rtPath, filepath.Join(dir, "rt-root"), filepath.Join(dir, "cni/net.d"))
	t.Cleanup(func() {
		if !hadBridge && linkExists(criBridge) {
			_ = runSteps([][]string{{"ip", "link", "del", criBridge}})
		}
	})
	e := startContainerd(t, "cri", plugins, "k8s.io")
	ctr := e.ctr("k8s.io")
	for _, tar := range []string{tarPause, tarBusybox} {
		ctr.ok(t, "images", "import", tar)
	}
	cfg := filepath.Join(dir, "crictl.yaml")
	y := fmt.Sprintf("runtime-endpoint: unix://%[1]s\nimage-endpoint: unix://%[1]s\ntimeout: 60\n", e.sock)
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	ce := &criEnv{dir: dir, c: &client{argv: []string{crictlBin, "--config", cfg}}}
	// Runs before containerd's cleanup: remove pods (and their containers).
	t.Cleanup(func() {
		ce.c.quiet(t, "rm", "-a", "-f")
		ce.c.quiet(t, "rmp", "-a", "-f")
	})
	// The CRI plugin sees the imported images through containerd's events.
	waitFor(t, "CRI to list the pause image", waitTimeout, func() (bool, string) {
		r := ce.c.quiet(t, "images")
		return strings.Contains(r.stdout, "localhost/pause"), r.String()
	})
	return ce
}

// writeJSON writes v as JSON to <dir>/name and returns the path.
func (e *criEnv) writeJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// podConfig is a PodSandboxConfig; hostNet selects NODE networking (2),
// otherwise POD (0: the CNI bridge).
func (e *criEnv) podConfig(t testing.TB, name string, hostNet bool) string {
	network := 0
	if hostNet {
		network = 2
	}
	logDir := filepath.Join(e.dir, "logs", name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return e.writeJSON(t, name+".pod.json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "default", "uid": "uid-" + name, "attempt": 0},
		"log_directory": logDir,
		"linux":         map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": network}}},
	})
}

// containerConfig is a ContainerConfig running command; extra is merged into
// its top level ("linux", "tty", ...).
func (e *criEnv) containerConfig(t testing.TB, name string, command []string, extra map[string]any) string {
	cfg := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": imgBusybox},
		"command":  command,
		"log_path": name + ".log",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return e.writeJSON(t, name+".ctr.json", cfg)
}

// inspect decodes `crictl inspect[p] id`.
func (e *criEnv) inspect(t testing.TB, verb, id string) (m map[string]any, raw string) {
	r := e.c.quiet(t, verb, id)
	if r.code != 0 {
		return nil, r.String()
	}
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		return nil, fmt.Sprintf("decoding %s output: %v\n%s", verb, err, r.stdout)
	}
	return m, r.stdout
}

// jpath walks m by keys.
func jpath(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func jint(v any) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return 0
}

// state is status.state, info.pid and status.exitCode of a container or pod.
func (e *criEnv) state(t testing.TB, verb, id string) (state string, pid, exit int) {
	m, raw := e.inspect(t, verb, id)
	if m == nil {
		return "inspect failed: " + raw, 0, -1
	}
	s, _ := jpath(m, "status", "state").(string)
	return s, jint(jpath(m, "info", "pid")), jint(jpath(m, "status", "exitCode"))
}

func (e *criEnv) waitState(t testing.TB, verb, id, want string) (pid, exit int, ok bool) {
	t.Helper()
	ok = waitFor(t, id+" to be "+want, waitTimeout, func() (bool, string) {
		var st string
		st, pid, exit = e.state(t, verb, id)
		return st == want, fmt.Sprintf("state %s pid %d exit %d", st, pid, exit)
	})
	return pid, exit, ok
}

// criPod is a running pod sandbox.
type criPod struct {
	id, config string
	pid        int // the pause process
}

// runPod starts a pod and waits until it is ready.
func (e *criEnv) runPod(t testing.TB, name string, hostNet bool) *criPod {
	t.Helper()
	cfg := e.podConfig(t, name, hostNet)
	r := e.c.run(t, "runp", "--runtime", criHandler, cfg)
	if r.code != 0 {
		t.Fatalf("runp failed:\n%s", r)
	}
	p := &criPod{id: firstLine(r.stdout), config: cfg}
	pid, _, ok := e.waitState(t, "inspectp", p.id, "SANDBOX_READY")
	if !ok {
		t.FailNow()
	}
	p.pid = pid
	return p
}

// startContainer creates and starts a container in pod p and waits until it
// runs; it returns the container id and its pid.
func (e *criEnv) startContainer(t testing.TB, p *criPod, name string, command []string, extra map[string]any) (string, int) {
	t.Helper()
	r := e.c.run(t, "create", p.id, e.containerConfig(t, name, command, extra), p.config)
	if r.code != 0 {
		t.Fatalf("create failed:\n%s", r)
	}
	id := firstLine(r.stdout)
	if r := e.c.run(t, "start", id); r.code != 0 {
		t.Fatalf("start failed:\n%s", r)
	}
	pid, _, ok := e.waitState(t, "inspect", id, "CONTAINER_RUNNING")
	if !ok {
		t.FailNow()
	}
	return id, pid
}

// runToExit creates and starts a container that exits by itself, and returns
// its logs and exit code.
func (e *criEnv) runToExit(t testing.TB, p *criPod, name string, command []string, extra map[string]any) (string, int) {
	t.Helper()
	r := e.c.run(t, "create", p.id, e.containerConfig(t, name, command, extra), p.config)
	if r.code != 0 {
		t.Fatalf("create failed:\n%s", r)
	}
	id := firstLine(r.stdout)
	defer e.c.quiet(t, "rm", "-f", id)
	if r := e.c.run(t, "start", id); r.code != 0 {
		t.Fatalf("start failed:\n%s", r)
	}
	_, exit, ok := e.waitState(t, "inspect", id, "CONTAINER_EXITED")
	if !ok {
		t.FailNow()
	}
	logs := e.c.run(t, "logs", id)
	return logs.all(), exit
}

// expectJoined checks that pid shares the namespaces of the pause process.
func expectJoined(t testing.TB, pid, pausePid int, nss ...string) {
	t.Helper()
	for _, ns := range nss {
		if a, b := nsOf(pid, ns), nsOf(pausePid, ns); a != b {
			t.Errorf("%s namespace of the container (pid %d) is %s, the pod's (pause pid %d) is %s", ns, pid, a, pausePid, b)
		}
	}
}

func TestCRI(t *testing.T) {
	requireSuite(t)
	e := startCRI(t)
	expectRuntimeUsed(t)
	c := e.c
	var hostPod, cniPod *criPod
	var wid string
	var wpid int
	needHost := func(t *testing.T) {
		if hostPod == nil {
			t.Fatal("no host-network pod: hostnet_runp failed")
		}
	}
	needW := func(t *testing.T) {
		if wid == "" {
			t.Fatal("no workload container: hostnet_workload failed")
		}
	}

	scenario(t, "hostnet_runp", func(t *testing.T) {
		hostPod = e.runPod(t, uniq("pod-host"), true)
		expectJoined(t, hostPod.pid, os.Getpid(), "net")
		if a, b := nsOf(hostPod.pid, "pid"), nsOf(os.Getpid(), "pid"); a == b {
			t.Errorf("pause process shares the host pid namespace %s", a)
		}
	})

	scenario(t, "run_output_exitcode", func(t *testing.T) {
		needHost(t)
		logs, exit := e.runToExit(t, hostPod, "out", []string{"sh", "-c", "echo hello from cri; exit 7"}, nil)
		if exit != 7 || !strings.Contains(logs, "hello from cri") {
			t.Errorf("container: exit %d, logs %q; want 7 and \"hello from cri\"", exit, logs)
		}
	})

	scenario(t, "hostnet_workload", func(t *testing.T) {
		needHost(t)
		// The workload joins the pause process's namespaces by path
		// (/proc/<pause>/ns/{ipc,pid,net,uts}).
		wid, wpid = e.startContainer(t, hostPod, "bb", []string{"sleep", "1000"}, map[string]any{
			"linux": map[string]any{"resources": map[string]any{
				"memory_limit_in_bytes": 67108864, "cpu_quota": 50000, "cpu_period": 100000}},
		})
		expectJoined(t, wpid, hostPod.pid, "ipc", "pid", "net")
		if a, b := nsOf(wpid, "mnt"), nsOf(hostPod.pid, "mnt"); a == b {
			t.Errorf("container shares the pause process's mount namespace %s", a)
		}
		expectCgroup(t, wpid, map[string]string{
			"memory/memory.limit_in_bytes": "67108864",
			"cpu/cpu.cfs_quota_us":         "50000",
		})
	})

	scenario(t, "exec", func(t *testing.T) {
		needW(t)
		expectExit(t, c.run(t, "exec", "-s", wid, "sh", "-c", "echo exec-ok; id -u"), 0, "exec-ok\n0\n")
		expectExit(t, c.runIn(t, "piped-input\n", "exec", "-i", wid, "cat"), 0, "piped-input")
		expectExit(t, c.runTTY(t, "", "exec", "-it", wid, "tty"), 0, "/dev/pts/")
		// crictl exec -s exits 1 and reports the command's status.
		expectExit(t, c.run(t, "exec", "-s", wid, "sh", "-c", "exit 5"), 1, "exited with 5")
	})

	scenario(t, "update", func(t *testing.T) {
		needW(t)
		if expectExit(t, c.run(t, "update", "--memory", "134217728", "--cpu-quota", "20000", "--cpu-period", "100000", wid), 0) {
			expectCgroup(t, wpid, map[string]string{
				"memory/memory.limit_in_bytes": "134217728",
				"cpu/cpu.cfs_quota_us":         "20000",
				"cpu/cpu.cfs_period_us":        "100000",
			})
		}
	})

	scenario(t, "stop_rm", func(t *testing.T) {
		needW(t)
		// sleep is not pid 1 (the pod shares one pid namespace): SIGTERM kills
		// it; the shim then runs `kill --all` on the exited container.
		cg, _ := cgroupDir(wpid, "memory")
		if expectExit(t, c.run(t, "stop", "-t", "10", wid), 0) {
			if _, exit, ok := e.waitState(t, "inspect", wid, "CONTAINER_EXITED"); ok && exit != 143 {
				t.Errorf("exit code after stop = %d, want 143 (SIGTERM)", exit)
			}
			expectGone(t, cg)
		}
		if expectExit(t, c.run(t, "rm", wid), 0) {
			if r := c.quiet(t, "inspect", wid); r.code == 0 {
				t.Errorf("container %s still exists after rm", wid)
			}
		}
		wid = ""
	})

	scenario(t, "readonly_rootfs_nonroot_user", func(t *testing.T) {
		needHost(t)
		logs, exit := e.runToExit(t, hostPod, "ro", []string{"sh", "-c", roUserProbe}, map[string]any{
			"linux": map[string]any{"security_context": map[string]any{
				"run_as_user": map[string]any{"value": 65534}, "run_as_group": map[string]any{"value": 65534},
				"readonly_rootfs": true}},
		})
		checkROUser(t, result{argv: []string{"crictl", "logs"}, stdout: logs, code: exit})
	})

	scenario(t, "run_tty", func(t *testing.T) {
		needHost(t)
		// A tty container: the runtime hands the pty master to the shim over
		// the console socket.
		logs, exit := e.runToExit(t, hostPod, "tty", []string{"tty"}, map[string]any{"tty": true})
		if exit != 0 || !strings.Contains(logs, "/dev/pts/") {
			t.Errorf("tty container: exit %d, logs %q; want 0 and /dev/pts/N", exit, logs)
		}
	})

	scenario(t, "create_error_message", func(t *testing.T) {
		needHost(t)
		r := c.run(t, "create", hostPod.id, e.containerConfig(t, "bad", []string{"/nonexistent"}, nil), hostPod.config)
		if r.code != 0 {
			t.Fatalf("create failed:\n%s", r)
		}
		id := firstLine(r.stdout)
		defer c.quiet(t, "rm", "-f", id)
		r = c.run(t, "start", id)
		if r.code == 0 {
			t.Errorf("start of /nonexistent succeeded:\n%s", r)
		}
		expectAny(t, r, "no such file or directory", "not found")
	})

	scenario(t, "cni_pod", func(t *testing.T) {
		cniPod = e.runPod(t, uniq("pod-cni"), false)
		m, raw := e.inspect(t, "inspectp", cniPod.id)
		ip, _ := jpath(m, "status", "network", "ip").(string)
		if !strings.HasPrefix(ip, criNetPfx) {
			t.Errorf("pod IP = %q, want %s*; inspectp:\n%s", ip, criNetPfx, clip(raw, 3000))
		}
		if a, b := nsOf(cniPod.pid, "net"), nsOf(os.Getpid(), "net"); a == b {
			t.Errorf("CNI pod is in the host network namespace %s", a)
		}
		id, pid := e.startContainer(t, cniPod, "bbnet", []string{"sleep", "1000"}, nil)
		expectJoined(t, pid, cniPod.pid, "net", "ipc", "uts", "pid")
		r := c.run(t, "exec", "-s", id, "ip", "-4", "addr", "show", "eth0")
		expectExit(t, r, 0, "inet "+ip+"/")
	})

	scenario(t, "stopp_rmp", func(t *testing.T) {
		for _, p := range []*criPod{hostPod, cniPod} {
			if p == nil {
				continue
			}
			cg, _ := cgroupDir(p.pid, "memory")
			if expectExit(t, c.run(t, "stopp", p.id), 0) {
				e.waitState(t, "inspectp", p.id, "SANDBOX_NOTREADY")
				expectGone(t, cg)
			}
			if expectExit(t, c.run(t, "rmp", p.id), 0) {
				if r := c.quiet(t, "inspectp", p.id); r.code == 0 {
					t.Errorf("pod %s still exists after rmp", p.id)
				}
			}
		}
		hostPod, cniPod = nil, nil
	})
}
