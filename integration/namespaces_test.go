package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// userns maps container ids 0..65535 to host ids 100000.. .
func userns(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.UIDMappings = m
	s.Linux.GIDMappings = m
}

// TestUserNamespace: a container in a new user namespace sees the mapping
// and is root inside; outside it is the mapped host uid. The shared rootfs
// (owned by host root, world-readable) is used read-only.
func TestUserNamespace(t *testing.T) {
	t.Parallel()
	c := newCtr(t, userns, withSh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; exec sleep 1000"))
	res := c.run("--detach").mustSucceed(t)
	st := c.mustState()
	var out string
	waitFor(func() bool { out = res.laterStdout(t); return len(lines(out)) >= 4 })
	var fields [][]string
	for _, l := range lines(out) {
		fields = append(fields, strings.Fields(l))
	}
	want := [][]string{{"0", "100000", "65536"}, {"0", "100000", "65536"}, {"0"}, {"0"}}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Errorf("inside the container: %q, want uid_map and gid_map \"0 100000 65536\", then id 0 and 0", out)
	}
	// seen from the host, the process runs as host uid 100000
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if uid := strings.Fields(statusField(string(status), "Uid")); len(uid) == 0 || uid[0] != "100000" {
		t.Errorf("host view of the container's uid: %v, want 100000", uid)
	}
	hostNS := inode(t, "/proc/self/ns/user")
	if ctrNS := inode(t, fmt.Sprintf("/proc/%d/ns/user", st.Pid)); ctrNS == hostNS {
		t.Errorf("container shares the host's user namespace")
	}
}

// TestUserNamespaceWritableRoot: with a rootfs copy owned by the mapped
// root (host uid 100000), the container's root owns its files.
func TestUserNamespaceWritableRoot(t *testing.T) {
	t.Parallel()
	root := copyRootfsLinked(t, false)
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 100000, 100000)
	})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(root), 0o755)
	out := runInCtr(t, "echo written > /x && stat -c '%u %g' /x", userns, func(s *specs.Spec) {
		s.Root = &specs.Root{Path: root}
	})
	checkLinesInOrder(t, out, []string{"0 0"})
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "x"), &st); err != nil {
		t.Fatalf("the file written in the container is not in the rootfs: %v", err)
	}
	if st.Uid != 100000 || st.Gid != 100000 {
		t.Errorf("file created by the container's root is owned by %d:%d on the host, want 100000:100000", st.Uid, st.Gid)
	}
}

// TestJoinNamespaces: namespaces given by path are joined, not created.
func TestJoinNamespaces(t *testing.T) {
	t.Parallel()
	t.Run("uts_by_proc_path", func(t *testing.T) {
		t.Parallel()
		holder := startHolder(t, syscall.CLONE_NEWUTS)
		nsPath := fmt.Sprintf("/proc/%d/ns/uts", holder.Process.Pid)
		want := fmt.Sprintf("uts:[%d]", inode(t, nsPath))
		out := runInCtr(t, "readlink /proc/self/ns/uts", withNamespacePath(specs.UTSNamespace, nsPath), func(s *specs.Spec) {
			s.Hostname = "" // do not rename the holder's namespace
		})
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("container's uts namespace %q, want the holder's %q", got, want)
		}
	})
	t.Run("net_by_bind_mounted_file", func(t *testing.T) {
		t.Parallel()
		// like `ip netns add`: an nsfs bind mount on a file, the way CRI
		// and podman hand network namespaces to the runtime
		holder := startHolder(t, syscall.CLONE_NEWNET)
		nsFile := filepath.Join(shortTempDir(t), "netns")
		if err := os.WriteFile(nsFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid), nsFile, "", unix.MS_BIND, ""); err != nil {
			t.Fatalf("bind-mounting the netns: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(nsFile, unix.MNT_DETACH) })
		want := fmt.Sprintf("net:[%d]", inode(t, nsFile))
		if want == fmt.Sprintf("net:[%d]", inode(t, "/proc/self/ns/net")) {
			t.Fatal("holder did not get a new network namespace")
		}
		out := runInCtr(t, "readlink /proc/self/ns/net", withNamespacePath(specs.NetworkNamespace, nsFile))
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("container's network namespace %q, want the bind-mounted %q", got, want)
		}
	})
	t.Run("new_namespaces_differ_from_host", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done")
		for _, n := range []string{"pid", "net", "ipc", "uts", "mnt"} {
			host := fmt.Sprintf("%s:[%d]", n, inode(t, "/proc/self/ns/"+n))
			if strings.Contains(out, host) {
				t.Errorf("container shares the host's %s namespace: %q", n, out)
			}
		}
	})
	t.Run("omitted_namespace_is_shared", func(t *testing.T) {
		t.Parallel()
		host := fmt.Sprintf("ipc:[%d]", inode(t, "/proc/self/ns/ipc"))
		out := runInCtr(t, "readlink /proc/self/ns/ipc", withoutNamespace(specs.IPCNamespace))
		if got := strings.TrimSpace(out); got != host {
			t.Errorf("container without an ipc namespace entry is in %q, want the host's %q", got, host)
		}
	})
}
