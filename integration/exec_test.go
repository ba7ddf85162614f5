package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The default container's capabilities (defaultSpec): AUDIT_WRITE, KILL,
// NET_BIND_SERVICE.
var defaultCaps = capBit(capAuditWrite) | capBit(capKill) | capBit(capNetBindService)

// TestExecArgs: `exec ID cmd args...` runs the command in the container's
// namespaces with the container's process settings; the exit code is the
// process's, 128+N when it died of signal N.
func TestExecArgs(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	t.Run("sh_c", func(t *testing.T) {
		res := c.exec(c.id, "sh", "-c", `echo "hello $0 $1"; hostname`, "zero", "one two").mustSucceed(t)
		l := lines(res.Stdout)
		if len(l) < 2 || l[0] != "hello zero one two" || l[1] != "lxcrun-it" {
			t.Errorf("exec output %q, want \"hello zero one two\" then the container's hostname", res.Stdout)
		}
	})
	t.Run("same_namespaces_as_init", func(t *testing.T) {
		pid := c.initPid()
		res := c.exec(c.id, "sh", "-c", "for n in pid mnt net ipc uts; do readlink /proc/self/ns/$n; done").mustSucceed(t)
		got := lines(res.Stdout)
		for i, n := range []string{"pid", "mnt", "net", "ipc", "uts"} {
			want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
			if err != nil {
				t.Fatal(err)
			}
			if i >= len(got) || got[i] != want {
				t.Errorf("exec'd process %s namespace: %q, want the init's %q (output %q)", n, lineAt(got, i), want, res.Stdout)
			}
		}
	})
	t.Run("stdin", func(t *testing.T) {
		cmd := c.cmd("exec", c.id, "sh", "-c", "read a; read b; echo \"got $a/$b\"")
		cmd.Stdin = strings.NewReader("one\ntwo\n")
		res := runCmd(t, cmd).mustSucceed(t)
		if strings.TrimSpace(res.Stdout) != "got one/two" {
			t.Errorf("exec stdin: %q, want \"got one/two\"", res.Stdout)
		}
	})
	t.Run("stderr", func(t *testing.T) {
		res := c.exec(c.id, "sh", "-c", "echo to-out; echo to-err >&2").mustSucceed(t)
		if !strings.Contains(res.Stdout, "to-out") || strings.Contains(res.Stdout, "to-err") || !strings.Contains(res.Stderr, "to-err") {
			t.Errorf("exec stdout/stderr mixed up: %s", res)
		}
	})
	codes := []struct {
		name   string
		script string
		want   int
	}{
		{"exit0", "exit 0", 0},
		{"exit3", "exit 3", 3},
		{"exit255", "exit 255", 255},
		// the exec'd process is not the pid namespace's init: its signals kill it
		{"SIGKILL", "kill -KILL $$", 128 + 9},
		{"SIGTERM", "kill -TERM $$", 128 + 15},
		{"SIGSEGV", "kill -SEGV $$", 128 + 11},
	}
	for _, tc := range codes {
		t.Run("code_"+tc.name, func(t *testing.T) {
			if res := c.exec(c.id, "sh", "-c", tc.script); res.Code != tc.want {
				t.Errorf("exit code %d, want %d: %s", res.Code, tc.want, res)
			}
		})
	}
	// The container is not disturbed by any of it.
	if st := c.mustState(); st.Status != specs.StateRunning {
		t.Errorf("container after the execs: %+v, want running", st)
	}
}

// at returns l[i] or "" when l is shorter.
func lineAt(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return ""
}

// TestExecStartFailure: a process that cannot be started makes exec exit
// 255 with the errno in the message (podman maps "no such file or directory"
// to 127 and "permission denied" to 126); the container keeps running.
func TestExecStartFailure(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nonexistent", []string{"/nonexistent"}, "no such file or directory"},
		// runc 1.1.5: exec: "no-such-command": executable file not found in $PATH
		// (podman maps that to 127 too)
		{"nonexistent_in_path", []string{"no-such-command"}, "executable file not found"},
		// a regular file without x bits
		{"not_executable", []string{"/etc/passwd"}, "permission denied"},
		// a directory: execve(2) says EACCES, as runc 1.1.5 reports it
		// (podman maps "permission denied" to 126)
		{"directory", []string{"/tmp"}, "permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.exec(append([]string{c.id}, tc.args...)...).mustFail(t, tc.want)
			if res.Code != 255 {
				t.Errorf("exit code %d, want 255: %s", res.Code, res)
			}
		})
	}
	t.Run("bad_cwd", func(t *testing.T) {
		// runc 1.1.5: "chdir to cwd (\"/nonexistent\") set in config.json failed: no such file or directory"
		res := c.exec("--cwd", "/nonexistent", c.id, "true").mustFail(t, "no such file or directory")
		if res.Code != 255 {
			t.Errorf("exit code %d, want 255: %s", res.Code, res)
		}
	})
	if st := c.mustState(); st.Status != specs.StateRunning || !alive(st.Pid) {
		t.Errorf("container after failed execs: %+v, want running", st)
	}
}

// TestExecProcessFile: `exec --process FILE`, with a full specs.Process as
// containerd's shim writes it (go-runc: exec --process F --detach --pid-file
// P ID) and as conmon calls it (exec --pid-file F --process P --detach
// [--tty --console-socket S] ID).
func TestExecProcessFile(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	script := strings.Join([]string{
		"echo id=$(id -u):$(id -g)",
		"grep '^Groups:' /proc/self/status | tr -s '\\t ' ' '",
		"echo cwd=$(pwd)",
		"echo env=$SHIMVAR/${TERM:-unset}",
		"grep -E '^(CapEff|CapBnd|CapInh|CapPrm|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '",
		"grep -E '^Max (core file size|open files)' /proc/self/limits | tr -s ' ' ' '",
		"exit 7",
	}, "; ")
	shimProc := func() specs.Process {
		kill := []string{"CAP_KILL"}
		return specs.Process{
			Terminal: false,
			User:     specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{1234}},
			Args:     []string{"sh", "-c", script},
			Env:      []string{defaultPath, "SHIMVAR=from-process-json"},
			Cwd:      "/tmp",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_KILL", "CAP_CHOWN"},
				Effective: kill,
				Permitted: kill,
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1000, Soft: 512},
				{Type: "RLIMIT_CORE", Hard: 4096, Soft: 0},
			},
			NoNewPrivileges: true,
		}
	}
	want := []string{
		"id=65534:65534",
		"Groups: 1234",
		"cwd=/tmp",
		// nothing of the container's own process.env
		"env=from-process-json/unset",
		// non-root without ambient capabilities: only the bounding set stays
		"CapInh: 0000000000000000",
		"CapPrm: 0000000000000000",
		"CapEff: 0000000000000000",
		"CapBnd: 0000000000000021",
		"NoNewPrivs: 1",
		"Max core file size 0 4096 bytes",
	}
	// check is checkLinesInOrder(want) plus the RLIMIT_NOFILE line.
	check := func(t *testing.T, out string) {
		t.Helper()
		checkLinesInOrder(t, out, want)
		m := regexp.MustCompile(`Max open files ([0-9]+) ([0-9]+) files`).FindStringSubmatch(out)
		switch {
		case m == nil:
			t.Errorf("no RLIMIT_NOFILE line in %q", out)
		case m[2] != "1000":
			t.Errorf("RLIMIT_NOFILE hard %s, want 1000", m[2])
		case m[1] == "512":
		case isRunc() && m[1] == "1000":
			// runc 1.1.5 bug, about one exec in two here: the
			// exec'd process keeps the soft RLIMIT_NOFILE that the
			// Go runtime of runc's init raised to the hard limit
			// (go1.19+), not the process's. lxcrun must apply 512.
			t.Logf("runc 1.1.5: soft RLIMIT_NOFILE %s instead of 512 (known runc bug)", m[1])
		default:
			t.Errorf("RLIMIT_NOFILE soft %s, want 512", m[1])
		}
	}
	t.Run("foreground", func(t *testing.T) {
		p := writeTempJSON(t, "process.json", shimProc())
		res := c.exec("--process", p, c.id)
		if res.Code != 7 {
			t.Fatalf("exit code %d, want the process's 7: %s", res.Code, res)
		}
		check(t, res.Stdout)
	})
	t.Run("containerd_shim", func(t *testing.T) {
		p := writeTempJSON(t, "process.json", shimProc())
		pidFile := filepath.Join(shortTempDir(t), "exec.pid")
		res := c.exec("--process", p, "--detach", "--pid-file", pidFile, c.id).mustSucceed(t)
		pid := readPidFile(t, pidFile)
		if !waitGone(pid) {
			t.Fatalf("exec'd process %d did not exit", pid)
		}
		waitFor(func() bool { return strings.Contains(res.laterStdout(t), "Max open files") })
		check(t, res.laterStdout(t))
	})
	t.Run("conmon", func(t *testing.T) {
		p := writeTempJSON(t, "process.json", shimProc())
		pidFile := filepath.Join(shortTempDir(t), "exec.pid")
		res := c.exec("--pid-file", pidFile, "--process", p, "--detach", c.id).mustSucceed(t)
		pid := readPidFile(t, pidFile)
		if !waitGone(pid) {
			t.Fatalf("exec'd process %d did not exit", pid)
		}
		waitFor(func() bool { return strings.Contains(res.laterStdout(t), "Max open files") })
		check(t, res.laterStdout(t))
	})
	t.Run("conmon_tty", func(t *testing.T) {
		recv := newConsoleReceiver(t)
		proc := shimProc()
		proc.Terminal = true
		proc.Env = append(proc.Env, "TERM=xterm")
		proc.Args = []string{"sh", "-c", "tty; echo env=$SHIMVAR; echo marker-$((40+2)); sleep 1"}
		p := writeTempJSON(t, "process.json", proc)
		pidFile := filepath.Join(shortTempDir(t), "exec.pid")
		c.exec("--pid-file", pidFile, "--process", p, "--detach", "--tty", "--console-socket", recv.path, c.id).mustSucceed(t)
		master := recv.wait(t)
		pid := readPidFile(t, pidFile)
		out := readUntil(master, "marker-42")
		if !strings.Contains(out, "marker-42") || !ptsRe.MatchString(out) || !strings.Contains(out, "env=from-process-json") {
			t.Errorf("output on the pty master: %q, want a /dev/pts tty, the env and the marker", out)
		}
		if !waitGone(pid) {
			t.Errorf("exec'd process %d did not exit", pid)
		}
	})
	t.Run("root_with_caps", func(t *testing.T) {
		proc := shimProc()
		proc.User = specs.User{UID: 0, GID: 0}
		proc.Args = []string{"sh", "-c", "grep -E '^(CapEff|CapBnd|CapInh):' /proc/self/status | tr -s '\\t ' ' '"}
		p := writeTempJSON(t, "process.json", proc)
		res := c.exec("--process", p, c.id).mustSucceed(t)
		checkLinesInOrder(t, res.Stdout, []string{"CapInh: 0000000000000000", "CapEff: 0000000000000020", "CapBnd: 0000000000000021"})
	})
	t.Run("bad_json", func(t *testing.T) {
		p := writeTempFile(t, "process.json", "{not json")
		c.exec("--process", p, c.id).mustFail(t)
	})
	t.Run("missing_file", func(t *testing.T) {
		c.exec("--process", filepath.Join(shortTempDir(t), "none.json"), c.id).mustFail(t, "no such file or directory")
	})
}

// readPidFile waits for a pid file and checks that it holds digits only
// (what containerd and conmon parse) naming a live or just exited process.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	s := waitFile(t, path)
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(s) {
		t.Errorf("pid file holds %q, want digits only (no newline)", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %q holds no pid", s)
	}
	return pid
}

// TestExecOverrides: --env, --cwd, --user, --additional-gids override the
// container's process for the exec'd one.
func TestExecOverrides(t *testing.T) {
	t.Parallel()
	c := runningCtr(t, func(s *specs.Spec) {
		s.Process.Env = []string{defaultPath, "TERM=xterm", "KEEP=kept", "OVER=old"}
		s.Process.Cwd = "/mnt"
	})
	// urfave/cli (runc's too) refuses to mix a flag's long and short
	// forms in one command line ("Cannot use two forms of the same flag"),
	// so each form is tested alone.
	wantEnv := map[string]string{"OVER": "new", "ADDED": "a b", "EMPTY": "", "KEEP": "kept", "TERM": "xterm", "PATH": strings.TrimPrefix(defaultPath, "PATH=")}
	for _, flag := range []string{"--env", "-e"} {
		t.Run("env"+flag, func(t *testing.T) {
			res := c.exec(flag, "OVER=new", flag, "ADDED=a b", flag, "EMPTY=", c.id, "env").mustSucceed(t)
			env := map[string][]string{}
			for _, kv := range lines(res.Stdout) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = append(env[k], v)
			}
			for k, v := range wantEnv {
				if got := env[k]; len(got) != 1 || got[0] != v {
					t.Errorf("%s in the exec'd environment: %q, want exactly one %q; env:\n%s", k, got, v, res.Stdout)
				}
			}
		})
	}
	t.Run("env_default_is_containers", func(t *testing.T) {
		res := c.exec(c.id, "sh", "-c", "echo $KEEP/$OVER; pwd").mustSucceed(t)
		checkLinesInOrder(t, res.Stdout, []string{"kept/old", "/mnt"})
	})
	t.Run("cwd", func(t *testing.T) {
		res := c.exec("--cwd", "/tmp", c.id, "pwd").mustSucceed(t)
		if strings.TrimSpace(res.Stdout) != "/tmp" {
			t.Errorf("exec --cwd /tmp: pwd %q", res.Stdout)
		}
	})
	t.Run("user", func(t *testing.T) {
		res := c.exec("-u", "65534:65534", c.id, "sh", "-c", "id -u; id -g; id").mustSucceed(t)
		l := lines(res.Stdout)
		if len(l) != 3 || l[0] != "65534" || l[1] != "65534" || !strings.Contains(l[2], "uid=65534") {
			t.Errorf("exec -u 65534:65534: %q", res.Stdout)
		}
	})
	t.Run("user_long_flag", func(t *testing.T) {
		res := c.exec("--user", "1000:1001", c.id, "sh", "-c", "echo $(id -u):$(id -g)").mustSucceed(t)
		if strings.TrimSpace(res.Stdout) != "1000:1001" {
			t.Errorf("exec --user 1000:1001: %q", res.Stdout)
		}
	})
	for _, flag := range []string{"--additional-gids", "-g"} {
		t.Run("additional_gids"+flag, func(t *testing.T) {
			res := c.exec("-u", "65534:65534", flag, "1234", flag, "4321", c.id,
				"sh", "-c", "grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '").mustSucceed(t)
			checkLinesInOrder(t, res.Stdout, []string{"Uid: 65534 65534 65534 65534", "Gid: 65534 65534 65534 65534", "Groups: 1234 4321"})
		})
	}
}

// TestExecCaps: the exec'd process gets the container's capabilities;
// --cap adds to bounding, effective and permitted, never to inheritable
// (CVE-2022-29162).
func TestExecCaps(t *testing.T) {
	t.Parallel()
	status := func(t *testing.T, c *ctr, extra ...string) string {
		t.Helper()
		args := append(append([]string{}, extra...), c.id, "cat", "/proc/self/status")
		return c.exec(args...).mustSucceed(t).Stdout
	}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		st := status(t, c)
		for field, want := range map[string]uint64{"CapEff": defaultCaps, "CapPrm": defaultCaps, "CapBnd": defaultCaps, "CapInh": 0, "CapAmb": 0} {
			if got := capField(t, st, field); got != want {
				t.Errorf("%s = %016x, want %016x", field, got, want)
			}
		}
	})
	t.Run("cap_SYS_ADMIN", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		st := status(t, c, "--cap", "CAP_SYS_ADMIN")
		want := defaultCaps | capBit(capSysAdmin)
		for field, want := range map[string]uint64{"CapEff": want, "CapPrm": want, "CapBnd": want, "CapInh": 0, "CapAmb": 0} {
			if got := capField(t, st, field); got != want {
				t.Errorf("exec --cap CAP_SYS_ADMIN: %s = %016x, want %016x", field, got, want)
			}
		}
		// the next exec without --cap is back to the container's set
		if got := capField(t, status(t, c), "CapBnd"); got != defaultCaps {
			t.Errorf("exec after exec --cap: CapBnd = %016x, want %016x", got, defaultCaps)
		}
	})
	t.Run("inheritable_in_config", func(t *testing.T) {
		t.Parallel()
		// A config (as `runc spec` made before 1.1.2, and old clients)
		// with inheritable capabilities.
		c := runningCtr(t, func(s *specs.Spec) {
			s.Process.Capabilities.Inheritable = []string{"CAP_KILL", "CAP_AUDIT_WRITE"}
		})
		inh := capBit(capKill) | capBit(capAuditWrite)
		for _, extra := range [][]string{nil, {"--cap", "CAP_SYS_ADMIN"}} {
			st := status(t, c, extra...)
			got := capField(t, st, "CapInh")
			want := uint64(0)
			if isRunc() {
				// runc 1.1.5 gives exec'd processes the config's
				// inheritable set (only --cap stopped adding to it in
				// 1.1.2). lxcrun deliberately clears CapInh in every
				// exec'd process (CVE-2022-29162: no inheritable
				// capabilities that a file's inheritable bits could
				// turn into permitted ones).
				want = inh
			}
			if got != want {
				t.Errorf("exec %v into a container with inheritable caps in its config: CapInh = %016x, want %016x", extra, got, want)
			}
			if amb := capField(t, st, "CapAmb"); amb&^got != 0 {
				t.Errorf("CapAmb %016x is not within CapInh %016x", amb, got)
			}
			if got := capField(t, st, "CapBnd"); got&defaultCaps != defaultCaps {
				t.Errorf("CapBnd = %016x lacks the container's %016x", got, defaultCaps)
			}
		}
	})
	t.Run("no_new_privs", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t, func(s *specs.Spec) { s.Process.NoNewPrivileges = false })
		if got := statusField(status(t, c), "NoNewPrivs"); got != "0" {
			t.Errorf("exec into a container without noNewPrivileges: NoNewPrivs %q, want 0", got)
		}
		if got := statusField(status(t, c, "--no-new-privs"), "NoNewPrivs"); got != "1" {
			t.Errorf("exec --no-new-privs: NoNewPrivs %q, want 1", got)
		}
	})
	t.Run("no_new_privs_from_config", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		if got := statusField(status(t, c), "NoNewPrivs"); got != "1" {
			t.Errorf("exec into a container with noNewPrivileges: NoNewPrivs %q, want 1", got)
		}
	})
}

// TestExecUserNamespace: exec joins the container's user namespace.
func TestExecUserNamespace(t *testing.T) {
	t.Parallel()
	c := runningCtr(t, userns)
	res := c.exec(c.id, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user").mustSucceed(t)
	l := lines(res.Stdout)
	var fields []string
	for _, s := range l {
		fields = append(fields, strings.Join(strings.Fields(s), " "))
	}
	want := []string{"0 100000 65536", "0 100000 65536", "0", "0"}
	if len(fields) != 5 || strings.Join(fields[:4], "|") != strings.Join(want, "|") {
		t.Fatalf("exec into a user-namespaced container: %q, want the maps \"0 100000 65536\", then ids 0 and 0", res.Stdout)
	}
	initNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", c.initPid()))
	if err != nil {
		t.Fatal(err)
	}
	if fields[4] != initNS {
		t.Errorf("exec'd process is in user namespace %s, the init in %s", fields[4], initNS)
	}
	// seen from the host, the exec'd process is host uid 100000 (+ the uid)
	res = c.exec("-d", "-u", "1000:1000", c.id, "sleep", "30")
	res.mustSucceed(t)
	var pid int
	initPid := c.initPid()
	if !waitFor(func() bool {
		for _, p := range cgroupProcs(c.id) {
			if p != initPid && strings.Contains(readBack(fmt.Sprintf("/proc/%d/cmdline", p)), "sleep\x0030") {
				pid = p
				return true
			}
		}
		return false
	}) {
		t.Fatalf("exec'd sleep 30 not found in the container's cgroup")
	}
	status := readBack(fmt.Sprintf("/proc/%d/status", pid))
	if uid := strings.Fields(statusField(status, "Uid")); len(uid) == 0 || uid[0] != "101000" {
		t.Errorf("host view of the exec'd process's uid: %v, want 101000", uid)
	}
}

// TestExecTty: exec -t with a console socket sends a pty master; exec -t in
// the foreground (under a pty of its own) puts the process on a pty.
func TestExecTty(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	t.Run("console_socket_detach", func(t *testing.T) {
		recv := newConsoleReceiver(t)
		c.exec("-t", "--console-socket", recv.path, "-d", c.id, "sh", "-c", "tty; stty size; echo marker-$((40+2)); sleep 1").mustSucceed(t)
		master := recv.wait(t)
		ptn, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
		if err != nil {
			t.Fatalf("received fd is not a pty master: TIOCGPTN: %v", err)
		}
		out := readUntil(master, "marker-42")
		m := regexp.MustCompile(`/dev/pts/([0-9]+)`).FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "marker-42") {
			t.Fatalf("output on the pty master: %q, want a /dev/pts tty and the marker", out)
		}
		if m[1] != strconv.Itoa(ptn) {
			t.Errorf("process runs on /dev/pts/%s, but the master sent is pty %d", m[1], ptn)
		}
	})
	t.Run("console_socket_stdin", func(t *testing.T) {
		recv := newConsoleReceiver(t)
		c.exec("--tty", "--console-socket", recv.path, "--detach", c.id, "sh", "-c", "read line; echo got-$line").mustSucceed(t)
		master := recv.wait(t)
		if _, err := master.Write([]byte("typed\n")); err != nil {
			t.Fatal(err)
		}
		if out := readUntil(master, "got-typed"); !strings.Contains(out, "got-typed") {
			t.Errorf("exec'd process did not read its terminal: %q", out)
		}
	})
	t.Run("foreground_under_script", func(t *testing.T) {
		script, err := exec.LookPath("script")
		if err != nil {
			t.Skip("needs script(1) (util-linux / bsdutils)")
		}
		inner := fmt.Sprintf("%s --root %s exec -t %s sh -c 'tty; exit 5'", rtBin, c.root, c.id)
		res := runCmd(t, exec.Command(script, "-qec", inner, "/dev/null"))
		if !ptsRe.MatchString(res.Stdout) {
			t.Errorf("exec -t under a pty: tty printed no /dev/pts path: %s", res)
		}
		if res.Code != 5 {
			t.Errorf("exit code %d through script -e, want 5: %s", res.Code, res)
		}
	})
	t.Run("tty_detach_needs_console_socket", func(t *testing.T) {
		// runc 1.1.5: "cannot allocate tty if runc will detach without setting console socket"
		c.exec("-t", "-d", c.id, "true").mustFail(t, "console socket")
	})
	t.Run("console_socket_needs_tty", func(t *testing.T) {
		recv := newConsoleReceiver(t)
		// runc 1.1.5: "cannot use console socket if runc will not detach or allocate tty"
		c.exec("--console-socket", recv.path, "-d", c.id, "true").mustFail(t, "console socket")
	})
}

// TestExecPreserveFds: --preserve-fds N passes fds 3..3+N-1 and no more.
func TestExecPreserveFds(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	dir := shortTempDir(t)
	var files []*os.File
	for _, name := range []string{"three", "four"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("content of "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	cmd := c.cmd("exec", "--preserve-fds", "1", c.id, "sh", "-c", `cat <&3; if [ -e /proc/self/fd/4 ]; then echo fd4-leaked; fi`)
	cmd.ExtraFiles = files // fd 3 and fd 4
	res := runCmd(t, cmd).mustSucceed(t)
	if !strings.Contains(res.Stdout, "content of three") {
		t.Errorf("fd 3 not passed by exec --preserve-fds 1: %q", res.Stdout)
	}
	if strings.Contains(res.Stdout, "fd4-leaked") {
		t.Errorf("fd 4 leaked into the exec'd process with --preserve-fds 1: %q", res.Stdout)
	}
	// without --preserve-fds, fd 3 does not reach the process
	cmd = c.cmd("exec", c.id, "sh", "-c", `if [ -e /proc/self/fd/3 ]; then echo fd3-leaked; else echo no-fd3; fi`)
	cmd.ExtraFiles = files[:1]
	res = runCmd(t, cmd).mustSucceed(t)
	if !strings.Contains(res.Stdout, "no-fd3") {
		t.Errorf("fd 3 passed without --preserve-fds: %q", res.Stdout)
	}
}

// TestExecPidFile: exec --detach --pid-file writes the host pid of the
// exec'd process, digits only; that process is alive and in the container's
// cgroup.
func TestExecPidFile(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	pidFile := filepath.Join(shortTempDir(t), "exec.pid")
	c.exec("--detach", "--pid-file", pidFile, c.id, "sleep", "1000").mustSucceed(t)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("exec --detach returned before writing the pid file: %v", err)
	}
	if !regexp.MustCompile(`^[0-9]+$`).Match(b) {
		t.Errorf("pid file holds %q, want digits only (no newline)", b)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !alive(pid) {
		t.Fatalf("pid file's pid %q is not a live process", b)
	}
	if comm := strings.TrimSpace(readBack(fmt.Sprintf("/proc/%d/comm", pid))); comm != "sleep" {
		t.Errorf("pid %d is %q, want the exec'd sleep", pid, comm)
	}
	if pid == c.initPid() {
		t.Errorf("pid file names the container's init")
	}
	in := false
	for _, p := range cgroupProcs(c.id) {
		in = in || p == pid
	}
	if !in {
		t.Errorf("exec'd pid %d is not in the container's cgroups %v", pid, cgroupDirs(c.id))
	}
	for _, ctrl := range []string{"memory", "pids", "cpu", "freezer", "devices"} {
		if !haveV1Controller(ctrl) {
			continue
		}
		if got, want := procCgroup(pid, ctrl), "/"+cgroupParent+"/"+c.id; got != want {
			t.Errorf("exec'd process's %s cgroup is %q, want %q", ctrl, got, want)
		}
	}
	for _, n := range []string{"pid", "mnt", "net"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		b, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.initPid(), n))
		if a != b || a == "" {
			t.Errorf("exec'd process's %s namespace %q, init's %q", n, a, b)
		}
	}
	// The cleanup's delete --force kills it with the container.
	c.pids = append(c.pids, pid)
}

// TestExecPaused: exec into a paused container fails unless --ignore-paused;
// with it, the process starts (it runs once the container is resumed).
func TestExecPaused(t *testing.T) {
	requireV1(t, "freezer")
	t.Parallel()
	c := runningCtr(t)
	c.rt("pause", c.id).mustSucceed(t)
	if st := c.mustState(); st.Status != statePaused {
		t.Fatalf("after pause: status %q", st.Status)
	}
	// runc 1.1.5: "cannot exec in a paused container (use --ignore-paused to override)"
	c.exec(c.id, "true").mustFail(t, "paused")
	c.exec("-d", c.id, "true").mustFail(t, "paused")

	// The process joins the frozen cgroup, so the exec may not complete
	// before the container is resumed.
	done := make(chan result, 1)
	go func() { done <- c.exec("--ignore-paused", c.id, "echo", "ran-while-paused") }()
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Second):
		c.rt("resume", c.id).mustSucceed(t)
		select {
		case res = <-done:
		case <-time.After(cmdTimeout + 5*time.Second):
			t.Fatal("exec --ignore-paused did not return after resume")
		}
	}
	res.mustSucceed(t)
	if strings.TrimSpace(res.Stdout) != "ran-while-paused" {
		t.Errorf("exec --ignore-paused output %q", res.Stdout)
	}
	if st := c.mustState(); st.Status == statePaused {
		c.rt("resume", c.id).mustSucceed(t)
	}
	c.exec(c.id, "true").mustSucceed(t)
}

// TestExecStopped: exec into a stopped container fails.
func TestExecStopped(t *testing.T) {
	t.Parallel()
	c := newCtr(t, withSh("exit 0"))
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	c.waitStatus(specs.StateStopped)
	// runc 1.1.5: "exec failed: cannot exec in a stopped container" (exit 255)
	c.exec(c.id, "true").mustFail(t, "cannot exec in a stopped container")
	c.exec("-d", c.id, "true").mustFail(t, "cannot exec in a stopped container")
	t.Run("killed", func(t *testing.T) {
		c := runningCtr(t)
		c.rt("kill", c.id, "KILL").mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		c.exec(c.id, "true").mustFail(t, "cannot exec in a stopped container")
	})
	t.Run("unknown_id", func(t *testing.T) {
		c.exec("no-such-ctr", "true").mustFail(t, "does not exist")
	})
}

// TestExecConcurrent: 50 execs at once into one container all succeed.
func TestExecConcurrent(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	const n = 50
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = c.exec(c.id, "sh", "-c", fmt.Sprintf("echo token-%d-$((%d*7))", i, i))
		}(i)
	}
	wg.Wait()
	failed := 0
	for i, res := range results {
		want := fmt.Sprintf("token-%d-%d", i, i*7)
		if res.Code != 0 || strings.TrimSpace(res.Stdout) != want {
			failed++
			if failed <= 5 {
				t.Errorf("exec %d: want %q only: %s", i, want, res)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d concurrent execs failed", failed, n)
	}
	if st := c.mustState(); st.Status != specs.StateRunning {
		t.Errorf("container after the concurrent execs: %+v", st)
	}
	// nothing of the execs is left in the container
	if !waitFor(func() bool { return len(cgroupProcs(c.id)) == 1 }) {
		t.Errorf("processes left in the container's cgroup after the execs: %v", cgroupProcs(c.id))
	}
}

// TestExecNoLeakedFds: the exec'd process gets stdio (and what
// --preserve-fds passes) and no fd of the runtime.
func TestExecNoLeakedFds(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	t.Run("busybox", func(t *testing.T) {
		// ls lists its own directory fd (3) too
		res := c.exec(c.id, "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '").mustSucceed(t)
		if got := strings.TrimSpace(res.Stdout); got != "0 1 2 3" {
			t.Errorf("fds in the exec'd process: %q, want 0 1 2 (and ls's own 3)", got)
		}
	})
	fdsOf := func(out string) string {
		var fds []string
		for _, l := range lines(out) {
			if fd, _, ok := strings.Cut(l, " -> "); ok {
				fds = append(fds, fd)
			}
		}
		return strings.Join(fds, " ")
	}
	t.Run("ctrhelper", func(t *testing.T) {
		if !haveHelper {
			t.Skip("set LXCRUN_CTRHELPER to a static ctrhelper binary for this check")
		}
		res := c.exec("--cwd", "/tmp", c.id, "/bin/ctrhelper", "fds").mustSucceed(t)
		if got := fdsOf(res.Stdout); got != "0 1 2" {
			t.Errorf("fds in the exec'd process: %q, want only 0 1 2", res.Stdout)
		}
		res = c.exec("--cwd", "/tmp", c.id, "/bin/ctrhelper", "cwd").mustSucceed(t)
		if got := strings.TrimSpace(res.Stdout); got != "/tmp" {
			t.Errorf("getcwd in the exec'd process: %q, want /tmp", got)
		}
	})
	t.Run("ctrhelper_detach", func(t *testing.T) {
		if !haveHelper {
			t.Skip("set LXCRUN_CTRHELPER to a static ctrhelper binary for this check")
		}
		pidFile := filepath.Join(shortTempDir(t), "exec.pid")
		res := c.exec("-d", "--pid-file", pidFile, c.id, "/bin/ctrhelper", "fds").mustSucceed(t)
		waitGone(readPidFile(t, pidFile))
		waitFor(func() bool { return strings.Contains(res.laterStdout(t), "2 -> ") })
		if got := fdsOf(res.laterStdout(t)); got != "0 1 2" {
			t.Errorf("fds in the detached exec'd process: %q, want only 0 1 2", res.laterStdout(t))
		}
	})
	t.Run("ctrhelper_tty", func(t *testing.T) {
		if !haveHelper {
			t.Skip("set LXCRUN_CTRHELPER to a static ctrhelper binary for this check")
		}
		recv := newConsoleReceiver(t)
		c.exec("-t", "--console-socket", recv.path, "-d", c.id, "sh", "-c", "/bin/ctrhelper fds; echo end-$((1+1))").mustSucceed(t)
		master := recv.wait(t)
		out := strings.ReplaceAll(readUntil(master, "end-2"), "\r", "")
		// sh's own fds are inherited by ctrhelper: none but the pty
		if got := fdsOf(out); got != "0 1 2" {
			t.Errorf("fds in the exec'd process on a tty: %q, want only 0 1 2", out)
		}
	})
}
