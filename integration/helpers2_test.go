package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Helpers shared by exec_test.go and cgroups_test.go.

func int64p(v int64) *int64    { return &v }
func uint64p(v uint64) *uint64 { return &v }

// runningCtr creates and starts a container with `run --detach` and returns
// it running (its init pid noted for the cleanup's checks).
func runningCtr(t *testing.T, opts ...specOpt) *ctr {
	t.Helper()
	c := newCtr(t, opts...)
	c.run("--detach").mustSucceed(t)
	if st := c.mustState(); st.Status != specs.StateRunning || !alive(st.Pid) {
		t.Fatalf("after run --detach: %+v, want a live running container", st)
	}
	return c
}

// exec runs `exec args...` (args include the id where the caller wants it).
func (c *ctr) exec(args ...string) result {
	c.t.Helper()
	return c.rt(append([]string{"exec"}, args...)...)
}

// initPid is the container's init pid from `state`.
func (c *ctr) initPid() int {
	c.t.Helper()
	return c.mustState().Pid
}

// writeTempJSON marshals v into a new file and returns its path.
func writeTempJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(shortTempDir(t), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFile writes content into a new file and returns its path.
func writeTempFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(shortTempDir(t), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---------------------------------------------------------------------------
// cgroup v1 files, as seen from the host

// cgroupV1Root is where the v1 hierarchies are mounted.
const cgroupV1Root = "/sys/fs/cgroup"

// haveV1Controller reports whether ctrl is mounted as a v1 hierarchy at
// /sys/fs/cgroup/<ctrl>.
func haveV1Controller(ctrl string) bool {
	_, err := os.Stat(filepath.Join(cgroupV1Root, ctrl, "tasks"))
	return err == nil
}

// requireV1 skips the test unless every controller is a v1 hierarchy (the
// files these tests read are the v1 ones).
func requireV1(t testing.TB, ctrls ...string) {
	t.Helper()
	requireRuntime(t)
	for _, c := range ctrls {
		if !haveV1Controller(c) {
			t.Skipf("needs the cgroup v1 %s hierarchy at %s/%s", c, cgroupV1Root, c)
		}
	}
}

// cgDir is the container's cgroup directory in the v1 hierarchy ctrl.
func cgDir(ctrl, id string) string {
	return filepath.Join(cgroupV1Root, ctrl, cgroupParent, id)
}

// cgRead reads a file of the container's cgroup, trimmed; the test fails
// if it cannot be read.
func cgRead(t testing.TB, ctrl, id, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgDir(ctrl, id), file))
	if err != nil {
		t.Fatalf("reading the container's cgroup file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// cgWant checks one cgroup file of container id against want.
func cgWant(t testing.TB, id, ctrl, file, want string) {
	t.Helper()
	if got := cgRead(t, ctrl, id, file); got != want {
		t.Errorf("%s/%s = %q, want %q", ctrl, file, got, want)
	}
}

// procCgroup returns the v1 path of pid in hierarchy ctrl, from
// /proc/<pid>/cgroup ("" if not found).
func procCgroup(pid int, ctrl string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == ctrl {
				return parts[2]
			}
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// the hugetlb v1 mount (hybrid mode with or without it)

const hugetlbMount = cgroupV1Root + "/hugetlb"

// hugetlbMounted reports whether a v1 hugetlb hierarchy is mounted at
// /sys/fs/cgroup/hugetlb.
func hugetlbMounted() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || f[4] != hugetlbMount {
			continue
		}
		// optional fields end at "-"; then fstype, source, super options
		for i := 6; i < len(f); i++ {
			if f[i] == "-" && i+3 < len(f) && f[i+1] == "cgroup" {
				for _, o := range strings.Split(f[i+3], ",") {
					if o == "hugetlb" {
						return true
					}
				}
			}
		}
	}
	return false
}

// withHugetlbMount makes sure the hugetlb v1 hierarchy is mounted for the
// rest of the test; if the test mounted it, it is unmounted (and the
// directory it made removed) when the test ends, restoring the machine.
// Register it before the test's containers, so that their cleanup (which
// checks that their hugetlb cgroup is gone) runs while it is still mounted.
func withHugetlbMount(t *testing.T) {
	t.Helper()
	if hugetlbMounted() {
		t.Logf("hugetlb v1 hierarchy already mounted at %s", hugetlbMount)
		return
	}
	madeDir := false
	if _, err := os.Stat(hugetlbMount); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(hugetlbMount, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", hugetlbMount, err)
		}
		madeDir = true
	}
	if err := syscall.Mount("cgroup", hugetlbMount, "cgroup", 0, "hugetlb"); err != nil {
		if madeDir {
			os.Remove(hugetlbMount)
		}
		t.Fatalf("mount -t cgroup -o hugetlb cgroup %s: %v", hugetlbMount, err)
	}
	t.Logf("mounted the hugetlb v1 hierarchy at %s (unmounted at the end)", hugetlbMount)
	t.Cleanup(func() {
		// the suite's parent cgroup would otherwise stay, hidden, in the
		// unmounted hierarchy
		syscall.Rmdir(filepath.Join(hugetlbMount, cgroupParent))
		if err := syscall.Unmount(hugetlbMount, 0); err != nil {
			t.Errorf("restoring the machine: umount %s: %v", hugetlbMount, err)
			return
		}
		if madeDir {
			os.Remove(hugetlbMount)
		}
	})
}

// withoutHugetlbMount unmounts the hugetlb v1 hierarchy for the rest of the
// test if it is mounted, and mounts it again when the test ends.
func withoutHugetlbMount(t *testing.T) {
	t.Helper()
	if !hugetlbMounted() {
		t.Logf("hugetlb v1 hierarchy not mounted")
		return
	}
	if err := syscall.Unmount(hugetlbMount, 0); err != nil {
		t.Fatalf("umount %s: %v", hugetlbMount, err)
	}
	t.Logf("unmounted the hugetlb v1 hierarchy at %s (mounted again at the end)", hugetlbMount)
	t.Cleanup(func() {
		if hugetlbMounted() {
			return // someone else mounted it meanwhile
		}
		if err := syscall.Mount("cgroup", hugetlbMount, "cgroup", 0, "hugetlb"); err != nil {
			t.Errorf("restoring the machine: mount -t cgroup -o hugetlb cgroup %s: %v", hugetlbMount, err)
		}
	})
}

// ---------------------------------------------------------------------------
// /proc/<pid>/status capability sets

// capBit returns the mask of capability number n.
func capBit(n uint) uint64 { return 1 << n }

// Capability numbers used by the tests.
const (
	capChown          = 0
	capKill           = 5
	capNetBindService = 10
	capSysAdmin       = 21
	capAuditWrite     = 29
)

// capField parses a Cap* field of status text as a mask.
func capField(t testing.TB, status, field string) uint64 {
	t.Helper()
	v := statusField(status, field)
	n, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		t.Fatalf("%s in status is %q, not a hex mask; status:\n%s", field, v, status)
	}
	return n
}

// ptsRe matches a /dev/pts/N tty name.
var ptsRe = regexp.MustCompile(`/dev/pts/[0-9]+`)

// statePaused is runc's "paused" status (not an OCI state).
const statePaused specs.ContainerState = "paused"
