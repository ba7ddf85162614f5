package integration

// Regression tests for the published container-runtime CVEs (runc and
// crun). Each test is the ATTACK, as an image (rootfs), a config or a
// process inside the container, plus the check that it failed: the host is
// unharmed, or the runtime refused with an error, or nothing escaped.
//
// The attacks never aim at real host files: every "host" target is a
// throwaway directory under /tmp outside the rootfs, and every procfs file
// an attack tries to reach is the container's own (its UTS namespace's
// hostname, its network namespace's ip_forward), so that a vulnerable
// runtime harms nothing. CVE-2019-5736 overwrites a COPY of the runtime
// binary, run from a temporary directory.
//
// The in-container attacker is testdata/cve/attacker, built static
// (CGO_ENABLED=0) by the first test that needs it and copied into a
// per-test rootfs as /bin/attacker.
//
// Where runc 1.1.5 (Debian's 1.1.5+ds1-1+deb12u1, this suite's reference)
// is vulnerable, the test was run against it, failed, and now skips it with
// isRunc(); the comment says so. LXCRUN_CVE_NOSKIP=1 runs those attacks
// against runc anyway. Each attack was also seen to work against a
// vulnerable runtime (older upstream runc releases built from source, or a
// copy of lxcrun with the defence removed); the comments name the versions.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ---------------------------------------------------------------------------
// helpers

var (
	attackerOnce sync.Once
	attackerPath string
	attackerErr  error
)

// attackerBinary builds testdata/cve/attacker once per run.
func attackerBinary(t testing.TB) string {
	t.Helper()
	attackerOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			// The Makefile adds it to PATH; this is where CI has it.
			goBin = "/usr/local/go/bin/go"
		}
		attackerPath = filepath.Join(scratchDir, "attacker")
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", attackerPath, "./testdata/cve/attacker")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			attackerErr = fmt.Errorf("building the attacker: %v\n%s", err, out)
		}
	})
	if attackerErr != nil {
		t.Fatal(attackerErr)
	}
	return attackerPath
}

// cveRootfs is a writable copy of the shared rootfs with /bin/attacker,
// the image an attack is made of; tests change it further.
func cveRootfs(t testing.TB) string {
	t.Helper()
	requireRuntime(t)
	root := copyRootfs(t)
	if err := copyFile(attackerBinary(t), filepath.Join(root, "bin", "attacker"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// skipIfVulnerableRunc skips a test that runc 1.1.5 fails because it is
// vulnerable. LXCRUN_CVE_NOSKIP=1 runs it anyway, to see the attack work.
func skipIfVulnerableRunc(t testing.TB, cve string) {
	t.Helper()
	if isRunc() && os.Getenv("LXCRUN_CVE_NOSKIP") == "" {
		t.Skipf("runc 1.1.5 is vulnerable to %s (LXCRUN_CVE_NOSKIP=1 runs the attack)", cve)
	}
}

// withRoot sets root.path (writable).
func withRoot(path string) specOpt {
	return func(s *specs.Spec) { s.Root = &specs.Root{Path: path} }
}

// withSysctl sets one linux.sysctl entry.
func withSysctl(key, value string) specOpt {
	return func(s *specs.Spec) {
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		s.Linux.Sysctl[key] = value
	}
}

// withTerminal sets process.terminal.
func withTerminal(s *specs.Spec) { s.Process.Terminal = true }

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	os.RemoveAll(link)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// treeOf lists every path under dir (relative), for "nothing was created
// there" checks.
func treeOf(dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// checkTree fails the test if the entries under dir are not want.
func checkTree(t testing.TB, dir string, want []string, what string) {
	t.Helper()
	if got := treeOf(dir); !slices.Equal(got, want) {
		t.Errorf("%s: the host directory %s now holds %q, want %q", what, dir, got, want)
	}
}

// sharedHostDir is a host directory made a shared mount (its own peer
// group), so that a mount a runtime wrongly makes on it from a container
// with rootfsPropagation "rshared" shows up in the host's mount table.
// Everything mounted on it is detached when the test ends.
func sharedHostDir(t testing.TB) string {
	t.Helper()
	dir := shortTempDir(t)
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", dir, err)
	}
	t.Cleanup(func() {
		for i := 0; i < 100; i++ {
			if unix.Unmount(dir, unix.MNT_DETACH) != nil {
				break
			}
		}
	})
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", dir, err)
	}
	return dir
}

// hostMountsUnder lists host mount points strictly below dir.
func hostMountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var found []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(unescapeMountinfo(f[4]), dir+"/") {
			found = append(found, l)
		}
	}
	return found
}

func unescapeMountinfo(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

func withRshared(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" }

func sha256Of(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// waitShort polls cond for up to 3 seconds: a hunter that did not catch a
// short-lived process by then never will, and the attack is retried.
func waitShort(cond func() bool) bool {
	end := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// readJSONL decodes what the attacker appended to path so far.
func readJSONL(path string) []map[string]any {
	b, _ := os.ReadFile(path)
	var out []map[string]any
	for _, l := range strings.Split(string(b), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// rtWith runs another runtime binary (a copy) with the container's --root.
func (c *ctr) rtWith(bin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(bin, append([]string{"--root", c.root}, args...)...)
	cmd.Env = os.Environ()
	return runCmd(c.t, cmd)
}

// createdOrRefused runs the container to completion: it returns the result
// and whether the runtime refused it (non-zero exit before the process
// could print marker).
func runOrRefused(t testing.TB, c *ctr, marker string) (result, bool) {
	t.Helper()
	res := c.run()
	if res.Code != 0 && !strings.Contains(res.Stdout, marker) {
		t.Logf("the runtime refused the container (acceptable defence): %s", res)
		return res, true
	}
	return res, false
}

// ---------------------------------------------------------------------------
// runc

// CVE-2016-3697: runc looked a numeric user up as a NAME first, so an image
// whose /etc/passwd has an entry NAMED "1000" with uid 0 turned "user 1000"
// into root. Attack: such an /etc/passwd, then a container and an exec as
// user 1000. Defence: process.user.uid and `exec --user N` are ids, never
// looked up as names; the process must run as uid 1000 (and must not get
// the fake entry's home either).
func TestCVE_2016_3697_NumericUserIsNotAName(t *testing.T) {
	t.Parallel()
	root := cveRootfs(t)
	mustWrite(t, filepath.Join(root, "etc/passwd"),
		"root:x:0:0:root:/root:/bin/sh\n"+
			"1000:x:0:0:a user NAMED 1000 with uid 0:/fakehome:/bin/sh\n"+
			"alice:x:1000:1000:alice:/home/alice:/bin/sh\n")
	mustWrite(t, filepath.Join(root, "etc/group"), "root:x:0:\n1000:x:0:\nalice:x:1000:\n")
	script := "echo uid=$(id -u) gid=$(id -g) home=$HOME"
	noHome := func(s *specs.Spec) { s.Process.Env = []string{defaultPath} }
	check := func(t *testing.T, out, wantGid string) {
		t.Helper()
		if !strings.Contains(out, "uid=1000 gid="+wantGid) {
			t.Errorf("user 1000 runs as %q, want uid=1000 gid=%s (the passwd entry NAMED \"1000\" has uid 0)", strings.TrimSpace(out), wantGid)
		}
		if strings.Contains(out, "home=/fakehome") {
			t.Errorf("HOME was taken from the passwd entry named \"1000\": %q", out)
		}
	}
	t.Run("process_user", func(t *testing.T) {
		out := runInCtr(t, script, withRoot(root), noHome, func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
		})
		check(t, out, "1000")
	})
	t.Run("exec_user", func(t *testing.T) {
		c := newCtr(t, withRoot(root), noHome)
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		check(t, c.rt("exec", "--user", "1000", c.id, "sh", "-c", script).mustSucceed(t).Stdout, "0")
		check(t, c.rt("exec", "--user", "1000:1000", c.id, "sh", "-c", script).mustSucceed(t).Stdout, "1000")
	})
}

// CVE-2016-9962: processes in the container could ptrace the runtime's
// init (and `runc exec`'s helper) while it was in the container's
// namespaces but still held runtime fds, and so reach the host through
// them. Attack: an exec'd process with the container's own credentials and
// capabilities (the same as the parked init's, which has already dropped
// to them) reads /proc/1/environ, opens /proc/1/exe, follows
// /proc/1/fd/N, cwd and root, and PTRACE_ATTACHes to the init parked
// between create and start. Then a hunter polls /proc during 15 execs and
// does the same to every exec helper it catches. Defence: the init and the
// exec helper are non-dumpable (PR_SET_DUMPABLE 0) until execve, so
// ptrace_may_access refuses all of it (EACCES/EPERM). Every runc tried
// (1.1.5, 1.1.11, 1.1.4, 1.1.1, 1.0.0-rc94) fails the parked-init case: its
// init blocked on exec.fifo is dumpable (environ, exe, the exec.fifo fd in
// the host state directory and PTRACE_ATTACH all work).
func TestCVE_2016_9962_RuntimeInitNotPtraceable(t *testing.T) {
	t.Parallel()
	root := cveRootfs(t)
	t.Run("parked_init", func(t *testing.T) {
		skipIfVulnerableRunc(t, "CVE-2016-9962 (its parked init, blocked on exec.fifo, is dumpable: environ, exe, the exec.fifo fd and PTRACE_ATTACH all work)")
		c := newCtr(t, withRoot(root))
		c.create().mustSucceed(t)
		res := c.rt("exec", c.id, "/bin/attacker", "inspect", "1").mustSucceed(t)
		probes := readJSONLString(res.Stdout)
		if len(probes) == 0 {
			t.Fatalf("the attacker printed nothing: %s", res)
		}
		for _, p := range probes {
			name, got := str(p, "probe"), str(p, "result")
			if name == "fd-list" {
				continue // listing fd numbers is allowed to root; following them is not
			}
			if got == "ok" {
				t.Errorf("from inside the container, %s of the parked runtime init succeeded (detail %v): it must be non-dumpable", name, p["detail"])
			}
		}
		t.Logf("probes of the parked init: %s", strings.TrimSpace(res.Stdout))
	})
	t.Run("exec_helper", func(t *testing.T) {
		report := shortTempDir(t)
		c := newCtr(t, withRoot(root), withBind(report, "/mnt/data"))
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		log := filepath.Join(report, "hunt.jsonl")
		c.rt("exec", "-d", c.id, "/bin/attacker", "hunt", "-out", "/mnt/data/hunt.jsonl", "-for", "8").mustSucceed(t)
		waitFile(t, log)
		for i := 0; i < 15; i++ {
			c.rt("exec", c.id, "true").mustSucceed(t)
		}
		seenHelper := 0
		for _, r := range readJSONL(log) {
			if str(r, "event") != "proc" {
				continue
			}
			if strings.HasPrefix(str(r, "exe-kind"), "container:") {
				continue // the exec'd `true` after its execve: the container's own
			}
			seenHelper++
			if str(r, "exe-open") == "ok" || str(r, "environ") == "ok" {
				t.Errorf("the hunter reached a runtime exec helper: %v", r)
			}
			if fds, _ := r["fds"].([]any); len(fds) > 0 {
				for _, fd := range fds {
					if s, _ := fd.(string); strings.Contains(s, "=") {
						t.Errorf("the hunter followed an fd of a runtime exec helper: %v", r)
					}
				}
			}
		}
		// Catching the helper is a race; a run that saw none proves nothing
		// about it but is not a failure.
		t.Logf("the hunter saw %d runtime helper processes, all non-dumpable", seenHelper)
	})
}

func readJSONLString(s string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(s, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// CVE-2019-5736: the container made the runtime binary execute inside it
// (an image whose program is `#!/proc/self/exe`), opened /proc/PID/exe of
// that process, waited for it to exit and wrote to the HOST runtime binary
// through the fd. Attack, against a COPY of the runtime binary run from a
// temporary directory: a hunter (container A's process) keeps an fd to
// every binary from outside the image that runs in its pid namespace and
// then opens it for writing and appends to it. It catches the runtime
// twice: `exec A /bin/evil` (the exec helper execve's the script, the
// kernel runs the helper's /proc/self/exe), and at create/start of a
// container B in A's pid namespace whose process is /bin/evil (the init
// execve's it). Defence: the processes that enter a container run a sealed
// binary (a read-only overlayfs or bind mount: EROFS; or a sealed memfd:
// EPERM), so the copy's sha256 is unchanged. A copy of lxcrun that execs
// its real binary fails (the hunter appends to the copy); runc 1.1.5 and
// 1.0.0-rc94 pass (the kernel cannot run their memfd copy as the script's
// interpreter: ENOENT, so nothing is exposed; the test accepts that).
func TestCVE_2019_5736_OverwriteRuntimeBinary(t *testing.T) {
	t.Parallel()
	requireRuntime(t)
	binDir := shortTempDir(t)
	bin := filepath.Join(binDir, filepath.Base(rtBin))
	if err := copyFile(rtBin, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	before := sha256Of(t, bin)

	root := cveRootfs(t)
	mustWrite(t, filepath.Join(root, "bin/evil"), "#!/proc/self/exe\n")
	os.Chmod(filepath.Join(root, "bin/evil"), 0o755)
	report := shortTempDir(t)
	log := filepath.Join(report, "hunt.jsonl")

	a := newCtr(t, withRoot(root), withBind(report, "/mnt/data"),
		withArgs("/bin/attacker", "hunt", "-write", "-out", "/mnt/data/hunt.jsonl", "-for", "120"))
	a.rtWith(bin, "create", "--bundle", a.bundle, a.id).mustSucceed(t)
	a.rtWith(bin, "start", a.id).mustSucceed(t)
	waitFile(t, log)
	apid := a.mustState().Pid

	// caught reports whether the hunter opened an outside binary whose
	// command line has tag.
	caught := func(tag string) bool {
		for _, r := range readJSONL(log) {
			if str(r, "event") == "proc" && str(r, "exe-kind") == "outside" && strings.Contains(str(r, "cmdline"), tag) {
				return true
			}
		}
		return false
	}
	// notRun reports whether the kernel could not even start the
	// runtime binary as the script's interpreter (runc 1.1.5's memfd
	// copy gives ENOENT): then nothing of it was exposed.
	notRun := func(res result) bool {
		return res.Code != 0 && containsFold(res.Stderr, "no such file or directory")
	}
	exposed := map[string]bool{}
	// during exec
	for i := 0; i < 5 && !caught("exec-phase"); i++ {
		res := a.rtWith(bin, "exec", a.id, "/bin/evil", "exec-phase")
		t.Logf("exec of /bin/evil: %s", res)
		if notRun(res) {
			break
		}
		exposed["exec-phase"] = true
		waitShort(func() bool { return caught("exec-phase") })
	}
	// during create/start
	for i := 0; i < 5 && !caught("create-phase"); i++ {
		b := newCtr(t, withRoot(root), withArgs("/bin/evil", "create-phase"),
			withNamespacePath(specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", apid)))
		created := b.rtWith(bin, "create", "--bundle", b.bundle, b.id).mustSucceed(t)
		b.rtWith(bin, "start", b.id).mustSucceed(t)
		b.waitStatus(specs.StateStopped)
		// The container's stderr is create's: the runtime binary, run as
		// the script's interpreter, complains there about "/bin/evil".
		stderr := readBack(filepath.Join(filepath.Dir(created.stdoutPath), "stderr"))
		t.Logf("container stderr after /bin/evil: %q", stderr)
		if !strings.Contains(stderr, "/bin/evil") || containsFold(stderr, "no such file or directory") {
			break
		}
		exposed["create-phase"] = true
		waitShort(func() bool { return caught("create-phase") })
	}
	// every caught binary gets its write attempt once it exited
	waitFor(func() bool {
		outside, writes := 0, 0
		for _, r := range readJSONL(log) {
			if str(r, "event") == "proc" && str(r, "exe-kind") == "outside" {
				outside++
			}
			if str(r, "event") == "write" {
				writes++
			}
		}
		return writes >= outside
	})
	for _, r := range readJSONL(log) {
		switch {
		case str(r, "event") == "write" && str(r, "write") == "ok":
			t.Errorf("the container wrote to the runtime binary it caught (pid %v): %v", r["pid"], r)
		case str(r, "event") == "write":
			t.Logf("write to caught runtime binary refused: %v", r)
		case str(r, "event") == "proc" && str(r, "exe-kind") == "outside":
			t.Logf("caught: %v", r)
		}
	}
	if after := sha256Of(t, bin); after != before {
		t.Errorf("the host runtime binary (a copy at %s) was modified from inside the container: sha256 %s -> %s", bin, before, after)
	}
	for _, phase := range []string{"exec-phase", "create-phase"} {
		if exposed[phase] && !caught(phase) {
			b, _ := os.ReadFile(log)
			t.Errorf("the runtime binary ran in the container (%s) but the hunter never caught it: the test proved nothing\n%s", phase, b)
		}
	}
	a.rt("kill", a.id, "KILL")
}

// fakeProc is a host directory laid out like procfs, the volume of the
// CVE-2019-16884/19921 attacks: the runtime's procfs writes (the sysctl
// net.ipv4.ip_forward, LSM labels) would land in its regular files.
func fakeProc(t testing.TB) (dir string, check func()) {
	t.Helper()
	dir = shortTempDir(t)
	files := map[string]string{
		"sys/net/ipv4/ip_forward": "fake-0\n",
		"self/attr/exec":          "fake-unconfined\n",
		"self/attr/current":       "fake-unconfined\n",
		"self/attr/apparmor/exec": "fake-unconfined\n",
	}
	for name, content := range files {
		mustWrite(t, filepath.Join(dir, name), content)
	}
	return dir, func() {
		for name, content := range files {
			if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != content {
				t.Errorf("the runtime's procfs write went into the fake proc volume: %s now holds %q", name, b)
			}
		}
	}
}

// procCheck is the in-container half: /proc must be procfs and the
// sysctl must have reached the network namespace (Ip: Forwarding 1).
const procCheck = "stat -f -c 'procfs=%T' /proc; awk '/^Ip: [0-9]/ {print \"forwarding=\" $2}' /proc/net/snmp; echo marker-end"

func checkRealProc(t testing.TB, res result, refused bool) {
	t.Helper()
	if refused {
		return
	}
	if !strings.Contains(res.Stdout, "procfs=proc") {
		t.Errorf("the container's /proc is not procfs: %q", res.Stdout)
	}
	if !strings.Contains(res.Stdout, "forwarding=1") {
		t.Errorf("sysctl net.ipv4.ip_forward=1 did not reach the real procfs: %q", res.Stdout)
	}
}

// CVE-2019-16884: an image volume mounted over /proc (a fake procfs) made
// runc write the AppArmor label into a plain file, so the container ran
// unconfined. This host has no AppArmor; the same writes are the sysctls.
// Attack: a config bind-mounting a fake-proc directory over /proc after the
// proc mount, with a sysctl. Defence: a mount over /proc that is not procfs
// is refused, or the runtime writes through its own procfs handle, so the
// fake files stay untouched and the sysctl reaches the kernel.
func TestCVE_2019_16884_VolumeOverProc(t *testing.T) {
	t.Parallel()
	vol, check := fakeProc(t)
	c := newCtr(t, withBind(vol, "/proc"), withSysctl("net.ipv4.ip_forward", "1"), withSh(procCheck))
	res, refused := runOrRefused(t, c, "marker-end")
	check()
	if !refused {
		// the container may keep its fake /proc, as long as the runtime
		// was not fooled by it
		if !strings.Contains(res.Stdout, "forwarding=1") {
			t.Errorf("sysctl net.ipv4.ip_forward=1 did not reach the real procfs: %s", res)
		}
	}
}

// CVE-2019-19921: the /proc check of 16884 was on the destination string;
// an image symlink (/evil -> /proc) made a volume mount on "/evil" land on
// /proc all the same. And mount destinations with symlinks pointing out of
// the rootfs must be resolved inside it. Attack 1: image /evil -> /proc,
// config bind of a fake-proc volume on /evil, a sysctl. Attack 2: image
// /escape -> ../../../../../../../../HOST/target (relative, escaping),
// config bind of a marker directory on /escape, rootfsPropagation rshared
// and a shared host directory, so a mount made on the host path would show
// in the host mount table. Defence: destinations are resolved in the
// rootfs (openat2 RESOLVE_IN_ROOT) and mounts made on the resolved fd; the
// /proc check applies to the resolved target.
func TestCVE_2019_19921_SymlinkedMountDestination(t *testing.T) {
	t.Parallel()
	t.Run("symlink_to_proc", func(t *testing.T) {
		t.Parallel()
		root := cveRootfs(t)
		mustSymlink(t, "/proc", filepath.Join(root, "evil"))
		vol, check := fakeProc(t)
		c := newCtr(t, withRoot(root), withBind(vol, "/evil"), withSysctl("net.ipv4.ip_forward", "1"), withSh(procCheck))
		res, refused := runOrRefused(t, c, "marker-end")
		check()
		checkRealProc(t, res, refused)
	})
	t.Run("symlink_out_of_rootfs", func(t *testing.T) {
		t.Parallel()
		host := sharedHostDir(t)
		target := filepath.Join(host, "target")
		os.Mkdir(target, 0o755)
		root := cveRootfs(t)
		mustSymlink(t, strings.Repeat("../", 12)+strings.TrimPrefix(target, "/"), filepath.Join(root, "escape"))
		src := shortTempDir(t)
		mustWrite(t, filepath.Join(src, "marker"), "mounted\n")
		c := newCtr(t, withRoot(root), withBind(src, "/escape"), withRshared,
			withSh("cat "+target+"/marker; echo marker-end"))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, []string{"target"}, "bind on an escaping symlink")
		if m := hostMountsUnder(host); len(m) > 0 {
			t.Errorf("the bind mount landed on the host: %q", m)
		}
		if !refused && !strings.Contains(res.Stdout, "mounted") {
			t.Errorf("the bind mount is not at the symlink's target inside the rootfs (%s): %s", target, res)
		}
	})
}

// CVE-2021-30465: a mount destination inside a shared volume was swapped
// for a symlink (to "/") between runc's check and its mount(2), so the
// mount landed outside the rootfs. Attack 1 (static): image /evil -> /,
// config tmpfs on /evil/tmp and a bind on /evil/HOST/victim (HOST a shared
// host directory, rootfsPropagation rshared). Attack 2 (the race): a
// container A swaps a directory of a shared volume with a symlink to the
// host directory in a tight loop while container B, with the volume on
// /vol, is created 15 times with a bind mount on /vol/a/b. Defence: mounts
// are made on an fd resolved inside the rootfs (RESOLVE_IN_ROOT), never on
// a path string, so nothing is ever mounted on the host directory.
//
// runc 1.0.0-rc94 fails the race (the bind appears on the host); runc
// 1.1.5 passes. lxcrun with targets made by host path fails both.
func TestCVE_2021_30465_MountDestinationSymlinkExchange(t *testing.T) {
	t.Parallel()
	t.Run("static", func(t *testing.T) {
		t.Parallel()
		host := sharedHostDir(t)
		victim := filepath.Join(host, "victim")
		os.Mkdir(victim, 0o755)
		root := cveRootfs(t)
		mustSymlink(t, "/", filepath.Join(root, "evil"))
		src := shortTempDir(t)
		mustWrite(t, filepath.Join(src, "marker"), "mounted\n")
		// the tmpfs comes last: mounted on the host's /tmp by a
		// vulnerable runtime, it would hide the bind source first
		c := newCtr(t, withRoot(root), withRshared,
			withBind(src, "/evil"+victim),
			withMount(specs.Mount{Destination: "/evil/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}),
			// mountinfo lists the bind even where the tmpfs on /tmp covers it
			withSh("grep -c ' /tmp ' /proc/self/mountinfo; grep -c ' "+victim+" ' /proc/self/mountinfo; echo marker-end"))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, []string{"victim"}, "mount on /evil/...")
		if m := hostMountsUnder(host); len(m) > 0 {
			t.Errorf("the bind mount landed on the host: %q", m)
		}
		if !refused && !strings.HasPrefix(res.Stdout, "1\n1\n") {
			t.Errorf("the mounts are not inside the container at /tmp and %s: %s", victim, res)
		}
	})
	t.Run("race", func(t *testing.T) {
		t.Parallel()
		host := sharedHostDir(t)
		os.MkdirAll(filepath.Join(host, "outside", "b"), 0o755)
		src := shortTempDir(t)
		mustWrite(t, filepath.Join(src, "marker"), "mounted\n")
		swapRace(t, filepath.Join(host, "outside"), "/vol/a/b", src, withRshared)
		checkTree(t, host, []string{"outside", "outside/b"}, "racing bind mount")
		if m := hostMountsUnder(host); len(m) > 0 {
			t.Errorf("a racing bind mount landed on the host: %q", m)
		}
	})
}

// swapRace is the symlink-exchange race of CVE-2021-30465 and
// CVE-2024-45310: a volume V holds a directory a (with a/b) and a symlink
// a-link -> outside (a host directory). Container A, with V on /vol,
// exchanges a and a-link in a tight loop; meanwhile container B, with V on
// /vol and a bind of src on dest (below /vol/a), is run 15 times.
func swapRace(t *testing.T, outside, dest, src string, opts ...specOpt) {
	t.Helper()
	vol := shortTempDir(t)
	os.MkdirAll(filepath.Join(vol, "a", "b"), 0o755)
	mustSymlink(t, outside, filepath.Join(vol, "a-link"))
	root := cveRootfs(t)
	os.Mkdir(filepath.Join(root, "vol"), 0o755)
	a := newCtr(t, withRoot(root), withBind(vol, "/vol"), withArgs("/bin/attacker", "swap", "-for", "60", "/vol", "a", "a-link"))
	created := a.create().mustSucceed(t)
	a.start().mustSucceed(t)
	defer a.rt("kill", a.id, "KILL")
	if !waitFor(func() bool { return strings.Contains(created.laterStdout(t), "swapping") }) {
		t.Fatalf("the swapping attacker did not start: %q", created.laterStdout(t))
	}
	failures := 0
	for i := 0; i < 15; i++ {
		b := newCtr(t, append([]specOpt{withRoot(root), withBind(vol, "/vol"), withBind(src, dest), withArgs("true")}, opts...)...)
		if res := b.run(); res.Code != 0 {
			failures++ // the runtime refusing a raced destination is fine
		}
	}
	t.Logf("%d of 15 racing containers were refused", failures)
}

// CVE-2022-29162: `runc exec --cap` (and the init) gave processes
// non-empty inheritable capabilities, which execve of a binary with
// inheritable file capabilities turns into permitted ones. Attack: exec
// with --cap, with a process.json, and a non-root exec. Defence: CapInh
// is exactly what process.capabilities.inheritable asks, empty by default;
// --cap never adds to it. runc 1.1.1 and 1.0.0-rc94 fail the exec case.
func TestCVE_2022_29162_NoInheritableCaps(t *testing.T) {
	t.Parallel()
	status := "grep -E '^Cap(Inh|Amb):' /proc/self/status"
	check := func(t *testing.T, out, wantInh string) {
		t.Helper()
		if got := statusField(out, "CapInh"); got != wantInh {
			t.Errorf("CapInh = %q, want %q", got, wantInh)
		}
		if got := statusField(out, "CapAmb"); got != "0000000000000000" {
			t.Errorf("CapAmb = %q, want none", got)
		}
	}
	t.Run("init", func(t *testing.T) {
		t.Parallel()
		check(t, runInCtr(t, status), "0000000000000000")
	})
	t.Run("init_asks", func(t *testing.T) {
		t.Parallel()
		// the config may ask for inheritable capabilities: CAP_KILL is bit 5
		check(t, runInCtr(t, status, func(s *specs.Spec) {
			s.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
		}), "0000000000000020")
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t)
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		check(t, c.rt("exec", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_NET_RAW", c.id, "sh", "-c", status).mustSucceed(t).Stdout, "0000000000000000")
		check(t, c.rt("exec", "--user", "65534", "--cap", "CAP_NET_RAW", c.id, "sh", "-c", status).mustSucceed(t).Stdout, "0000000000000000")
		p := c.spec.Process
		proc := *p
		proc.Args = []string{"sh", "-c", status}
		proc.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
		b, _ := json.Marshal(proc)
		pf := filepath.Join(c.bundle, "process.json")
		os.WriteFile(pf, b, 0o644)
		check(t, c.rt("exec", "--process", pf, c.id).mustSucceed(t).Stdout, "0000000000000000")
	})
}

// CVE-2023-27561 / CVE-2023-28642: an image whose /proc is a symlink made
// the proc mount (and the LSM label and sysctl writes under /proc) go
// wherever the symlink points: 19921 again. Attack 1: image
// /proc -> /fakeproc, /fakeproc a directory with fake procfs files, and a
// sysctl. Attack 2: the same image, with a fake-proc volume mounted on
// /fakeproc after the proc mount (its destination is not "/proc" by name).
// Attack 3: image /proc -> HOST/procvictim, an absolute symlink
// to a shared host directory, with rootfsPropagation rshared. Defence:
// refuse a /proc that is a symlink (runc: "must be mounted on ordinary
// directory"), or at least mount procfs inside the rootfs and write to it
// through the runtime's own procfs handle: the fake files stay untouched
// and nothing is mounted or created on the host.
//
// runc 1.1.5 refuses all three; runc 1.1.4 fails attack 2 (it writes the
// sysctl into the volume).
func TestCVE_2023_27561_CVE_2023_28642_ProcIsSymlink(t *testing.T) {
	t.Parallel()
	t.Run("in_rootfs", func(t *testing.T) {
		t.Parallel()
		root := cveRootfs(t)
		os.RemoveAll(filepath.Join(root, "proc"))
		mustSymlink(t, "/fakeproc", filepath.Join(root, "proc"))
		fake := filepath.Join(root, "fakeproc", "sys/net/ipv4/ip_forward")
		mustWrite(t, fake, "fake-0\n")
		c := newCtr(t, withRoot(root), withSysctl("net.ipv4.ip_forward", "1"), withSh(procCheck))
		res, refused := runOrRefused(t, c, "marker-end")
		if b, _ := os.ReadFile(fake); string(b) != "fake-0\n" {
			t.Errorf("the sysctl was written into the image's fake /proc file: %q", b)
		}
		checkRealProc(t, res, refused)
	})
	t.Run("target_covered_by_volume", func(t *testing.T) {
		t.Parallel()
		// the "specific mount configuration": proc lands on /fakeproc,
		// then a volume is mounted on /fakeproc (not "inside /proc" by
		// its name), so /proc is the volume when the runtime writes
		root := cveRootfs(t)
		os.RemoveAll(filepath.Join(root, "proc"))
		mustSymlink(t, "/fakeproc", filepath.Join(root, "proc"))
		os.Mkdir(filepath.Join(root, "fakeproc"), 0o755)
		vol, check := fakeProc(t)
		c := newCtr(t, withRoot(root), withBind(vol, "/fakeproc"), withSysctl("net.ipv4.ip_forward", "1"), withSh("echo marker-end"))
		runOrRefused(t, c, "marker-end")
		check()
	})
	t.Run("to_host", func(t *testing.T) {
		t.Parallel()
		host := sharedHostDir(t)
		victim := filepath.Join(host, "procvictim")
		os.Mkdir(victim, 0o755)
		root := cveRootfs(t)
		os.RemoveAll(filepath.Join(root, "proc"))
		mustSymlink(t, victim, filepath.Join(root, "proc"))
		c := newCtr(t, withRoot(root), withRshared, withSh(procCheck))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, []string{"procvictim"}, "/proc symlink to the host")
		if m := hostMountsUnder(host); len(m) > 0 {
			t.Errorf("procfs was mounted on the host: %q", m)
		}
		if !refused && !strings.Contains(res.Stdout, "procfs=proc") {
			t.Errorf("the container's /proc is not procfs: %s", res)
		}
	})
}

// CVE-2024-21626: runc leaked an fd to the host's /sys/fs/cgroup into the
// container init, so process.cwd "/proc/self/fd/N" (or `exec --cwd`) made
// the process start in a host directory, from which ../../.. reaches the
// host root. Attack: cwd /proc/self/fd/N for N in 3..10, the process then
// reads a secret file of a host temporary directory through a relative
// path; and the same with `exec --cwd`. Defence: every fd but stdio and
// the preserved ones is closed (close_range) before the final chdir, and
// the cwd is verified to be inside the container (getcwd must not be
// "(unreachable)"): create/exec fail, or the cwd is in the container.
//
// Debian's runc 1.1.5+ds1-1+deb12u1 carries the upstream fix and passes;
// upstream runc 1.1.11, 1.1.4 and 1.1.1 fail it (the secret is read
// through fd 6 in this harness).
func TestCVE_2024_21626_LeakedFdAsCwd(t *testing.T) {
	t.Parallel()
	requireRuntime(t)
	secretDir := shortTempDir(t)
	secret := fmt.Sprintf("host-secret-%d", time.Now().UnixNano())
	secretPath := filepath.Join(secretDir, "secret")
	mustWrite(t, secretPath, secret+"\n")
	rel := strings.Repeat("../", 12) + strings.TrimPrefix(secretPath, "/")
	script := "cat " + rel + " 2>/dev/null; echo cwd=$(pwd -P)"
	check := func(t *testing.T, res result, how string) {
		t.Helper()
		if strings.Contains(res.Stdout, secret) {
			t.Errorf("%s: the process read a host file through its working directory: %s", how, res)
		}
		if strings.Contains(res.Stdout, "unreachable") {
			t.Errorf("%s: the working directory is outside the container: %s", how, res)
		}
	}
	for fd := 3; fd <= 10; fd++ {
		t.Run(fmt.Sprintf("process_cwd_fd%d", fd), func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, withSh(script), func(s *specs.Spec) { s.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd) })
			check(t, c.run(), "process.cwd")
		})
	}
	t.Run("exec_cwd", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t)
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		for fd := 3; fd <= 10; fd++ {
			check(t, c.rt("exec", "--cwd", fmt.Sprintf("/proc/self/fd/%d", fd), c.id, "sh", "-c", script), fmt.Sprintf("exec --cwd /proc/self/fd/%d", fd))
		}
	})
}

// CVE-2024-45310: runc's os.MkdirAll of a mount destination followed a
// symlink swapped in after securejoin's check and created empty
// directories (and files) on the host. Attack 1 (static, a baseline that
// even naive path code passes, as Go's MkdirAll does not create through a
// dangling symlink): image /mnt/x -> HOST/outside/newdir, a dangling
// absolute symlink to a host temporary directory, and a tmpfs on
// /mnt/x/sub. Attack 2 (the race, see
// swapRace): the volume's a is exchanged with a symlink to the host
// directory while containers mount on /vol/a/b/c. Defence: destinations are
// created with mkdirat on fds resolved inside the rootfs (pathrs-lite
// MkdirAllHandle): nothing appears on the host.
//
// runc 1.1.5, 1.1.4 and 1.0.0-rc94 fail the race (it creates outside/b/c
// on the host within the 15 tries; 1.1.11 did not lose it in one run).
func TestCVE_2024_45310_MkdirOnHost(t *testing.T) {
	t.Parallel()
	t.Run("static", func(t *testing.T) {
		t.Parallel()
		host := shortTempDir(t)
		os.Mkdir(filepath.Join(host, "outside"), 0o755)
		root := cveRootfs(t)
		mustSymlink(t, filepath.Join(host, "outside", "newdir"), filepath.Join(root, "mnt", "x"))
		c := newCtr(t, withRoot(root),
			withMount(specs.Mount{Destination: "/mnt/x/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}),
			withSh("grep -c ' "+filepath.Join(host, "outside", "newdir", "sub")+" ' /proc/self/mountinfo; echo marker-end"))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, []string{"outside"}, "mkdir of a mount destination")
		if !refused && !strings.HasPrefix(res.Stdout, "1\n") {
			t.Errorf("the tmpfs is not at the symlink's target inside the rootfs: %s", res)
		}
	})
	t.Run("race", func(t *testing.T) {
		skipIfVulnerableRunc(t, "CVE-2024-45310")
		t.Parallel()
		host := shortTempDir(t)
		os.Mkdir(filepath.Join(host, "outside"), 0o755)
		src := shortTempDir(t)
		swapRace(t, filepath.Join(host, "outside"), "/vol/a/b/c", src)
		checkTree(t, host, []string{"outside"}, "racing mkdir of a mount destination")
	})
}

// CVE-2025-31133: runc masks files by bind-mounting the container's
// /dev/null over them; with /dev/null replaced by a symlink to another
// procfs file it bind-mounted THAT (read-write, e.g. core_pattern) instead,
// and with /dev/null gone it silently skipped the mask. Attack 1: an image
// whose /dev/null is a symlink to /proc/sys/kernel/core_pattern (only
// read, never written). Attack 2: /dev bind-mounted from a host directory
// whose "null" is a symlink to /proc/sys/kernel/hostname (the container's
// own UTS namespace), then the container writes to the masked /proc/keys.
// Attack 3: the same /dev without any null. Defence: /dev is a fresh
// tmpfs the image cannot reach; the /dev/null used for masking is opened
// O_NOFOLLOW and verified to be char 1:3, and a missing one is an error,
// never a skipped mask: create fails, or /proc/keys is the null device.
//
// runc 1.1.5 is vulnerable: attack 2 reads /proc/keys as the hostname file.
// (Attack 3 fails on runc 1.1.5 for another reason: it stats /dev/null
// for the stdio permissions first; its maskPath ignores ENOENT.)
func TestCVE_2025_31133_MaskWithFakeDevNull(t *testing.T) {
	t.Parallel()
	masked := "stat -c 'keys=%F %t:%T' /proc/keys; echo size=$(cat /proc/keys | wc -c); echo pwned > /proc/keys; echo hostname=$(hostname); echo marker-end"
	check := func(t *testing.T, res result, refused bool) {
		t.Helper()
		if refused {
			return
		}
		if !strings.Contains(res.Stdout, "keys=character special file 1:3") || !strings.Contains(res.Stdout, "size=0") {
			t.Errorf("/proc/keys is not masked by the null device: %s", res)
		}
		if !strings.Contains(res.Stdout, "hostname=lxcrun-it") {
			t.Errorf("writing the masked /proc/keys reached another procfs file: %s", res)
		}
	}
	t.Run("image_dev_null_symlink", func(t *testing.T) {
		t.Parallel()
		root := cveRootfs(t)
		mustSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(root, "dev", "null"))
		c := newCtr(t, withRoot(root), withSh("stat -c 'null=%F %t:%T' /dev/null; "+masked))
		res, refused := runOrRefused(t, c, "marker-end")
		check(t, res, refused)
		if !refused && !strings.Contains(res.Stdout, "null=character special file 1:3") {
			t.Errorf("/dev/null in the container is the image's: %s", res)
		}
	})
	bindDev := func(dev string) specOpt {
		return func(s *specs.Spec) {
			var ms []specs.Mount
			for _, m := range s.Mounts {
				if m.Destination == "/dev" {
					m = specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}}
				}
				ms = append(ms, m)
			}
			s.Mounts = ms
		}
	}
	t.Run("dev_null_symlink_to_procfs", func(t *testing.T) {
		skipIfVulnerableRunc(t, "CVE-2025-31133")
		t.Parallel()
		dev := shortTempDir(t)
		mustSymlink(t, "/proc/sys/kernel/hostname", filepath.Join(dev, "null"))
		c := newCtr(t, bindDev(dev), withSh(masked))
		res, refused := runOrRefused(t, c, "marker-end")
		check(t, res, refused)
	})
	t.Run("dev_null_missing", func(t *testing.T) {
		t.Parallel()
		dev := shortTempDir(t)
		c := newCtr(t, bindDev(dev), withSh(masked))
		res, refused := runOrRefused(t, c, "marker-end")
		check(t, res, refused)
	})
}

// CVE-2025-52565: runc bind-mounted the console peer by its PATH
// /dev/pts/N; with that path an attacker's symlink, it bind-mounted the
// symlink target (a procfs file such as core_pattern, read-write) over
// /dev/console before readonlyPaths and maskedPaths applied; /dev/console
// itself could be a symlink too. Attack 1: a config with a second devpts
// on /dev/pts2 and a host directory bound over /dev/pts whose ptmx is a
// symlink to ../pts2/ptmx and whose 0..3 are symlinks to ../pts2/ptmx as
// well: the pty is allocated in pts2 as number 0, and the path /dev/pts/0
// names a different inode (the ptmx node: a new master). The process
// prints what its /dev/console is and writes to it. Attack 2: /dev bound from a host directory
// whose console is an absolute symlink to a (missing) host path. Defence:
// the peer comes from the master with TIOCGPTPEER (never a path), and
// /dev/console is created with O_NOFOLLOW in the container's /dev and the
// verified peer bind-mounted on that fd: /dev/console is a pty, the
// hostname is unchanged, nothing is created on the host.
//
// runc 1.1.5 is vulnerable: attack 1 gets /dev/pts/0 -> ptmx bound over
// /dev/console and as the process's stdio, so nothing reaches the master
// it sent. (Attack 2 fails on runc 1.1.5 after pivot_root with ENOENT.)
func TestCVE_2025_52565_ConsoleBindTarget(t *testing.T) {
	t.Parallel()
	script := "stat -c 'console=%F %t' /dev/console; echo pwned > /dev/console; echo hostname=$(hostname); echo marker-end"
	t.Run("pts_peer_symlink", func(t *testing.T) {
		skipIfVulnerableRunc(t, "CVE-2025-52565")
		t.Parallel()
		pts := shortTempDir(t)
		mustSymlink(t, "../pts2/ptmx", filepath.Join(pts, "ptmx"))
		// /dev/pts/N names another pty master: a runtime that takes
		// the peer by path gets a pty nobody reads (and binds that node
		// over /dev/console), not the peer of the master it sent.
		for n := 0; n < 4; n++ {
			mustSymlink(t, "../pts2/ptmx", filepath.Join(pts, fmt.Sprint(n)))
		}
		recv := newConsoleReceiver(t)
		c := newCtr(t, withTerminal, withSh(script),
			withMount(specs.Mount{Destination: "/dev/pts2", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}),
			withBind(pts, "/dev/pts"))
		res := c.create("--console-socket", recv.path)
		if res.Code != 0 {
			t.Logf("the runtime refused the container (acceptable defence): %s", res)
			return
		}
		master := recv.wait(t)
		c.start().mustSucceed(t)
		out := readUntil(master, "marker-end")
		if !strings.Contains(out, "console=character special file 88") {
			t.Errorf("/dev/console is not the peer of the pty master sent to the console socket (/dev/pts/N was followed): %q", out)
		}
		if !strings.Contains(out, "hostname=lxcrun-it") {
			t.Errorf("the console write changed the hostname: %q", out)
		}
	})
	t.Run("dev_console_symlink", func(t *testing.T) {
		t.Parallel()
		host := shortTempDir(t)
		dev := shortTempDir(t)
		os.Mkdir(filepath.Join(dev, "pts"), 0o755)
		mustSymlink(t, "pts/ptmx", filepath.Join(dev, "ptmx"))
		mustSymlink(t, filepath.Join(host, "console-victim"), filepath.Join(dev, "console"))
		recv := newConsoleReceiver(t)
		c := newCtr(t, withTerminal, withSh(script), func(s *specs.Spec) {
			for i, m := range s.Mounts {
				if m.Destination == "/dev" {
					s.Mounts[i] = specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}}
				}
			}
			// masking needs a /dev/null, which this /dev lacks
			s.Linux.MaskedPaths = nil
		})
		res := c.create("--console-socket", recv.path)
		if res.Code == 0 {
			master := recv.wait(t)
			c.start().mustSucceed(t)
			out := readUntil(master, "marker-end")
			if !strings.Contains(out, "console=character special file 88") {
				t.Errorf("/dev/console is not the container's pty: %q", out)
			}
		} else {
			t.Logf("the runtime refused the container (acceptable defence): %s", res)
		}
		checkTree(t, host, nil, "/dev/console symlink")
	})
}

// CVE-2025-52881: runc's writes to /proc (LSM labels, sysctls) could be
// redirected by mounts to ANOTHER procfs file, which passes a "is it
// procfs" check (the real attack aims at /proc/sys/kernel/core_pattern or
// /proc/sysrq-trigger). Attack: a config that bind-mounts the container's
// own /proc/sys/kernel/hostname (as a source below the rootfs's /proc,
// which is the new procfs once the proc mount is made; a placeholder file
// of that name sits in the image for runtimes that check sources on the
// host) over /proc/sys/net/ipv4/ip_forward, and sets the sysctl
// net.ipv4.ip_forward=1. Defence: sysctls are written through the
// runtime's private procfs handle (fsopen("proc")), never through the
// container's /proc: the hostname stays, the real ip_forward is 1; or the
// config is refused.
//
// runc 1.1.5 refuses this config (its checkProcMount allows no bind below
// /proc but a few lxcfs files), so it passes; the published attack races
// shared mounts instead, which a test cannot win reliably.
func TestCVE_2025_52881_ProcWriteRedirect(t *testing.T) {
	t.Parallel()
	root := cveRootfs(t)
	placeholder := filepath.Join(root, "proc/sys/kernel/hostname")
	mustWrite(t, placeholder, "placeholder\n")
	c := newCtr(t, withRoot(root), withSysctl("net.ipv4.ip_forward", "1"),
		withBind(filepath.Join(root, "proc/sys/kernel/hostname"), "/proc/sys/net/ipv4/ip_forward"),
		withSh("echo hostname=$(hostname); "+procCheck))
	res, refused := runOrRefused(t, c, "marker-end")
	if b, _ := os.ReadFile(placeholder); string(b) != "placeholder\n" {
		t.Errorf("the sysctl was written into a host file: %q", b)
	}
	if !refused {
		if !strings.Contains(res.Stdout, "hostname=lxcrun-it") {
			t.Errorf("the sysctl write was redirected to /proc/sys/kernel/hostname: %s", res)
		}
		if !strings.Contains(res.Stdout, "forwarding=1") {
			t.Errorf("sysctl net.ipv4.ip_forward=1 did not reach the real procfs: %s", res)
		}
	}
}

// CVE-2026-41579 (runc) and CVE-2026-47766 (crun, the same bug): with an
// image whose /dev is a symlink, the /dev setup done by path before
// pivot_root (runc's setupPtmx and setupDevSymlinks) removed a file named
// ptmx and created the fd/stdin/stdout/stderr/core symlinks in an arbitrary
// HOST directory. Attack: image /dev -> HOST/victimdev (absolute), a host
// temporary directory holding a file "ptmx". Defence: every /dev operation
// is on fds resolved inside the rootfs (the tmpfs mounted at the resolved
// target): the host directory is unchanged.
//
// runc 1.1.5 is vulnerable (it removes the host ptmx and creates fd,
// stdin, stdout, stderr there).
func TestCVE_2026_41579_CVE_2026_47766_DevSymlink(t *testing.T) {
	skipIfVulnerableRunc(t, "CVE-2026-41579")
	t.Parallel()
	host := shortTempDir(t)
	victim := filepath.Join(host, "victimdev")
	mustWrite(t, filepath.Join(victim, "ptmx"), "host file named ptmx\n")
	root := cveRootfs(t)
	os.RemoveAll(filepath.Join(root, "dev"))
	mustSymlink(t, victim, filepath.Join(root, "dev"))
	c := newCtr(t, withRoot(root), withSh("stat -L -c 'null=%t:%T' /dev/null; echo marker-end"))
	res, refused := runOrRefused(t, c, "marker-end")
	if b, err := os.ReadFile(filepath.Join(victim, "ptmx")); err != nil || string(b) != "host file named ptmx\n" {
		t.Errorf("the host file %s/ptmx was removed or replaced (%v)", victim, err)
	}
	checkTree(t, host, []string{"victimdev", "victimdev/ptmx"}, "/dev symlink")
	if !refused && !strings.Contains(res.Stdout, "null=1:3") {
		t.Errorf("the container has no /dev/null: %s", res)
	}
}

// ---------------------------------------------------------------------------
// crun

// CVE-2019-18837: crun created a bind-mount target by following a symlink
// in its last component, so an image with /etc/resolv.conf -> /opt/x made
// it create /opt/x on the host; and "../" in a destination must not climb
// out either. Attack 1: image /etc/resolv.conf -> HOST/resolv.conf (dangling,
// absolute) and a file bind on /etc/resolv.conf. Attack 2: a tmpfs on
// "/../../../../HOST/dotdot". Defence: destinations are resolved and created
// inside the rootfs (RESOLVE_IN_ROOT, O_NOFOLLOW for the last component);
// nothing is created on the host, or the config is refused.
func TestCVE_2019_18837_MountTargetOutsideRootfs(t *testing.T) {
	t.Parallel()
	t.Run("symlinked_file_target", func(t *testing.T) {
		t.Parallel()
		host := shortTempDir(t)
		root := cveRootfs(t)
		mustSymlink(t, filepath.Join(host, "resolv.conf"), filepath.Join(root, "etc", "resolv.conf"))
		src := filepath.Join(shortTempDir(t), "resolv.conf")
		mustWrite(t, src, "nameserver 192.0.2.1\n")
		c := newCtr(t, withRoot(root), withBind(src, "/etc/resolv.conf", "ro"), withSh("cat /etc/resolv.conf; echo marker-end"))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, nil, "file bind on a symlinked target")
		if !refused && !strings.Contains(res.Stdout, "192.0.2.1") {
			t.Errorf("the file bind is not visible at /etc/resolv.conf: %s", res)
		}
	})
	t.Run("dotdot_destination", func(t *testing.T) {
		t.Parallel()
		host := shortTempDir(t)
		dest := "/../../../../../../.." + filepath.Join(host, "dotdot")
		c := newCtr(t, withMount(specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}),
			withWritableRoot(t, nil), withSh("grep -c ' "+filepath.Join(host, "dotdot")+" ' /proc/self/mountinfo; echo marker-end"))
		res, refused := runOrRefused(t, c, "marker-end")
		checkTree(t, host, nil, "destination with ../")
		if !refused && !strings.HasPrefix(res.Stdout, "1\n") {
			t.Errorf("the tmpfs is not inside the rootfs: %s", res)
		}
	})
}

// CVE-2025-24965: crun's krun handler wrote its config to a fixed path
// in the rootfs (/.krun_config.json) through a symlink the image put
// there, creating or modifying host files. lxcrun has no krun handler;
// this tests the same class for what lxcrun itself writes into the image
// before pivot_root: the targets of file bind mounts. Attack: image
// /etc/hosts -> an EXISTING host file (absolute), /.krun_config.json ->
// a missing host file, a file bind on /etc/hosts. Defence: targets are
// created with O_CREAT|O_NOFOLLOW (never O_TRUNC) in parents resolved
// inside the rootfs; the host file keeps its content and mtime, nothing is
// created next to it.
func TestCVE_2025_24965_FileWrittenThroughImageSymlink(t *testing.T) {
	t.Parallel()
	host := shortTempDir(t)
	hostFile := filepath.Join(host, "hosts")
	mustWrite(t, hostFile, "127.0.0.1 host-only\n")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(hostFile, old, old)
	root := cveRootfs(t)
	mustSymlink(t, hostFile, filepath.Join(root, "etc", "hosts"))
	mustSymlink(t, filepath.Join(host, "krun_config.json"), filepath.Join(root, ".krun_config.json"))
	src := filepath.Join(shortTempDir(t), "hosts")
	mustWrite(t, src, "192.0.2.2 from-config\n")
	c := newCtr(t, withRoot(root), withBind(src, "/etc/hosts", "ro"), withSh("cat /etc/hosts; echo marker-end"))
	res, refused := runOrRefused(t, c, "marker-end")
	if fi, err := os.Stat(hostFile); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("the host file behind the image's symlink was touched: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(hostFile); string(b) != "127.0.0.1 host-only\n" {
		t.Errorf("the host file behind the image's symlink now holds %q", b)
	}
	checkTree(t, host, []string{"hosts"}, "image symlinks to host files")
	if !refused && !strings.Contains(res.Stdout, "from-config") {
		t.Errorf("the file bind is not visible at /etc/hosts: %s", res)
	}
}

// CVE-2026-30892: crun 1.19-1.26 parsed `exec --user 1` as uid 0 and gid
// 0, so the process ran as root. Attack: `exec --user 1`, `--user 1:2`.
// Defence: --user is uid[:gid] with numbers taken as they are; without a
// gid the container's (0 here).
func TestCVE_2026_30892_ExecUserOne(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	c.create().mustSucceed(t)
	c.start().mustSucceed(t)
	for user, want := range map[string]string{"1": "1 0", "1:2": "1 2", "2:1": "2 1"} {
		out := strings.TrimSpace(c.rt("exec", "--user", user, c.id, "sh", "-c", "echo $(id -u) $(id -g)").mustSucceed(t).Stdout)
		if out != want {
			t.Errorf("exec --user %s runs as uid gid %q, want %q", user, out, want)
		}
	}
}
