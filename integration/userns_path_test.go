package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestJoinUserNamespaceByPath: a user namespace given by path is joined,
// and the container's new namespaces (pid, mount, ...) are created inside
// it, so they belong to it: the process is pid 1 of a new pid namespace,
// root of the joined user namespace, and exec joins the same namespaces.
func TestJoinUserNamespaceByPath(t *testing.T) {
	if isRunc() {
		t.Skip(`runc 1.1.5 refuses a joined user namespace without mappings ("User namespaces enabled, but no uid mappings found")`)
	}
	t.Parallel()
	holder := exec.Command("unshare", "--user", "--map-root-user", "--fork", "sleep", "300")
	if err := holder.Start(); err != nil {
		t.Skipf("unshare --user: %v", err)
	}
	defer func() { _ = holder.Process.Kill(); _, _ = holder.Process.Wait() }()
	// unshare forks: the namespace holder is its child.
	var nsPath, want string
	ok := waitFor(func() bool {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", holder.Process.Pid, holder.Process.Pid))
		f := strings.Fields(string(children))
		if len(f) == 0 {
			return false
		}
		nsPath = "/proc/" + f[0] + "/ns/user"
		l, err := os.Readlink(nsPath)
		want = l
		return err == nil
	})
	if !ok {
		t.Fatal("user namespace holder never started")
	}
	c := newCtr(t, withSh("readlink /proc/self/ns/user; echo pid=$$; id -u; sleep 1000"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: nsPath})
		// The holder maps uid 0 only: no devpts gid, no sysfs or cgroupfs.
		var mounts []specs.Mount
		for _, m := range s.Mounts {
			switch m.Destination {
			case "/sys", "/sys/fs/cgroup":
				continue
			case "/dev/pts":
				m.Options = []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
			}
			mounts = append(mounts, m)
		}
		s.Mounts = mounts
	})
	out := runDetachedOutput(t, c)
	for _, w := range []string{want, "pid=1", "\n0\n"} {
		if !strings.Contains(out, w) {
			t.Fatalf("container output %q lacks %q", out, w)
		}
	}
	res := c.rt("exec", c.id, "readlink", "/proc/self/ns/user").mustSucceed(t)
	if strings.TrimSpace(res.Stdout) != want {
		t.Fatalf("exec joined user namespace %q, want %q", res.Stdout, want)
	}
}

// runDetachedOutput runs c detached with its stdout in a file and returns what the
// process printed once it printed three lines.
func runDetachedOutput(t *testing.T, c *ctr) string {
	t.Helper()
	outPath := shortTempDir(t) + "/out"
	f, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Files, not pipes: the detached container keeps its stdio open, and
	// exec.Cmd would wait for a pipe's EOF forever.
	errPath := outPath + ".err"
	ef, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	cmd := c.cmd("run", "--detach", "--bundle", c.bundle, c.id)
	cmd.Stdout, cmd.Stderr = f, ef
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(errPath)
		t.Fatalf("run --detach: %v: %s", err, msg)
	}
	var out string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(outPath)
		if out = string(b); strings.Count(out, "\n") >= 3 {
			return "\n" + out
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("container printed %q", out)
	return ""
}
