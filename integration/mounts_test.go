package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMaskedPaths: a masked file reads as /dev/null, a masked directory is
// empty; unmasked, they are what they are.
func TestMaskedPaths(t *testing.T) {
	t.Parallel()
	t.Run("file_is_dev_null", func(t *testing.T) {
		t.Parallel()
		// /proc/keys is in the default maskedPaths (/proc/kcore does not
		// exist on this kernel)
		out := runInCtr(t, "stat -c '%F %t:%T' /proc/keys; wc -c < /proc/keys")
		checkLinesInOrder(t, out, []string{"character special file 1:3", "0"})
	})
	t.Run("file_unmasked", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "stat -c '%F' /proc/keys", func(s *specs.Spec) { s.Linux.MaskedPaths = nil })
		if !strings.HasPrefix(out, "regular") {
			t.Errorf("unmasked /proc/keys is a %q, want a regular file", out)
		}
	})
	t.Run("default_directory_is_empty", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "ls -A /sys/firmware; echo end")
		if got := lines(out); !slices.Equal(got, []string{"end"}) {
			t.Errorf("masked /sys/firmware lists %q, want nothing", got)
		}
	})
	t.Run("directory_is_empty", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "ls -A /testdata/masked; echo end", func(s *specs.Spec) {
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/testdata/masked")
		})
		if got := lines(out); !slices.Equal(got, []string{"end"}) {
			t.Errorf("masked directory lists %q, want nothing", got)
		}
	})
	t.Run("directory_unmasked", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "ls -A /testdata/masked")
		checkLinesInOrder(t, out, []string{"secret"})
	})
	t.Run("nonexistent_path_ignored", func(t *testing.T) {
		t.Parallel()
		runInCtr(t, "true", func(s *specs.Spec) {
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/no/such/path")
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/no/such/path/either")
		})
	})
}

// TestReadonlyPaths: readonlyPaths are remounted read-only.
func TestReadonlyPaths(t *testing.T) {
	t.Parallel()
	rwTmpfs := withMount(specs.Mount{Destination: "/mnt/rw", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m"}})
	t.Run("proc_sys", func(t *testing.T) {
		t.Parallel()
		// /proc/sys is in the default readonlyPaths. EROFS, not EPERM, shows
		// the mount is read-only.
		c := newCtr(t, withSh("echo newname > /proc/sys/kernel/hostname"))
		res := c.run()
		if res.Code == 0 || !containsFold(res.Stderr, "read-only file system") {
			t.Errorf("writing /proc/sys: want a read-only file system error: %s", res)
		}
	})
	t.Run("tmpfs_readonly", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, rwTmpfs, withSh("touch /mnt/rw/x"), func(s *specs.Spec) {
			s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/mnt/rw")
		})
		res := c.run()
		if res.Code == 0 || !containsFold(res.Stderr, "read-only file system") {
			t.Errorf("writing a readonlyPath: want a read-only file system error: %s", res)
		}
	})
	t.Run("tmpfs_writable", func(t *testing.T) {
		t.Parallel()
		runInCtr(t, "touch /mnt/rw/x", rwTmpfs)
	})
}

// TestBindMounts: bind mounts of host directories, read-write and read-only.
func TestBindMounts(t *testing.T) {
	t.Parallel()
	t.Run("rw", func(t *testing.T) {
		t.Parallel()
		dir := shortTempDir(t)
		os.WriteFile(filepath.Join(dir, "in"), []byte("from-host\n"), 0o644)
		out := runInCtr(t, "cat /mnt/data/in; echo from-ctr > /mnt/data/out", withBind(dir, "/mnt/data"))
		checkLinesInOrder(t, out, []string{"from-host"})
		if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "from-ctr\n" {
			t.Errorf("write through a rw bind mount: host file holds %q", b)
		}
	})
	t.Run("ro", func(t *testing.T) {
		t.Parallel()
		dir := shortTempDir(t)
		os.WriteFile(filepath.Join(dir, "in"), []byte("from-host\n"), 0o644)
		c := newCtr(t, withBind(dir, "/mnt/data", "ro"), withSh("cat /mnt/data/in; touch /mnt/data/out"))
		res := c.run()
		if !strings.Contains(res.Stdout, "from-host") {
			t.Errorf("cannot read a ro bind mount: %s", res)
		}
		if res.Code == 0 || !containsFold(res.Stderr, "read-only file system") {
			t.Errorf("write to a ro bind mount: want a read-only file system error: %s", res)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Errorf("the write reached the host")
		}
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		dir := shortTempDir(t)
		f := filepath.Join(dir, "hostfile")
		os.WriteFile(f, []byte("single file\n"), 0o644)
		out := runInCtr(t, "cat /etc/passwd", withBind(f, "/etc/passwd", "ro"))
		checkLinesInOrder(t, out, []string{"single file"})
	})
	t.Run("relative_destination", func(t *testing.T) {
		t.Parallel()
		// spec: a relative destination MUST be interpreted relative to "/"
		out := runInCtr(t, "grep ' /mnt/rw ' /proc/self/mountinfo",
			withMount(specs.Mount{Destination: "mnt/rw", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}))
		if !strings.Contains(out, "tmpfs") {
			t.Errorf("tmpfs with destination \"mnt/rw\" is not mounted on /mnt/rw: %q", out)
		}
	})
	t.Run("relative_bind_source", func(t *testing.T) {
		t.Parallel()
		// spec: a relative bind source is relative to the bundle
		c := newCtr(t, withBind("hostdir", "/mnt/data", "ro"), withSh("cat /mnt/data/in"))
		os.Mkdir(filepath.Join(c.bundle, "hostdir"), 0o755)
		os.WriteFile(filepath.Join(c.bundle, "hostdir", "in"), []byte("from-bundle\n"), 0o644)
		if res := c.run(); res.Code != 0 || !strings.Contains(res.Stdout, "from-bundle") {
			t.Errorf("relative bind source not taken from the bundle: %s", res)
		}
	})
	t.Run("tmpfs_options", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "grep ' /mnt/rw ' /proc/self/mountinfo",
			withMount(specs.Mount{Destination: "/mnt/rw", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "nodev", "size=1m", "mode=700"}}))
		for _, opt := range []string{"nosuid", "noexec", "nodev", "tmpfs", "mode=700"} {
			if !strings.Contains(out, opt) {
				t.Errorf("mountinfo of /mnt/rw lacks %q: %s", opt, out)
			}
		}
	})
}

// TestDevices: the default /dev, and linux.devices with the device cgroup.
func TestDevices(t *testing.T) {
	t.Parallel()
	t.Run("default_nodes", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done")
		checkLinesInOrder(t, out, []string{
			"/dev/null character special file 1:3",
			"/dev/zero character special file 1:5",
			"/dev/full character special file 1:7",
			"/dev/random character special file 1:8",
			"/dev/urandom character special file 1:9",
			"/dev/tty character special file 5:0",
		})
	})
	t.Run("default_nodes_usable", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c")
		checkLinesInOrder(t, out, []string{"4", "4"})
	})
	t.Run("default_symlinks", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "for l in fd stdin stdout stderr; do echo $l $(readlink /dev/$l); done")
		checkLinesInOrder(t, out, []string{
			"fd /proc/self/fd",
			"stdin /proc/self/fd/0",
			"stdout /proc/self/fd/1",
			"stderr /proc/self/fd/2",
		})
	})
	t.Run("ptmx", func(t *testing.T) {
		t.Parallel()
		// spec: "a bind mount or symlink of the container's /dev/pts/ptmx";
		// runc makes a symlink. Either way it must open the container's
		// devpts instance: a new pty shows up in /dev/pts.
		out := runInCtr(t, "readlink /dev/ptmx || stat -c '%t:%T' /dev/ptmx; exec 3<>/dev/ptmx && ls /dev/pts")
		l := lines(out)
		if len(l) == 0 || (l[0] != "pts/ptmx" && l[0] != "/dev/pts/ptmx" && l[0] != "5:2") {
			t.Errorf("/dev/ptmx is %q, want a symlink to pts/ptmx or the ptmx device", out)
		}
		checkLinesInOrder(t, out, []string{"0", "ptmx"})
	})
	t.Run("default_dirs", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "for d in pts shm mqueue; do stat -c '%n %F' /dev/$d; done; stat -c '%n %F' /dev/pts/ptmx")
		checkLinesInOrder(t, out, []string{"/dev/pts directory", "/dev/shm directory", "/dev/mqueue directory", "/dev/pts/ptmx character special file"})
	})
	mode := os.FileMode(0o620)
	uid, gid := uint32(1234), uint32(65534)
	mydev := specs.LinuxDevice{Path: "/dev/mydev", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid}
	fuse := specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}
	mode666 := os.FileMode(0o666)
	mynull := specs.LinuxDevice{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode666}
	t.Run("linux_devices_mode_owner", func(t *testing.T) {
		t.Parallel()
		out := runInCtr(t, "stat -c '%n %F %t:%T %a %u %g' /dev/mydev; stat -c '%n %F %t:%T' /dev/fuse", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{mydev, fuse}
		})
		// stat prints major:minor in hex: 10:229 is a:e5
		checkLinesInOrder(t, out, []string{"/dev/mydev character special file 1:3 620 1234 65534", "/dev/fuse character special file a:e5"})
	})
	t.Run("linux_devices_mode_enforced", func(t *testing.T) {
		t.Parallel()
		// mode 0620, owner 1234: root without CAP_DAC_OVERRIDE may not write
		c := newCtr(t, withSh("echo x > /dev/mydev"), func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{mydev}
		})
		if res := c.run(); res.Code == 0 || !containsFold(res.Stderr, "permission denied") {
			t.Errorf("writing a 0620 device owned by another uid: want EACCES: %s", res)
		}
	})
	t.Run("linux_device_usable", func(t *testing.T) {
		t.Parallel()
		// 1:3 is /dev/null's number, which runtimes allow by default
		runInCtr(t, "echo x > /dev/mynull", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{mynull}
		})
	})
	t.Run("device_cgroup_denies", func(t *testing.T) {
		t.Parallel()
		// 10:229 (fuse) exists in /dev, but the device cgroup does not
		// allow it unless asked for
		c := newCtr(t, withSh("exec 3</dev/fuse && echo opened"), func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{fuse}
		})
		res := c.run()
		if res.Code == 0 || !containsFold(res.Stderr, "operation not permitted") {
			t.Errorf("opening a device the cgroup denies: want EPERM: %s", res)
		}
	})
	t.Run("device_cgroup_rule_allows", func(t *testing.T) {
		t.Parallel()
		major, minor := int64(10), int64(229)
		out := runInCtr(t, "exec 3</dev/fuse && echo opened", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{fuse}
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"})
		})
		checkLinesInOrder(t, out, []string{"opened"})
	})
}
