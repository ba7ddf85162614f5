package clients

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Images every client loads (docker-archive tars built by buildImages).
const (
	imgBusybox = "localhost/busybox:latest"        // CMD /bin/sh
	imgNobody  = "localhost/busybox-nobody:latest" // the same, USER 65534:65534
	imgPause   = "localhost/pause:latest"          // ENTRYPOINT /bin/sleep 2147483647 (CRI sandbox)

	defaultPATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// cmdTimeout bounds one client command.
	cmdTimeout = 3 * time.Minute
	// waitTimeout bounds the wait for a state change a client reports.
	waitTimeout = 30 * time.Second
)

var (
	// skipReason is set when the suite must not run (not root, not enabled).
	skipReason string

	// rtName is the runtime's name: "lxcrun", or "runc" with LXCRUN_CLIENT_RUNTIME=runc.
	rtName string
	// rtReal is the absolute path of the runtime binary under test.
	rtReal string
	// rtPath is what the clients are given: the argv-logging wrapper <work>/bin/<rtName>.
	rtPath string

	// work is the private scratch directory of this test binary (short: it
	// prefixes unix socket paths).
	work string
	// traceLog is the wrapper's call log.
	traceLog string

	// Image tars (docker-archive format, one tag each).
	tarBusybox, tarNobody, tarPause string

	// Client binaries.
	crictlBin string
	dockerBin string

	// globalCleanups run, last first, when the test binary ends.
	globalCleanups []func()
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	skipReason = enabled()
	if skipReason != "" {
		return m.Run()
	}
	err := setup()
	defer teardown()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients: setup:", err)
		return 1
	}
	return m.Run()
}

// enabled says why the suite must be skipped, or "".
func enabled() string {
	if os.Geteuid() != 0 {
		return "the real-client tests need root"
	}
	if os.Getenv("LXCRUN_CLIENT_TESTS") != "1" {
		return "real-client tests are off: set LXCRUN_CLIENT_TESTS=1 (make clients does), as root, after scripts/clients-deps.sh"
	}
	return ""
}

// requireSuite skips t when the suite is off.
func requireSuite(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if rtPath == "" {
		t.Fatal("setup did not complete")
	}
}

func setup() error {
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

	switch sel := os.Getenv("LXCRUN_CLIENT_RUNTIME"); sel {
	case "runc":
		rtName, rtReal = "runc", "/usr/sbin/runc"
	case "", "lxcrun":
		rtName, rtReal = "lxcrun", os.Getenv("LXCRUN_BIN")
		if rtReal == "" {
			abs, err := filepath.Abs("../../lxcrun")
			if err != nil {
				return err
			}
			rtReal = abs
		}
		if !filepath.IsAbs(rtReal) {
			return fmt.Errorf("LXCRUN_BIN=%q must be an absolute path", rtReal)
		}
	default:
		return fmt.Errorf("LXCRUN_CLIENT_RUNTIME=%q: want runc, lxcrun or empty", sel)
	}
	if fi, err := os.Stat(rtReal); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("runtime %s is not an executable (build it with make build): %v", rtReal, err)
	}

	crictlBin = os.Getenv("LXCRUN_CRICTL")
	if crictlBin == "" {
		crictlBin = "/var/tmp/lxcrun-clients/bin/crictl"
		if _, err := os.Stat(crictlBin); err != nil {
			if p, err := exec.LookPath("crictl"); err == nil {
				crictlBin = p
			}
		}
	}
	// /usr/local/bin/docker may be a newer CLI; use the one that matches dockerd.
	dockerBin = "/usr/bin/docker"
	var missing []string
	for _, b := range []string{"podman", "conmon", "containerd", "containerd-shim-runc-v2", "ctr", "dockerd",
		dockerBin, crictlBin, "umoci", "skopeo", "script", "iptables", "ip", "/usr/lib/cni/bridge",
		"/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/usr/lib/podman/netavark", "/usr/sbin/runc", "busybox"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run scripts/clients-deps.sh (as root)", strings.Join(missing, ", "))
	}

	reapStale()
	var err error
	work, err = os.MkdirTemp("/tmp", "lxcc-")
	if err != nil {
		return err
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	traceLog = filepath.Join(work, "runtime-calls.log")
	if err := writeWrapper(); err != nil {
		return err
	}
	snapshotHost()
	t0 := time.Now()
	if err := buildImages(filepath.Join(work, "img")); err != nil {
		return fmt.Errorf("building images: %w", err)
	}
	fmt.Fprintf(os.Stderr, "clients: runtime %s (%s) via %s; images built in %.1fs; work dir %s\n",
		rtName, rtReal, rtPath, time.Since(t0).Seconds(), work)
	return nil
}

func teardown() {
	for i := len(globalCleanups) - 1; i >= 0; i-- {
		globalCleanups[i]()
	}
	if work == "" {
		return
	}
	killLeftovers(work)
	unmountUnder(work)
	cleanHost()
	if dst := os.Getenv("LXCRUN_CLIENT_TRACE"); dst != "" && traceLog != "" {
		if b, err := os.ReadFile(traceLog); err == nil {
			_ = os.WriteFile(dst, b, 0o644)
		}
	}
	if err := os.RemoveAll(work); err != nil {
		fmt.Fprintln(os.Stderr, "clients: removing", work, ":", err)
	}
}

// reapStale cleans up after earlier runs of this test binary that died
// without their teardown (go test -timeout, SIGKILL): it kills the daemons
// and shims that name their work directory, unmounts and removes it.
func reapStale() {
	dirs, _ := filepath.Glob("/tmp/lxcc-*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "clients.test" {
			continue // still running
		}
		fmt.Fprintf(os.Stderr, "clients: cleaning up %s, left by dead test process %d\n", d, pid)
		killLeftovers(d)
		time.Sleep(500 * time.Millisecond)
		unmountUnder(d)
		_ = os.RemoveAll(d)
		if br := dockerBridge(pid); linkExists(br) {
			_ = runSteps([][]string{{"ip", "link", "del", br}})
		}
	}
}

// wrapperScript logs each runtime call (argv, the caller's comm, update
// payloads) and, for a failed call, its exit code and the tail of its --log
// file, then returns the runtime's exit code. It runs the runtime in the
// foreground (not exec) to see the exit code; processes the runtime leaves
// behind are reparented past it to the client's subreaper (conmon, shim) as
// they would be without it.
const wrapperScript = `#!/bin/sh
REAL=%s
LOG=%s
pc=?; read -r pc < /proc/$PPID/comm 2>/dev/null
printf '[%%s <%%s] %%s\n' "$$" "$pc" "$*" >> "$LOG"
res=; prev=
for a in "$@"; do
	case "$a" in --resources=*) res=${a#--resources=};; esac
	[ "$prev" = --resources ] && res=$a
	prev=$a
done
if [ "$res" = - ]; then
	payload=$(cat)
	printf '[%%s]   resources on stdin: %%s\n' "$$" "$payload" >> "$LOG"
	printf '%%s' "$payload" | "$REAL" "$@"; rc=$?
else
	if [ -n "$res" ] && [ -f "$res" ]; then
		printf '[%%s]   resources in %%s: %%s\n' "$$" "$res" "$(cat "$res")" >> "$LOG"
	fi
	"$REAL" "$@"; rc=$?
fi
if [ $rc -ne 0 ]; then
	lf=; prev=
	for a in "$@"; do
		case "$a" in --log=*) lf=${a#--log=};; esac
		[ "$prev" = --log ] && lf=$a
		prev=$a
	done
	printf '[%%s]   => rc=%%s\n' "$$" "$rc" >> "$LOG"
	if [ -n "$lf" ] && [ -f "$lf" ]; then
		{ printf '[%%s]   --log %%s (tail):\n' "$$" "$lf"; tail -c 1500 "$lf"; echo; } >> "$LOG"
	fi
fi
exit $rc
`

func writeWrapper() error {
	dir := filepath.Join(work, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rtPath = filepath.Join(dir, rtName)
	script := fmt.Sprintf(wrapperScript, shellQuote(rtReal), shellQuote(traceLog))
	if err := os.WriteFile(rtPath, []byte(script), 0o755); err != nil {
		return err
	}
	return os.WriteFile(traceLog, nil, 0o644)
}

// buildImages makes the busybox rootfs from the host's static busybox, an OCI
// layout with three tags (umoci), and a docker-archive tar per image (skopeo).
func buildImages(dir string) error {
	busybox := os.Getenv("LXCRUN_BUSYBOX")
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var", "run"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	oci := filepath.Join(dir, "oci")
	bundle := filepath.Join(dir, "bundle")
	steps := [][]string{
		{"cp", busybox, filepath.Join(rootfs, "bin/busybox")},
		{"chroot", rootfs, "/bin/busybox", "--install", "-s"},
		{"chmod", "1777", filepath.Join(rootfs, "tmp")},
	}
	if err := runSteps(steps); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/passwd"),
		[]byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644); err != nil {
		return err
	}
	tarBusybox = filepath.Join(dir, "busybox.tar")
	tarNobody = filepath.Join(dir, "busybox-nobody.tar")
	tarPause = filepath.Join(dir, "pause.tar")
	steps = [][]string{
		{"umoci", "init", "--layout", oci},
		{"umoci", "new", "--image", oci + ":latest"},
		{"umoci", "unpack", "--image", oci + ":latest", bundle},
		{"rm", "-rf", filepath.Join(bundle, "rootfs")},
		{"cp", "-a", rootfs, filepath.Join(bundle, "rootfs")},
		{"umoci", "repack", "--image", oci + ":latest", bundle},
		{"umoci", "config", "--image", oci + ":latest", "--config.cmd", "/bin/sh",
			"--config.env", defaultPATH, "--config.workingdir", "/",
			"--os", "linux", "--architecture", "amd64"},
		{"umoci", "config", "--image", oci + ":latest", "--tag", "nobody", "--config.user", "65534:65534"},
		{"umoci", "config", "--image", oci + ":latest", "--tag", "pause",
			"--config.entrypoint", "/bin/sleep", "--config.cmd", "2147483647"},
		{"skopeo", "--insecure-policy", "copy", "-q", "oci:" + oci + ":latest", "docker-archive:" + tarBusybox + ":" + imgBusybox},
		{"skopeo", "--insecure-policy", "copy", "-q", "oci:" + oci + ":nobody", "docker-archive:" + tarNobody + ":" + imgNobody},
		{"skopeo", "--insecure-policy", "copy", "-q", "oci:" + oci + ":pause", "docker-archive:" + tarPause + ":" + imgPause},
		{"rm", "-rf", bundle},
	}
	return runSteps(steps)
}

func runSteps(steps [][]string) error {
	for _, s := range steps {
		out, err := exec.Command(s[0], s[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Running client commands.

// result is one finished command.
type result struct {
	argv   []string
	stdout string
	stderr string
	code   int   // exit code; -1 if it did not run or was killed
	err    error // start failure or timeout
	dur    time.Duration
}

// all is stdout and stderr together, for matching messages.
func (r result) all() string { return r.stdout + r.stderr }

func (r result) String() string {
	s := fmt.Sprintf("$ %s\n=> exit %d after %.2fs", shellJoin(r.argv), r.code, r.dur.Seconds())
	if r.err != nil {
		s += " (" + r.err.Error() + ")"
	}
	if o := strings.TrimSpace(r.stdout); o != "" {
		s += "\nstdout: " + clip(o, 3000)
	}
	if e := strings.TrimSpace(r.stderr); e != "" {
		s += "\nstderr: " + clip(e, 3000)
	}
	return s
}

type cmdOpts struct {
	env     []string // added to the environment
	stdin   string
	timeout time.Duration
	extra   []*os.File // fds 3, 4, ...
	quiet   bool       // do not t.Log the command
}

func runCmd(t testing.TB, o cmdOpts, argv ...string) result {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = cmdTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.ExtraFiles = o.extra
	// Daemonized helpers (conmon) may keep our pipes open; do not wait for them.
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	r := result{argv: argv, stdout: so.String(), stderr: se.String(), dur: time.Since(t0), code: -1}
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		r.err = err
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %s", o.timeout)
	}
	if !o.quiet {
		t.Logf("$ %s => %d (%.2fs)%s", shellJoin(argv), r.code, r.dur.Seconds(), brief(r))
	}
	return r
}

func brief(r result) string {
	s := strings.TrimSpace(r.all())
	if s == "" {
		return ""
	}
	return "\n    " + strings.ReplaceAll(clip(s, 600), "\n", "\n    ")
}

// client is one command-line client with its fixed leading arguments.
type client struct {
	argv []string
	env  []string
}

func (c *client) cmd(args ...string) []string {
	return append(append([]string{}, c.argv...), args...)
}

// run runs the client with args.
func (c *client) run(t testing.TB, args ...string) result {
	t.Helper()
	return runCmd(t, cmdOpts{env: c.env}, c.cmd(args...)...)
}

// runIn runs the client with stdin.
func (c *client) runIn(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	return runCmd(t, cmdOpts{env: c.env, stdin: stdin}, c.cmd(args...)...)
}

// runTTY runs the client under script(1), that is on a pty, as a user at a
// terminal would: the client's -t then goes through the runtime's console socket.
func (c *client) runTTY(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	return runCmd(t, cmdOpts{env: c.env, stdin: stdin}, "script", "-qec", shellJoin(c.cmd(args...)), "/dev/null")
}

// ok runs the client and fails the test unless it exits 0.
func (c *client) ok(t testing.TB, args ...string) result {
	t.Helper()
	r := c.run(t, args...)
	if r.code != 0 {
		t.Fatalf("command failed:\n%s", r)
	}
	return r
}

// quiet runs the client without logging (cleanup, polling).
func (c *client) quiet(t testing.TB, args ...string) result {
	t.Helper()
	return runCmd(t, cmdOpts{env: c.env, quiet: true, timeout: time.Minute}, c.cmd(args...)...)
}

// expectExit checks the exit code and that the output has every substring.
func expectExit(t testing.TB, r result, code int, subs ...string) bool {
	t.Helper()
	good := r.code == code
	for _, s := range subs {
		if !strings.Contains(r.all(), s) {
			good = false
		}
	}
	if !good {
		t.Errorf("want exit %d and output containing %q, got:\n%s", code, subs, r)
	}
	return good
}

// expectAny checks that the output has at least one of subs.
func expectAny(t testing.TB, r result, subs ...string) bool {
	t.Helper()
	low := strings.ToLower(r.all())
	for _, s := range subs {
		if strings.Contains(low, strings.ToLower(s)) {
			return true
		}
	}
	t.Errorf("want output containing one of %q, got:\n%s", subs, r)
	return false
}

// scenario runs f as subtest name; when it fails, the runtime calls it caused
// are logged.
func scenario(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		mark := traceSize()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("runtime calls during this scenario (%s):\n%s", rtPath, traceSince(mark))
			}
		})
		f(t)
	})
}

// expectRuntimeUsed fails t, when it ends, unless the client called the
// runtime under test (a client that silently fell back to another runtime
// would make every scenario meaningless).
func expectRuntimeUsed(t *testing.T) {
	mark := traceSize()
	t.Cleanup(func() {
		if !strings.Contains(traceSince(mark), "] create ") && !strings.Contains(traceSince(mark), " create --bundle") {
			t.Errorf("the client never called %s create: it did not drive the runtime under test", rtPath)
		}
	})
}

func traceSize() int64 {
	fi, err := os.Stat(traceLog)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func traceSince(off int64) string {
	f, err := os.Open(traceLog)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err.Error()
	}
	b, _ := io.ReadAll(f)
	if len(b) > 12000 {
		b = append([]byte("...\n"), b[len(b)-12000:]...)
	}
	return string(b)
}

// waitFor polls cond until it is true or timeout passes; then it fails t with
// the last detail and returns false.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) bool {
	t.Helper()
	end := time.Now().Add(timeout)
	var detail string
	for {
		var ok bool
		ok, detail = cond()
		if ok {
			return true
		}
		if time.Now().After(end) {
			t.Errorf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Host-side checks.

// cgroupDir is the v1 cgroup directory of pid for controller ctrl.
func cgroupDir(pid int, ctrl string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == ctrl {
				return filepath.Join("/sys/fs/cgroup", ctrl, parts[2]), nil
			}
		}
	}
	return "", fmt.Errorf("pid %d: no %s cgroup in /proc/%d/cgroup:\n%s", pid, ctrl, pid, b)
}

// cgroupValue reads file of controller ctrl in pid's cgroup.
func cgroupValue(pid int, ctrl, file string) (string, string, error) {
	dir, err := cgroupDir(pid, ctrl)
	if err != nil {
		return "", "", err
	}
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), p, err
}

// expectCgroup checks host cgroup files of pid: want maps "ctrl/file" to the value.
func expectCgroup(t testing.TB, pid int, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ctrl, file, _ := strings.Cut(k, "/")
		got, path, err := cgroupValue(pid, ctrl, file)
		if err != nil {
			t.Errorf("cgroup %s of pid %d: %v", k, pid, err)
			continue
		}
		if got != want[k] {
			t.Errorf("host %s = %q, want %q", path, got, want[k])
		} else {
			t.Logf("host %s = %s", path, got)
		}
	}
}

// expectGone waits until path no longer exists (a container's cgroup after
// its removal).
func expectGone(t testing.TB, path string) {
	t.Helper()
	if path == "" {
		return
	}
	waitFor(t, path+" to be removed", 15*time.Second, func() (bool, string) {
		_, err := os.Stat(path)
		return os.IsNotExist(err), fmt.Sprintf("stat: %v", err)
	})
}

// nsOf is the namespace link of pid ("net", "ipc", ...).
func nsOf(pid int, ns string) string {
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		return "error: " + err.Error()
	}
	return l
}

// freezerState is the host freezer.state of pid's cgroup.
func freezerState(pid int) string {
	v, _, err := cgroupValue(pid, "freezer", "freezer.state")
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

// ---------------------------------------------------------------------------
// Daemons.

// daemon is a background process started by this test binary.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startDaemon starts argv in the background with its output in logPath and
// records its pid in pidPath. It is stopped by that pid when t ends.
func startDaemon(t testing.TB, name, logPath, pidPath string, env []string, argv ...string) *daemon {
	t.Helper()
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	lf.Close()
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	_ = os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()
	t.Logf("started %s, pid %d: %s", name, cmd.Process.Pid, shellJoin(argv))
	return d
}

func (d *daemon) alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the recorded pid, then SIGKILL after timeout.
func (d *daemon) stop(timeout time.Duration) {
	if !d.alive() {
		return
	}
	_ = syscall.Kill(d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
		return
	case <-time.After(timeout):
	}
	fmt.Fprintf(os.Stderr, "clients: %s (pid %d) ignored SIGTERM for %s; killing it\n", d.name, d.cmd.Process.Pid, timeout)
	_ = syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

// tail is the end of the daemon's log.
func (d *daemon) tail(n int) string {
	b, _ := os.ReadFile(d.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Leftovers.

// killLeftovers kills processes whose command line names our work directory
// (daemons, conmon, containerd shims) that the clients failed to stop, with
// their descendants (the container processes a shim or conmon reaps).
func killLeftovers(dir string) {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	children := map[int][]int{}
	var matched []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
			if i := bytes.LastIndexByte(st, ')'); i > 0 {
				if f := strings.Fields(string(st[i+1:])); len(f) > 1 {
					if ppid, err := strconv.Atoi(f[1]); err == nil {
						children[ppid] = append(children[ppid], pid)
					}
				}
			}
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir+"/")) {
			continue
		}
		fmt.Fprintf(os.Stderr, "clients: killing leftover pid %d: %s\n", pid, clip(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), 200))
		matched = append(matched, pid)
	}
	var kill func(pid int)
	kill = func(pid int) {
		for _, c := range children[pid] {
			kill(c)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range matched {
		kill(pid)
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	f.Close()
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	for _, mp := range mps {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			fmt.Fprintf(os.Stderr, "clients: unmount %s: %v\n", mp, err)
		}
	}
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupParents are the cgroup parents the clients create (podman, Docker,
// ctr's namespace, CRI) in every v1 hierarchy and the unified one.
var cgroupParents = []string{"libpod_parent", "docker", ctrNamespace, "k8s.io"}

// preexisting records the host state the suite may change: cgroup parent
// directories, and netavark's iptables chains ("iptables:netavark").
var preexisting = map[string]bool{}

func snapshotHost() {
	for _, d := range cgroupParentDirs() {
		if _, err := os.Stat(d); err == nil {
			preexisting[d] = true
		}
	}
	preexisting["iptables:netavark"] = len(netavarkRules()) > 0
}

func cgroupParentDirs() []string {
	var dirs []string
	hs, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hs {
		for _, p := range cgroupParents {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", h.Name(), p))
		}
	}
	return dirs
}

// cleanHost removes the (empty) cgroup parents and the netavark iptables
// chains that did not exist before the suite.
func cleanHost() {
	// conmon and shims killed just before may take a moment to leave their
	// cgroups: retry for a while.
	end := time.Now().Add(10 * time.Second)
	for {
		left := 0
		for _, d := range cgroupParentDirs() {
			if preexisting[d] {
				continue
			}
			var fs syscall.Statfs_t
			if err := syscall.Statfs(d, &fs); err != nil {
				continue // gone
			}
			if fs.Type == 0x01021994 { // TMPFS_MAGIC: a plain directory where no hierarchy is mounted
				// podman creates libpod_parent/conmon in every directory of
				// /sys/fs/cgroup, even one left after a v1 hierarchy was unmounted.
				_ = os.RemoveAll(d)
				continue
			}
			removeEmptyTree(d)
			if _, err := os.Stat(d); err == nil {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(end) {
			for _, d := range cgroupParentDirs() {
				if _, err := os.Stat(d); err == nil && !preexisting[d] {
					fmt.Fprintf(os.Stderr, "clients: cgroup %s is left with: %s\n", d, cgroupChildren(d))
				}
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !preexisting["iptables:netavark"] {
		removeNetavarkChains()
	}
}

// cgroupChildren lists the cgroups below dir with their processes.
func cgroupChildren(dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			procs, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			fmt.Fprintf(&b, "%s (procs: %s) ", p, strings.Join(strings.Fields(string(procs)), ","))
		}
		return nil
	})
	return b.String()
}

// removeEmptyTree removes the directories below and at dir, deepest first;
// rmdir fails (and is ignored) for a cgroup that still has processes.
func removeEmptyTree(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = syscall.Rmdir(dirs[i])
	}
}

// netavarkRules is `iptables -S` output about netavark, per table.
func netavarkRules() map[string][]string {
	rules := map[string][]string{}
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "NETAVARK") {
				rules[table] = append(rules[table], l)
			}
		}
	}
	return rules
}

// removeNetavarkChains undoes what netavark left in iptables after the last
// podman container on the default network went away: the jumps from the
// built-in chains, then its chains.
func removeNetavarkChains() {
	for table, lines := range netavarkRules() {
		var chains []string
		for _, l := range lines {
			f := splitQuoted(l)
			switch {
			case len(f) >= 2 && f[0] == "-N":
				chains = append(chains, f[1])
			case len(f) >= 2 && f[0] == "-A" && !strings.HasPrefix(f[1], "NETAVARK"):
				_ = exec.Command("iptables", append([]string{"-w", "-t", table, "-D"}, f[1:]...)...).Run()
			}
		}
		for _, c := range chains {
			_ = exec.Command("iptables", "-w", "-t", table, "-F", c).Run()
		}
		for _, c := range chains {
			_ = exec.Command("iptables", "-w", "-t", table, "-X", c).Run()
		}
	}
}

// splitQuoted splits an `iptables -S` line into words ("..." is one word).
func splitQuoted(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, inQuote := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case r == ' ' && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// linkExists says whether a network interface exists on the host.
func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// ---------------------------------------------------------------------------
// Small helpers.

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d more bytes)", len(s)-n)
}

// firstLine is the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// uniq makes a name unique to this test binary run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid()%100000, time.Now().UnixNano()%1000000)
}

// trapLoop is the command of the long-running test containers: it records
// SIGUSR1 in /tmp/sig and exits 3 on SIGTERM (as pid 1 it would ignore TERM
// without a handler), sleeping in between. /tmp/ready says the traps are set.
var trapLoop = []string{"sh", "-c", `trap 'echo usr1 >> /tmp/sig' USR1; trap 'exit 3' TERM; : > /tmp/ready; echo ready; while :; do sleep 0.5; done`}

// roUserProbe prints what the read-only/user scenario checks from inside.
const roUserProbe = `id -u; id -g; grep -E '^[^ ]+ / ' /proc/mounts | head -n 1; touch /probe 2>/dev/null && echo rootfs-writable || echo rootfs-not-writable`

// checkROUser checks roUserProbe's output: uid and gid 65534, / mounted ro.
func checkROUser(t testing.TB, r result) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r", "")), "\n")
	if r.code != 0 || len(lines) < 4 {
		t.Errorf("read-only/user run failed:\n%s", r)
		return
	}
	if lines[0] != "65534" || lines[1] != "65534" {
		t.Errorf("uid/gid = %s/%s, want 65534/65534:\n%s", lines[0], lines[1], r)
	}
	f := strings.Fields(lines[2])
	if len(f) < 4 || !(strings.HasPrefix(f[3], "ro,") || f[3] == "ro") {
		t.Errorf("/ is not mounted read-only: %q", lines[2])
	}
	if lines[3] != "rootfs-not-writable" {
		t.Errorf("rootfs writable: %q", lines[3])
	}
}
