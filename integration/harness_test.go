// Package integration drives the runtime binary end to end, as root, and checks
// the runc CLI contract: verbs, flags, exit codes, error strings, state JSON and
// what a container sees from the inside.
//
// The binary under test is $LXCRUN_BIN (an absolute path); without it, the
// repository's ./lxcrun. The suite is written to pass against runc too
// (LXCRUN_BIN=/usr/sbin/runc); where lxcrun deliberately differs from runc
// 1.1.5, the test branches on isRunc() and says why.
//
// Every container gets its own --root state directory, bundle, id and
// cgroupsPath ("/lxcrun-it/<id>"), and is removed with `delete --force` when its
// test ends; the cleanup then checks that no state, cgroup, process or mount is
// left behind.
//
// The rootfs is built once per run from $LXCRUN_BUSYBOX, by default the host's
// /bin/busybox (Debian's busybox-static, a static binary); if $LXCRUN_CTRHELPER names the static tools/ctrhelper
// binary, it is added as /bin/ctrhelper and the few checks that need it run.
// Run as root:
//
//	LXCRUN_BIN=/usr/sbin/runc go test -count=1 ./integration/
//	LXCRUN_BIN=$PWD/lxcrun LXCRUN_CTRHELPER=$PWD/_build/ctrhelper go test -count=1 ./integration/
package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// deadline bounds every wait for a condition in this suite.
	deadline = 20 * time.Second
	// cmdTimeout bounds a single runtime invocation.
	cmdTimeout = 60 * time.Second
	// cgroupParent is the parent of every test container's cgroupsPath.
	cgroupParent = "lxcrun-it"
	// defaultPath is the PATH of the container processes and hooks.
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

var (
	// rtBin is the absolute path of the runtime under test ("" if missing).
	rtBin string
	// rtMissing says why the runtime cannot be tested (skip reason).
	rtMissing string
	// rootfsDir is the shared busybox rootfs. Tests use it read-only; a test
	// that writes takes its own copy (copyRootfs).
	rootfsDir string
	// haveHelper is true when $LXCRUN_CTRHELPER was copied to /bin/ctrhelper.
	haveHelper bool
	// scratchDir holds the rootfs; it is removed when the test binary exits.
	scratchDir string

	idCounter atomic.Int64
)

// Directories created in the shared rootfs so that mounts never have to create
// their destination (the shared rootfs must not be written to by containers).
var rootfsMountpoints = []string{
	"proc", "sys", "dev", "tmp", "etc", "root", "bin", "run",
	"mnt/data", "mnt/rw", "mnt/hooks", "mnt/extra",
	"testdata/masked",
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	rtBin, rtMissing = findRuntime()
	if os.Geteuid() == 0 && rtMissing == "" {
		var err error
		scratchDir, err = os.MkdirTemp("", "lxcrun-it-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
		defer os.RemoveAll(scratchDir)
		// The rootfs must be reachable by the unprivileged host uids of a
		// user-namespaced container (hostID 100000), so no 0700 directory
		// may sit on its path.
		if err := os.Chmod(scratchDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
		rootfsDir = filepath.Join(scratchDir, "rootfs")
		if err := buildRootfs(rootfsDir); err != nil {
			fmt.Fprintln(os.Stderr, "integration: building rootfs:", err)
			return 1
		}
		defer removeCgroupParents()
	}
	return m.Run()
}

// findRuntime resolves $LXCRUN_BIN, or ../lxcrun relative to this package.
func findRuntime() (bin, missing string) {
	bin = os.Getenv("LXCRUN_BIN")
	if bin == "" {
		abs, err := filepath.Abs(filepath.Join("..", "lxcrun"))
		if err != nil {
			return "", err.Error()
		}
		bin = abs
	}
	if !filepath.IsAbs(bin) {
		return "", fmt.Sprintf("LXCRUN_BIN=%q must be an absolute path", bin)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Sprintf("runtime binary %s not found or not executable: build it (make) or set LXCRUN_BIN", bin)
	}
	return bin, ""
}

// isRunc reports whether the binary under test is runc, for the places where
// lxcrun deliberately differs from runc 1.1.5.
func isRunc() bool { return filepath.Base(rtBin) == "runc" }

// requireRuntime skips the test unless it runs as root with a runtime binary.
func requireRuntime(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root")
	}
	if rtMissing != "" {
		t.Skip(rtMissing)
	}
}

// ---------------------------------------------------------------------------
// rootfs

// buildRootfs makes a busybox rootfs in dir: /bin/busybox with its applet
// symlinks, the usual top-level directories, /etc/passwd and /etc/group, and
// /bin/ctrhelper when $LXCRUN_CTRHELPER names one.
func buildRootfs(dir string) error {
	for _, d := range rootfsMountpoints {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	busybox := os.Getenv("LXCRUN_BUSYBOX")
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nextra:x:1234:\nnogroup:x:65534:\n",
		// a masked directory must look empty; this file proves it is not, unmasked.
		"testdata/masked/secret": "secret\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if h := os.Getenv("LXCRUN_CTRHELPER"); h != "" {
		if err := copyFile(h, filepath.Join(dir, "bin", "ctrhelper"), 0o755); err != nil {
			return fmt.Errorf("LXCRUN_CTRHELPER: %w", err)
		}
		haveHelper = true
	}
	return nil
}

// copyRootfs gives a test its own writable copy of the shared rootfs, in a
// directory of its own. Large binaries are hard-linked (containers never write
// them), everything else is copied.
func copyRootfs(t testing.TB) string {
	t.Helper()
	return copyRootfsLinked(t, true)
}

// copyRootfsLinked is copyRootfs; with link false nothing is hard-linked
// (for a copy whose files will be chowned).
func copyRootfsLinked(t testing.TB, link bool) string {
	t.Helper()
	dst := filepath.Join(shortTempDir(t), "rootfs")
	err := filepath.Walk(rootfsDir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfsDir, path)
		target := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(target, fi.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, fi.Mode()&(os.ModePerm|os.ModeSticky))
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case link && fi.Size() > 64*1024:
			return os.Link(path, target)
		default:
			return copyFile(path, target, fi.Mode().Perm())
		}
	})
	if err != nil {
		t.Fatalf("copying rootfs: %v", err)
	}
	return dst
}

// copyRootfsTo is copyRootfs into dst (which must not exist), e.g. a
// bundle's own rootfs directory.
func copyRootfsTo(t testing.TB, dst string) string {
	t.Helper()
	if err := os.Rename(copyRootfs(t), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// shortTempDir is t.TempDir with a short path: unix socket paths (the
// runtime's own, and --console-socket) are limited to 108 bytes, and
// t.TempDir's paths carry the whole test name.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lxit")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// ---------------------------------------------------------------------------
// running the runtime

// result is what one runtime invocation did.
type result struct {
	Args   []string
	Stdout string
	Stderr string
	// Code is the exit code; 128+N when the runtime itself died of signal N;
	// -1 when it could not be started or timed out.
	Code int
	// stdoutPath keeps what a created container writes later: its stdio are
	// the creating command's.
	stdoutPath string
}

func (r result) String() string {
	return fmt.Sprintf("`%s` exited %d\nstdout: %q\nstderr: %q", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// mustSucceed fails the test unless the command exited 0.
func (r result) mustSucceed(t testing.TB) result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("runtime command failed: %s", r)
	}
	return r
}

// mustFail fails the test unless the command exited non-zero with every one
// of the substrings (case-insensitive) in its stderr.
func (r result) mustFail(t testing.TB, substrs ...string) result {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("runtime command succeeded, want failure: %s", r)
	}
	if r.Code < 0 {
		t.Fatalf("runtime command did not complete: %s", r)
	}
	for _, s := range substrs {
		if !containsFold(r.Stderr, s) {
			t.Errorf("stderr does not mention %q: %s", s, r)
		}
	}
	return r
}

// laterStdout rereads what was written to the command's stdout so far,
// including by a container created by it.
func (r result) laterStdout(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(r.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// rtCmd prepares `$BIN args...` with stdin from /dev/null. Callers may set
// Stdin and ExtraFiles; run it with runCmd.
func rtCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(rtBin, args...)
	cmd.Env = os.Environ()
	return cmd
}

// runCmd runs a prepared runtime command to completion. Stdout and stderr go
// to files, not pipes: a created container inherits them, and a pipe would
// keep the command from completing until the container exits.
func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	res := result{Args: append([]string{filepath.Base(cmd.Path)}, cmd.Args[1:]...), Code: -1}
	outDir := shortTempDir(t)
	stdout, err := os.Create(filepath.Join(outDir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(outDir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	res.stdoutPath = stdout.Name()
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		res.Stderr = err.Error()
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(cmdTimeout):
		cmd.Process.Kill()
		<-done
		res.Stdout, res.Stderr = readBack(stdout.Name()), readBack(stderr.Name())
		res.Stderr += fmt.Sprintf("\n[integration: killed after %v]", cmdTimeout)
		return res
	}
	res.Stdout, res.Stderr = readBack(stdout.Name()), readBack(stderr.Name())
	res.Code = exitCode(cmd.ProcessState, err)
	return res
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func readBack(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// rt runs `$BIN args...` (no --root added) and returns what it did.
func rt(t testing.TB, args ...string) result {
	t.Helper()
	requireRuntime(t)
	return runCmd(t, rtCmd(args...))
}

// ---------------------------------------------------------------------------
// spec builder

// specOpt tweaks a spec before it is written to config.json.
type specOpt func(*specs.Spec)

// defaultSpec is what `runc spec` prints, adjusted for tests: terminal off,
// an absolute read-only root.path to the shared rootfs, and `sleep 1000`.
// Like containerd's default spec (and unlike `runc spec`), no ambient set.
func defaultSpec() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sleep", "1000"},
			Env:      []string{defaultPath, "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfsDir, Readonly: true},
		Hostname: "lxcrun-it",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// withArgs sets process.args.
func withArgs(args ...string) specOpt {
	return func(s *specs.Spec) { s.Process.Args = args }
}

// withSh sets process.args to `sh -c script`.
func withSh(script string) specOpt {
	return withArgs("sh", "-c", script)
}

// withoutNamespace drops a namespace type from linux.namespaces.
func withoutNamespace(typ specs.LinuxNamespaceType) specOpt {
	return func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != typ {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
	}
}

// withNamespacePath makes the container join an existing namespace.
func withNamespacePath(typ specs.LinuxNamespaceType, path string) specOpt {
	return func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == typ {
				s.Linux.Namespaces[i].Path = path
				return
			}
		}
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
	}
}

// withMount appends a mount.
func withMount(m specs.Mount) specOpt {
	return func(s *specs.Spec) { s.Mounts = append(s.Mounts, m) }
}

// withBind bind-mounts a host path (rbind plus opts).
func withBind(src, dst string, opts ...string) specOpt {
	return withMount(specs.Mount{Destination: dst, Type: "bind", Source: src, Options: append([]string{"rbind"}, opts...)})
}

// withWritableRoot gives the container its own writable copy of the rootfs
// and returns (through *path) the copy's host path.
func withWritableRoot(t testing.TB, path *string) specOpt {
	return func(s *specs.Spec) {
		dir := copyRootfs(t)
		if path != nil {
			*path = dir
		}
		s.Root = &specs.Root{Path: dir}
	}
}

// ---------------------------------------------------------------------------
// containers

// ctr is one test container: its id, --root, bundle and spec.
type ctr struct {
	t      testing.TB
	id     string
	root   string // --root state directory
	bundle string
	spec   *specs.Spec
	// pids seen for this container's init; cleanup checks they are gone.
	pids []int
}

// newID returns a container id unique to this test binary run.
func newID(t testing.TB) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	name = strings.TrimPrefix(name, "test")
	if len(name) > 24 {
		name = name[len(name)-24:]
	}
	return fmt.Sprintf("it%d-%d-%s", os.Getpid(), idCounter.Add(1), strings.Trim(name, "-"))
}

// newCtr makes a container (not yet created) with its own --root.
func newCtr(t testing.TB, opts ...specOpt) *ctr {
	t.Helper()
	requireRuntime(t)
	return newCtrIn(t, filepath.Join(shortTempDir(t), "state"), opts...)
}

// newCtrIn makes a container whose state lives in root (shared by several
// containers of one test). The bundle's config.json is written at once.
func newCtrIn(t testing.TB, root string, opts ...specOpt) *ctr {
	t.Helper()
	requireRuntime(t)
	c := &ctr{t: t, id: newID(t), root: root, bundle: shortTempDir(t), spec: defaultSpec()}
	c.spec.Linux.CgroupsPath = "/" + cgroupParent + "/" + c.id
	for _, o := range opts {
		o(c.spec)
	}
	c.writeSpec()
	t.Cleanup(c.cleanup)
	return c
}

// writeSpec (re)writes the bundle's config.json from c.spec.
func (c *ctr) writeSpec() {
	c.t.Helper()
	b, err := json.MarshalIndent(c.spec, "", "\t")
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// rt runs `$BIN --root ROOT args...`.
func (c *ctr) rt(args ...string) result {
	c.t.Helper()
	return runCmd(c.t, c.cmd(args...))
}

// cmd prepares `$BIN --root ROOT args...` for callers that set stdin or fds.
func (c *ctr) cmd(args ...string) *exec.Cmd {
	return rtCmd(append([]string{"--root", c.root}, args...)...)
}

// create runs `create --bundle B [extra...] ID`.
func (c *ctr) create(extra ...string) result {
	c.t.Helper()
	args := append([]string{"create", "--bundle", c.bundle}, extra...)
	return c.rt(append(args, c.id)...)
}

// run runs `run --bundle B [extra...] ID` in the foreground.
func (c *ctr) run(extra ...string) result {
	c.t.Helper()
	args := append([]string{"run", "--bundle", c.bundle}, extra...)
	return c.rt(append(args, c.id)...)
}

func (c *ctr) start() result { c.t.Helper(); return c.rt("start", c.id) }

// state runs `state ID` and decodes it; ok is false if the command failed.
func (c *ctr) state() (st specs.State, res result, ok bool) {
	c.t.Helper()
	res = c.rt("state", c.id)
	if res.Code != 0 {
		return st, res, false
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		c.t.Fatalf("state output is not JSON: %v\n%s", err, res)
	}
	if st.Pid > 0 {
		c.notePid(st.Pid)
	}
	return st, res, true
}

// mustState is state() that fails the test when the command fails.
func (c *ctr) mustState() specs.State {
	c.t.Helper()
	st, res, ok := c.state()
	if !ok {
		c.t.Fatalf("state failed: %s", res)
	}
	return st
}

// waitStatus polls state until it reports want.
func (c *ctr) waitStatus(want specs.ContainerState) specs.State {
	c.t.Helper()
	var last specs.State
	var lastRes result
	ok := waitFor(func() bool {
		var good bool
		last, lastRes, good = c.state()
		return good && last.Status == want
	})
	if !ok {
		c.t.Fatalf("container %s never reached status %q; last state %+v\n%s", c.id, want, last, lastRes)
	}
	return last
}

func (c *ctr) notePid(pid int) {
	for _, p := range c.pids {
		if p == pid {
			return
		}
	}
	c.pids = append(c.pids, pid)
}

// cleanup deletes the container and checks that nothing of it remains.
func (c *ctr) cleanup() {
	t := c.t
	if res := c.rt("delete", "--force", c.id); res.Code != 0 {
		t.Errorf("cleanup: %s", res)
	}
	checkNothingLeft(t, c)
}

// checkNothingLeft fails the test if the container's state, cgroup, init
// process or a mount of its bundle remain.
func checkNothingLeft(t testing.TB, c *ctr) {
	t.Helper()
	if left := stateEntries(c.root, c.id); len(left) > 0 {
		t.Errorf("state of %s left in --root: %v", c.id, left)
	}
	waitFor(func() bool { return len(cgroupDirs(c.id)) == 0 })
	if left := cgroupDirs(c.id); len(left) > 0 {
		t.Errorf("cgroup of %s left: %v", c.id, left)
	}
	for _, pid := range c.pids {
		if !waitGone(pid) {
			t.Errorf("init pid %d of %s still alive", pid, c.id)
		}
	}
	// a process being killed may take a moment to go
	waitFor(func() bool { return len(procsOf(c.id, c.bundle)) == 0 })
	if procs := procsOf(c.id, c.bundle); len(procs) > 0 {
		t.Errorf("processes of %s left: %v", c.id, procs)
	}
	if m := mountsMentioning(c.bundle); len(m) > 0 {
		t.Errorf("mounts of %s left in the host mount namespace: %v", c.id, m)
	}
}

// stateEntries lists the entries of root whose name contains id.
func stateEntries(root, id string) []string {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var left []string
	for _, e := range ents {
		if strings.Contains(e.Name(), id) {
			left = append(left, filepath.Join(root, e.Name()))
		}
	}
	return left
}

// cgroupDirs lists cgroup directories for id, on v1, hybrid and v2 layouts.
func cgroupDirs(id string) []string {
	var dirs []string
	for _, pat := range []string{
		"/sys/fs/cgroup/*/" + cgroupParent + "/" + id,
		"/sys/fs/cgroup/" + cgroupParent + "/" + id,
	} {
		m, _ := filepath.Glob(pat)
		dirs = append(dirs, m...)
	}
	return dirs
}

// cgroupProcs lists the pids in the container's cgroups.
func cgroupProcs(id string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, d := range cgroupDirs(id) {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil && !seen[p] {
				seen[p] = true
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// removeCgroupParents removes the (empty) parent cgroups the suite made.
func removeCgroupParents() {
	for _, pat := range []string{"/sys/fs/cgroup/*/" + cgroupParent, "/sys/fs/cgroup/" + cgroupParent} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			syscall.Rmdir(d)
		}
	}
}

// procsOf lists live processes that belong to container id: in its cgroup,
// or with the id or bundle in their command line or working directory.
func procsOf(id, bundle string) []string {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var found []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !alive(pid) {
			continue
		}
		p := "/proc/" + e.Name()
		cmdline, _ := os.ReadFile(p + "/cmdline")
		cg, _ := os.ReadFile(p + "/cgroup")
		cwd, _ := os.Readlink(p + "/cwd")
		args := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(args, id) || mentionsPath(args, bundle) ||
			strings.Contains(string(cg), cgroupParent+"/"+id+"\n") ||
			cwd == bundle || strings.HasPrefix(cwd, bundle+"/") {
			found = append(found, fmt.Sprintf("%d[%s]", pid, strings.TrimSpace(args)))
		}
	}
	return found
}

// mentionsPath reports whether s contains path or a path below it (and not
// merely a longer name that starts like path).
func mentionsPath(s, path string) bool {
	s += " "
	return strings.Contains(s, path+" ") || strings.Contains(s, path+"/")
}

// mountsMentioning lists host mountinfo lines that mention path.
func mountsMentioning(path string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var found []string
	for _, l := range strings.Split(string(b), "\n") {
		if mentionsPath(l, path) {
			found = append(found, l)
		}
	}
	return found
}

// ---------------------------------------------------------------------------
// waiting

// waitFor polls cond until it is true or the deadline passes.
func waitFor(cond func() bool) bool {
	end := time.Now().Add(deadline)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// the state follows the last ')' (comm may contain anything)
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitGone waits for pid to exit.
func waitGone(pid int) bool { return waitFor(func() bool { return !alive(pid) }) }

// waitFile waits for path to exist with non-empty content and returns it.
func waitFile(t testing.TB, path string) string {
	t.Helper()
	var b []byte
	if !waitFor(func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && len(b) > 0
	}) {
		t.Fatalf("%s did not appear", path)
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// small checks

// runInCtr runs script with `sh -c` in a new container (foreground `run`),
// requires exit 0 and returns its stdout.
func runInCtr(t testing.TB, script string, opts ...specOpt) string {
	t.Helper()
	c := newCtr(t, append(opts, withSh(script))...)
	res := c.run()
	if res.Code != 0 {
		t.Fatalf("container script %q failed: %s", script, res)
	}
	return res.Stdout
}

// statusField returns a field of /proc/<pid>/status-like text ("CapEff").
func statusField(status, field string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// lines splits trimmed output into lines.
func lines(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// inode returns the inode number of path (a namespace file, for instance).
func inode(t testing.TB, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// jsonLines decodes one JSON object per non-empty line.
func jsonLines(t testing.TB, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Errorf("log line is not a JSON object: %v: %q", err, l)
			continue
		}
		out = append(out, m)
	}
	return out
}

// startHolder starts a host process (the rootfs's busybox sleep) in new
// namespaces, for containers to join by path, and kills it when the test ends.
func startHolder(t testing.TB, cloneflags uintptr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(rootfsDir, "bin", "busybox"), "sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting namespace holder: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}
