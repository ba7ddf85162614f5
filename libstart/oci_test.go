package libstart

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const testID = "test-ctr"

// newBundle makes a bundle directory with an empty rootfs/ and returns its
// path with symlinks resolved.
func newBundle(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// baseSpec is `runc spec` output without a terminal: valid as is.
func baseSpec() *specs.Spec {
	s := ExampleSpec()
	s.Process.Terminal = false
	return s
}

func baseOpts(bundle string) SpecOptions {
	return SpecOptions{ID: testID, Bundle: bundle}
}

func uintp(v uint) *uint               { return &v }
func intp(v int) *int                  { return &v }
func u32p(v uint32) *uint32            { return &v }
func modep(v os.FileMode) *os.FileMode { return &v }
func removeNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	s.Linux.Namespaces = out
}

func addUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestFromSpecBase(t *testing.T) {
	bundle := newBundle(t)
	conf, err := FromSpec(baseSpec(), baseOpts(bundle))
	if err != nil {
		t.Fatalf("FromSpec(base): %v", err)
	}
	if conf.ID != testID || conf.Bundle != bundle || conf.OCIVersion != specs.Version {
		t.Errorf("id/bundle/version = %q %q %q", conf.ID, conf.Bundle, conf.OCIVersion)
	}
	if want := filepath.Join(bundle, "rootfs"); conf.Rootfs != want || !filepath.IsAbs(conf.Rootfs) {
		t.Errorf("Rootfs = %q, want %q", conf.Rootfs, want)
	}
	if !conf.RootfsReadonly {
		t.Error("RootfsReadonly = false, want true (root.readonly)")
	}
	if conf.Hostname != "lxcrun" {
		t.Errorf("Hostname = %q", conf.Hostname)
	}
	p := conf.Process
	if p.Cwd != "/" || !reflect.DeepEqual(p.Args, []string{"sh"}) || p.Terminal || !p.NoNewPrivileges {
		t.Errorf("Process = %+v", p)
	}
	if len(p.Env) != 2 || !strings.HasPrefix(p.Env[0], "PATH=") {
		t.Errorf("Env = %q", p.Env)
	}
	if p.Caps == nil {
		t.Fatal("Caps = nil")
	}
	const capKill, capNetBind, capAuditWrite = 5, 10, 29
	wantCaps := uint64(1<<capKill | 1<<capNetBind | 1<<capAuditWrite)
	if p.Caps.Bounding&(1<<capKill) == 0 {
		t.Errorf("CAP_KILL (bit 5) not in Bounding %#x", p.Caps.Bounding)
	}
	if *p.Caps != (Caps{Bounding: wantCaps, Effective: wantCaps, Permitted: wantCaps, Ambient: wantCaps}) {
		t.Errorf("Caps = %+v, want all sets but inheritable = %#x", *p.Caps, wantCaps)
	}
	if want := []Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 1024, Soft: 1024}}; !reflect.DeepEqual(p.Rlimits, want) {
		t.Errorf("Rlimits = %+v, want %+v", p.Rlimits, want)
	}
	wantNS := []Namespace{{Type: NSPid}, {Type: NSNet}, {Type: NSIPC}, {Type: NSUTS}, {Type: NSMount}, {Type: NSCgroup}}
	if !reflect.DeepEqual(conf.Namespaces, wantNS) {
		t.Errorf("Namespaces = %+v, want %+v", conf.Namespaces, wantNS)
	}
	wantMounts := []Mount{
		{Kind: MountFS, Source: "proc", Destination: "/proc", Type: "proc"},
		{Kind: MountFS, Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Kind: MountFS, Source: "devpts", Destination: "/dev/pts", Type: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{Kind: MountFS, Source: "shm", Destination: "/dev/shm", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, Data: "mode=1777,size=65536k"},
		{Kind: MountFS, Source: "mqueue", Destination: "/dev/mqueue", Type: "mqueue", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		{Kind: MountFS, Source: "sysfs", Destination: "/sys", Type: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY},
		{Kind: MountCgroup, Source: "cgroup", Destination: "/sys/fs/cgroup", Type: "cgroup", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RELATIME | unix.MS_RDONLY},
	}
	if !reflect.DeepEqual(conf.Mounts, wantMounts) {
		t.Errorf("Mounts =\n%+v\nwant\n%+v", conf.Mounts, wantMounts)
	}
	if conf.RootfsPropagation != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("RootfsPropagation = %#x, want MS_SLAVE|MS_REC", conf.RootfsPropagation)
	}
	if conf.Cgroup.Path != "/"+testID || conf.Cgroup.Systemd {
		t.Errorf("Cgroup = %+v, want path /%s", conf.Cgroup, testID)
	}
	if conf.Cgroup.Limits == nil || conf.Cgroup.Limits.Resources == nil || len(conf.Cgroup.Limits.Resources.Devices) == 0 {
		t.Errorf("Cgroup.Limits = %+v, want converted linux.resources", conf.Cgroup.Limits)
	}
	if len(conf.MaskedPaths) != 10 || len(conf.ReadonlyPaths) != 5 {
		t.Errorf("masked/readonly = %d/%d", len(conf.MaskedPaths), len(conf.ReadonlyPaths))
	}
	if conf.Seccomp != nil || len(conf.UIDMappings) != 0 || len(conf.Devices) != 0 {
		t.Errorf("unexpected seccomp/mappings/devices in base conf")
	}
}

// TestFromSpecValid covers valid variations of the base spec.
func TestFromSpecValid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *specs.Spec, o *SpecOptions, bundle string)
		check  func(t *testing.T, c *Conf, bundle string)
	}{
		{
			name: "symlinked rootfs is resolved",
			mutate: func(s *specs.Spec, _ *SpecOptions, bundle string) {
				must(os.Symlink("rootfs", filepath.Join(bundle, "link")))
				s.Root.Path = "link"
			},
			check: func(t *testing.T, c *Conf, bundle string) {
				if want := filepath.Join(bundle, "rootfs"); c.Rootfs != want {
					t.Errorf("Rootfs = %q, want %q", c.Rootfs, want)
				}
			},
		},
		{
			name:   "absolute root path",
			mutate: func(s *specs.Spec, _ *SpecOptions, bundle string) { s.Root.Path = filepath.Join(bundle, "rootfs") },
			check: func(t *testing.T, c *Conf, bundle string) {
				if c.Rootfs != filepath.Join(bundle, "rootfs") {
					t.Errorf("Rootfs = %q", c.Rootfs)
				}
			},
		},
		{
			name:   "cwd is cleaned",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Cwd = "/a/b/../c/" },
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Process.Cwd != "/a/c" {
					t.Errorf("Cwd = %q", c.Process.Cwd)
				}
			},
		},
		{
			name: "user, uid, gid, umask",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{5, 6}, Umask: u32p(0o077)}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				p := c.Process
				if p.UID != 1000 || p.GID != 1001 || !reflect.DeepEqual(p.AdditionalGids, []uint32{5, 6}) || p.Umask == nil || *p.Umask != 0o077 {
					t.Errorf("user = %d %d %v %v", p.UID, p.GID, p.AdditionalGids, p.Umask)
				}
			},
		},
		{
			name: "no capabilities object",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Process.Capabilities = nil
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Process.Caps != nil {
					t.Errorf("Caps = %+v, want nil", c.Process.Caps)
				}
			},
		},
		{
			name: "every rlimit name resolves",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Process.Rlimits = nil
				for _, n := range []string{"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
					"RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
					"RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"} {
					s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: n, Hard: 10, Soft: 5})
				}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				want := []int{unix.RLIMIT_AS, unix.RLIMIT_CORE, unix.RLIMIT_CPU, unix.RLIMIT_DATA, unix.RLIMIT_FSIZE, unix.RLIMIT_LOCKS,
					unix.RLIMIT_MEMLOCK, unix.RLIMIT_MSGQUEUE, unix.RLIMIT_NICE, unix.RLIMIT_NOFILE, unix.RLIMIT_NPROC, unix.RLIMIT_RSS,
					unix.RLIMIT_RTPRIO, unix.RLIMIT_RTTIME, unix.RLIMIT_SIGPENDING, unix.RLIMIT_STACK}
				if len(c.Process.Rlimits) != len(want) {
					t.Fatalf("got %d rlimits, want %d", len(c.Process.Rlimits), len(want))
				}
				for i, rl := range c.Process.Rlimits {
					if rl != (Rlimit{Type: want[i], Hard: 10, Soft: 5}) {
						t.Errorf("rlimit %d = %+v, want type %d", i, rl, want[i])
					}
				}
			},
		},
		{
			name:   "oomScoreAdj bounds",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.OOMScoreAdj = intp(-1000) },
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Process.OOMScoreAdj == nil || *c.Process.OOMScoreAdj != -1000 {
					t.Errorf("OOMScoreAdj = %v", c.Process.OOMScoreAdj)
				}
			},
		},
		{
			name: "console size",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Process.ConsoleRows != 24 || c.Process.ConsoleCols != 80 {
					t.Errorf("console = %dx%d", c.Process.ConsoleCols, c.Process.ConsoleRows)
				}
			},
		},
		{
			name: "ipc sysctl with ipc namespace",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1000", "fs.mqueue.msg_max": "10"}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Sysctl["kernel.shmmax"] != "1000" || c.Sysctl["fs.mqueue.msg_max"] != "10" {
					t.Errorf("Sysctl = %v", c.Sysctl)
				}
			},
		},
		{
			name: "net and uts sysctls with their namespaces",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.domainname": "x"}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if len(c.Sysctl) != 2 {
					t.Errorf("Sysctl = %v", c.Sysctl)
				}
			},
		},
		{
			name: "joined net namespace",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.NamespacePath(NSNet) != "/proc/self/ns/net" || !c.HasNamespace(NSNet) {
					t.Errorf("Namespaces = %+v", c.Namespaces)
				}
			},
		},
		{
			name:   "no mount namespace",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { removeNS(s, specs.MountNamespace) },
			check: func(t *testing.T, c *Conf, _ string) {
				if c.HasNamespace(NSMount) || len(c.Namespaces) != 5 {
					t.Errorf("Namespaces = %+v", c.Namespaces)
				}
			},
		},
		{
			name: "joined mount and time namespaces",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Namespaces[4].Path = "/proc/self/ns/mnt"
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/self/ns/time"})
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.NamespacePath(NSMount) != "/proc/self/ns/mnt" || c.NamespacePath(NSTime) != "/proc/self/ns/time" {
					t.Errorf("Namespaces = %+v", c.Namespaces)
				}
			},
		},
		{
			name:   "user namespace with mappings",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { addUserNS(s) },
			check: func(t *testing.T, c *Conf, _ string) {
				want := []IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
				if !reflect.DeepEqual(c.UIDMappings, want) || !reflect.DeepEqual(c.GIDMappings, want) {
					t.Errorf("mappings = %+v %+v", c.UIDMappings, c.GIDMappings)
				}
				if c.Namespaces[len(c.Namespaces)-1] != (Namespace{Type: NSUser}) {
					t.Errorf("Namespaces = %+v", c.Namespaces)
				}
			},
		},
		{
			name: "time namespace with offsets",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
				s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
					"monotonic": {Secs: 10, Nanosecs: 5},
					"boottime":  {Secs: -3},
				}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				got := append([]TimeOffset(nil), c.TimeOffsets...)
				sort.Slice(got, func(i, j int) bool { return got[i].Clock < got[j].Clock })
				want := []TimeOffset{{Clock: "boottime", Secs: -3}, {Clock: "monotonic", Secs: 10, Nsecs: 5}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("TimeOffsets = %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "hooks",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Hooks = &specs.Hooks{
					CreateRuntime: []specs.Hook{{Path: "/bin/a", Args: []string{"a", "x"}, Env: []string{"K=V"}, Timeout: intp(5)}},
					Poststop:      []specs.Hook{{Path: "/bin/b"}, {Path: "/bin/c"}},
				}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				want := Hooks{
					CreateRuntime: []Hook{{Path: "/bin/a", Args: []string{"a", "x"}, Env: []string{"K=V"}, Timeout: 5}},
					Poststop:      []Hook{{Path: "/bin/b"}, {Path: "/bin/c"}},
				}
				if !reflect.DeepEqual(c.Hooks, want) {
					t.Errorf("Hooks = %+v, want %+v", c.Hooks, want)
				}
			},
		},
		{
			name: "devices",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Devices = []specs.LinuxDevice{
					{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
					{Path: "/dev/./sda", Type: "b", Major: 8, Minor: 0, FileMode: modep(0o620 | os.ModeDevice), UID: u32p(1), GID: u32p(2)},
					{Path: "/dev/tty9", Type: "u", Major: 4, Minor: 9},
					{Path: "/dev/fifo", Type: "p"},
				}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				want := []Device{
					{Path: "/dev/fuse", Type: 'c', Major: 10, Minor: 229, Mode: 0o666},
					{Path: "/dev/sda", Type: 'b', Major: 8, Minor: 0, Mode: 0o620, UID: 1, GID: 2},
					{Path: "/dev/tty9", Type: 'c', Major: 4, Minor: 9, Mode: 0o666},
					{Path: "/dev/fifo", Type: 'p', Mode: 0o666},
				}
				if !reflect.DeepEqual(c.Devices, want) {
					t.Errorf("Devices = %+v, want %+v", c.Devices, want)
				}
			},
		},
		{
			name: "relative bind source is joined with the bundle",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Source: "data", Type: "bind", Options: []string{"rbind", "ro"}})
			},
			check: func(t *testing.T, c *Conf, bundle string) {
				m := c.Mounts[len(c.Mounts)-1]
				if m.Kind != MountBind || m.Source != filepath.Join(bundle, "data") || m.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_RDONLY {
					t.Errorf("mount = %+v", m)
				}
			},
		},
		{
			name:   "rootfsPropagation",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.RootfsPropagation = "rprivate" },
			check: func(t *testing.T, c *Conf, _ string) {
				if c.RootfsPropagation != unix.MS_PRIVATE|unix.MS_REC {
					t.Errorf("RootfsPropagation = %#x", c.RootfsPropagation)
				}
			},
		},
		{
			name:   "cgroupsPath is cleaned",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.CgroupsPath = "/a/b/../c/" },
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Cgroup.Path != "/a/c" {
					t.Errorf("Cgroup.Path = %q", c.Cgroup.Path)
				}
			},
		},
		{
			name: "systemd cgroupsPath",
			mutate: func(s *specs.Spec, o *SpecOptions, _ string) {
				o.SystemdCgroup = true
				s.Linux.CgroupsPath = "system.slice:lxcrun:abc"
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Cgroup.Path != "system.slice:lxcrun:abc" || !c.Cgroup.Systemd {
					t.Errorf("Cgroup = %+v", c.Cgroup)
				}
			},
		},
		{
			name: "command-line options and annotations",
			mutate: func(s *specs.Spec, o *SpecOptions, _ string) {
				o.NoPivot, o.NoNewKeyring = true, true
				s.Annotations = map[string]string{"k": "v"}
				s.Domainname = "example.org"
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if !c.NoPivot || !c.NoNewKeyring || c.Annotations["k"] != "v" || c.Domainname != "example.org" {
					t.Errorf("conf = %+v", c)
				}
			},
		},
		{
			name: "seccomp is compiled",
			mutate: func(s *specs.Spec, _ *SpecOptions, _ string) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{
					DefaultAction: specs.ActAllow,
					Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
					Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}},
				}
			},
			check: func(t *testing.T, c *Conf, _ string) {
				if c.Seccomp == nil || len(c.Seccomp.Filter) == 0 || len(c.Seccomp.Filter)%8 != 0 || c.Seccomp.Flags != unix.SECCOMP_FILTER_FLAG_LOG {
					t.Errorf("Seccomp = %+v", c.Seccomp)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := newBundle(t)
			s := baseSpec()
			opts := baseOpts(bundle)
			tt.mutate(s, &opts, bundle)
			conf, err := FromSpec(s, opts)
			if err != nil {
				t.Fatalf("FromSpec: %v", err)
			}
			tt.check(t, conf, bundle)
		})
	}
}

// must panics on a setup error inside table closures that have no *testing.T.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// TestFromSpecErrors checks that each bad config is refused with a
// FieldError naming the field at fault.
func TestFromSpecErrors(t *testing.T) {
	extraMount := func(m specs.Mount) func(s *specs.Spec, _ *SpecOptions, _ string) {
		return func(s *specs.Spec, _ *SpecOptions, _ string) { s.Mounts = append(s.Mounts, m) }
	}
	const nm = "mounts[7]" // index of a mount appended to the base spec
	seccompWith := func(f func(sc *specs.LinuxSeccomp)) func(s *specs.Spec, _ *SpecOptions, _ string) {
		return func(s *specs.Spec, _ *SpecOptions, _ string) {
			sc := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}}
			f(sc)
			s.Linux.Seccomp = sc
		}
	}
	tests := []struct {
		name   string
		mutate func(s *specs.Spec, o *SpecOptions, bundle string)
		field  string // exact FieldError.Field; "" to skip the exact check
		msg    string // substring of the error text
	}{
		{"missing ociVersion", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Version = "" }, "ociVersion", "must be set"},
		{"no process", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process = nil }, "process", "must be set"},
		{"empty args", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Args = nil }, "process.args", "executable"},
		{"empty executable", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Args = []string{""} }, "process.args", "executable"},
		{"relative cwd", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Cwd = "work" }, "process.cwd", "absolute"},
		{"empty cwd", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Cwd = "" }, "process.cwd", "absolute"},
		{"env without =", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Env = append(s.Process.Env, "FOO") }, "process.env", `"FOO"`},
		{"env with empty key", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Env = []string{"=x"} }, "process.env", "KEY=value"},
		{"windows username", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.User.Username = "bob" }, "process.user.username", "Windows"},
		{"console too large", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Process.ConsoleSize = &specs.Box{Height: 70000, Width: 80}
		}, "process.consoleSize", "too large"},
		{"missing root", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Root = nil }, "root.path", "must be set"},
		{"empty root path", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Root.Path = "" }, "root.path", "must be set"},
		{"rootfs not a dir", func(s *specs.Spec, _ *SpecOptions, bundle string) {
			must(os.WriteFile(filepath.Join(bundle, "file"), nil, 0o644))
			s.Root.Path = "file"
		}, "root.path", "not a directory"},
		{"rootfs missing", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Root.Path = "nope" }, "root.path", "no such file"},
		{"rootfs dangling symlink", func(s *specs.Spec, _ *SpecOptions, bundle string) {
			must(os.Symlink("gone", filepath.Join(bundle, "dangling")))
			s.Root.Path = "dangling"
		}, "root.path", "no such file"},
		{"no linux section", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux = nil }, "linux", "must be set"},
		{"unknown namespace type", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}, "linux.namespaces[6].type", `"foo"`},
		{"duplicate namespace", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, "linux.namespaces[6]", "duplicate"},
		{"relative namespace path", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.Namespaces[1].Path = "proc/1/ns/net" }, "linux.namespaces[1].path", "absolute"},
		{"user namespace without mappings", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "linux.uidMappings", "mappings"},
		{"user namespace without gid mappings", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.GIDMappings = nil
		}, "", "gid"},
		{"mappings without user namespace", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings", "no user namespace"},
		{"mappings with joined user namespace", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.Namespaces[len(s.Linux.Namespaces)-1].Path = "/proc/self/ns/user"
		}, "linux.uidMappings", "joining"},
		{"uid mapping size 0", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.UIDMappings[0].Size = 0
		}, "linux.uidMappings[0].size", "greater than zero"},
		{"gid mapping size 0", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{HostID: 5})
		}, "linux.gidMappings[1].size", "greater than zero"},
		{"mapping overflows", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.UIDMappings[0] = specs.LinuxIDMapping{HostID: 0xffffffff, Size: 2}
		}, "linux.uidMappings[0]", "overflow"},
		{"container id range overflows", func(s *specs.Spec, _ *SpecOptions, _ string) {
			addUserNS(s)
			s.Linux.GIDMappings[0] = specs.LinuxIDMapping{ContainerID: 0xfffffff0, HostID: 0, Size: 0x11}
		}, "linux.gidMappings[0]", "overflow"},
		{"unknown capability", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Process.Capabilities.Bounding = []string{"CAP_KILL", "CAP_FOO"}
		}, "process.capabilities.bounding", `"CAP_FOO"`},
		{"lowercase capability", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Process.Capabilities.Ambient = []string{"kill"}
		}, "process.capabilities.ambient", `"kill"`},
		{"unknown inheritable capability", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Process.Capabilities.Inheritable = []string{"CAP_"}
		}, "process.capabilities.inheritable", "unknown capability"},
		{"unknown rlimit", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" }, "process.rlimits[0].type", `"RLIMIT_FOO"`},
		{"duplicate rlimit", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1})
		}, "process.rlimits[1].type", "duplicate"},
		{"rlimit soft > hard", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0]", "exceeds"},
		{"oomScoreAdj 1001", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.OOMScoreAdj = intp(1001) }, "process.oomScoreAdj", "1001"},
		{"oomScoreAdj -1001", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Process.OOMScoreAdj = intp(-1001) }, "process.oomScoreAdj", "-1001"},
		{"mount relative destination that is /", extraMount(specs.Mount{Destination: ".", Type: "tmpfs", Source: "tmpfs"}), nm + ".destination", "over /"},
		{"mount empty destination", extraMount(specs.Mount{Type: "tmpfs", Source: "tmpfs"}), nm, "destination"},
		{"mount over /", extraMount(specs.Mount{Destination: "/a/..", Type: "tmpfs", Source: "tmpfs"}), nm + ".destination", "over /"},
		{"mount without type, not bind", extraMount(specs.Mount{Destination: "/mnt", Source: "x"}), nm, "type must be set"},
		{"bind without source", extraMount(specs.Mount{Destination: "/mnt", Type: "none", Options: []string{"rbind"}}), nm, "source"},
		{"bind type without source", extraMount(specs.Mount{Destination: "/mnt", Type: "bind"}), nm, "source"},
		{"idmap option", extraMount(specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"rbind", "idmap"}}), nm, "idmap"},
		{"ridmap option", extraMount(specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"ridmap"}}), nm, "ridmap"},
		{"tmpcopyup on a bind", extraMount(specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "tmpcopyup"}}), nm, "tmpcopyup"},
		{"hostname without uts", func(s *specs.Spec, _ *SpecOptions, _ string) { removeNS(s, specs.UTSNamespace) }, "hostname", "UTS"},
		{"domainname without uts", func(s *specs.Spec, _ *SpecOptions, _ string) {
			removeNS(s, specs.UTSNamespace)
			s.Hostname, s.Domainname = "", "example.org"
		}, "domainname", "UTS"},
		{"net sysctl without netns", func(s *specs.Spec, _ *SpecOptions, _ string) {
			removeNS(s, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, `linux.sysctl["net.ipv4.ip_forward"]`, "network namespace"},
		{"sysctl not namespaced", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Sysctl = map[string]string{"vm.swappiness": "10"}
		}, `linux.sysctl["vm.swappiness"]`, "not in a separate kernel namespace"},
		{"ipc sysctl without ipc ns", func(s *specs.Spec, _ *SpecOptions, _ string) {
			removeNS(s, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, `linux.sysctl["kernel.shmmax"]`, "ipc namespace"},
		{"uts sysctl without uts ns", func(s *specs.Spec, _ *SpecOptions, _ string) {
			removeNS(s, specs.UTSNamespace)
			s.Hostname = ""
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, `linux.sysctl["kernel.hostname"]`, "UTS"},
		{"sysctl escaping /proc/sys", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Sysctl = map[string]string{"net.ipv4/../../../etc/x": "1"}
		}, `linux.sysctl["net.ipv4/../../../etc/x"]`, "invalid sysctl name"},
		{"sysctl with dot-dot", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Sysctl = map[string]string{"net..x": "1"}
		}, `linux.sysctl["net..x"]`, "invalid sysctl name"},
		{"empty sysctl name", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Sysctl = map[string]string{"": "1"}
		}, `linux.sysctl[""]`, "invalid sysctl name"},
		{"hook relative path", func(s *specs.Spec, _ *SpecOptions, _ string) {
			//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "bin/hook"}}}
		}, "hooks.prestart[0].path", "absolute"},
		{"createRuntime hook relative path", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/ok"}, {Path: "hook"}}}
		}, "hooks.createRuntime[1].path", "absolute"},
		{"hook timeout 0", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: intp(0)}}}
		}, "hooks.poststop[0].timeout", "greater than zero"},
		{"hook timeout negative", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true", Timeout: intp(-1)}}}
		}, "hooks.startContainer[0].timeout", "greater than zero"},
		{"device bad type", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "x"}}
		}, "linux.devices[0]", "type"},
		{"device relative path", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/ok", Type: "c"}, {Path: "dev/x", Type: "c"}}
		}, "linux.devices[1]", "path"},
		{"masked path relative", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.MaskedPaths = []string{"proc/kcore"} }, "linux.maskedPaths[0]", "absolute"},
		{"masked /", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.MaskedPaths = []string{"/proc/kcore", "//"} }, "linux.maskedPaths[1]", "cannot mask /"},
		{"readonly path relative", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.ReadonlyPaths = []string{"/ok", "sys"} }, "linux.readonlyPaths[1]", "absolute"},
		{"unknown rootfsPropagation", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.RootfsPropagation = "bogus" }, "linux.rootfsPropagation", `"bogus"`},
		{"cgroupsPath with ..", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.CgroupsPath = "../escape" }, "linux.cgroupsPath", ".."},
		{"cgroupsPath escaping after clean", func(s *specs.Spec, _ *SpecOptions, _ string) { s.Linux.CgroupsPath = "a/../../b" }, "linux.cgroupsPath", ".."},
		{"systemd cgroupsPath format", func(s *specs.Spec, o *SpecOptions, _ string) {
			o.SystemdCgroup = true
			s.Linux.CgroupsPath = "/plain/path"
		}, "linux.cgroupsPath", "slice:prefix:name"},
		{"time offsets without time ns", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, "linux.timeOffsets", "time namespace"},
		{"unknown time clock", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 1}}
		}, "linux.timeOffsets", `"realtime"`},
		{"resources bad device type", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "x"})
		}, "linux.resources", "devices[1]"},
		{"resources bad device access", func(s *specs.Spec, _ *SpecOptions, _ string) {
			s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Access: "rwx"}}
		}, "linux.resources", "devices[0]"},
		{"seccomp unknown action", seccompWith(func(sc *specs.LinuxSeccomp) { sc.Syscalls[0].Action = "SCMP_ACT_FOO" }), "linux.seccomp", "SCMP_ACT_FOO"},
		{"seccomp unknown default action", seccompWith(func(sc *specs.LinuxSeccomp) { sc.DefaultAction = "SCMP_ACT_BAR" }), "linux.seccomp", "defaultAction"},
		{"seccomp unknown arch", seccompWith(func(sc *specs.LinuxSeccomp) { sc.Architectures = []specs.Arch{"SCMP_ARCH_FOO"} }), "linux.seccomp", "SCMP_ARCH_FOO"},
		{"seccomp unknown flag", seccompWith(func(sc *specs.LinuxSeccomp) { sc.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_FOO"} }), "linux.seccomp", "SECCOMP_FILTER_FLAG_FOO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := newBundle(t)
			s := baseSpec()
			opts := baseOpts(bundle)
			tt.mutate(s, &opts, bundle)
			conf, err := FromSpec(s, opts)
			if err == nil {
				t.Fatalf("FromSpec succeeded, want error with %q (conf %+v)", tt.msg, conf)
			}
			if conf != nil {
				t.Errorf("FromSpec returned a conf with an error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q (%T) is not a *FieldError", err, err)
			}
			if tt.field != "" {
				if fe.Field != tt.field {
					t.Errorf("Field = %q, want %q (error %q)", fe.Field, tt.field, err)
				}
				if !strings.HasPrefix(err.Error(), tt.field+": ") {
					t.Errorf("error %q does not start with the field %q", err, tt.field)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

// TestFromSpecTimeOffsetsWithJoinedTimeNS: offsets can only be written to a
// new time namespace; runc refuses a config giving both a time namespace
// path and offsets ("you may only provide one").
func TestFromSpecTimeOffsetsWithJoinedTimeNS(t *testing.T) {
	s := baseSpec()
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/self/ns/time"})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
	conf, err := FromSpec(s, baseOpts(newBundle(t)))
	var fe *FieldError
	if err == nil || !errors.As(err, &fe) || fe.Field != "linux.timeOffsets" {
		t.Fatalf("FromSpec = %v, %v; want a linux.timeOffsets error", conf != nil, err)
	}
}

// TestFromSpecNamespacePathNewline: namespace paths travel to the nsenter
// constructor as "TYPE PATH" lines, so a path with a newline would be read
// as two entries (the second one naming any namespace).
func TestFromSpecNamespacePathNewline(t *testing.T) {
	s := baseSpec()
	s.Linux.Namespaces[4].Path = "/run/mnt-a\ntime /proc/1/ns/time"
	conf, err := FromSpec(s, baseOpts(newBundle(t)))
	var fe *FieldError
	if err == nil || !errors.As(err, &fe) || fe.Field != "linux.namespaces[4].path" {
		t.Fatalf("FromSpec = %v, %v; want a linux.namespaces[4].path error", conf != nil, err)
	}
}

func TestFromSpecNil(t *testing.T) {
	if _, err := FromSpec(nil, baseOpts(newBundle(t))); err == nil {
		t.Fatal("FromSpec(nil) succeeded")
	}
}

func TestFieldErrorUnwrap(t *testing.T) {
	bundle := newBundle(t)
	s := baseSpec()
	s.Root.Path = "missing"
	_, err := FromSpec(s, baseOpts(bundle))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	if fe.Field != "root.path" || fe.Unwrap() == nil || fe.Unwrap() != fe.Err {
		t.Errorf("FieldError = %+v", fe)
	}
	// The underlying cause stays reachable through the chain.
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, unix.ENOENT) {
		t.Errorf("errors.Is(%v, ENOENT) = false", err)
	}
	// A wrapped FieldError is still found.
	wrapped := errors.Join(errors.New("create"), err)
	fe = nil
	if !errors.As(wrapped, &fe) || fe.Field != "root.path" {
		t.Errorf("errors.As through a wrap: %v", fe)
	}
	inner := errors.New("inner")
	e := &FieldError{Field: "x.y", Err: inner}
	if e.Error() != "x.y: inner" || !errors.Is(e, inner) {
		t.Errorf("FieldError.Error() = %q", e.Error())
	}
}

// TestLoadSpec reads config.json from a bundle.
func TestLoadSpec(t *testing.T) {
	bundle := newBundle(t)
	if _, err := LoadSpec(bundle); err == nil || !strings.Contains(err.Error(), "config.json not found") {
		t.Errorf("LoadSpec without config.json: %v", err)
	}
	missing := filepath.Join(bundle, "missing")
	if _, err := LoadSpec(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, unix.ENOENT) {
		t.Errorf("LoadSpec of a missing bundle: %v", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSpec(bundle); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("LoadSpec of an empty config.json: %v", err)
	}
	data, err := json.Marshal(baseSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSpec(bundle)
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	if !reflect.DeepEqual(s, baseSpec()) {
		t.Errorf("LoadSpec round trip differs")
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion": 1`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSpec(bundle); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("LoadSpec of bad JSON: %v", err)
	}
	// Unknown fields are ignored, as the spec requires.
	if _, err := DecodeSpec([]byte(`{"ociVersion":"1.0.2","futureField":{"a":1}}`)); err != nil {
		t.Errorf("DecodeSpec with unknown field: %v", err)
	}
}

// TestConfJSONRoundTrip: the Conf travels to the init and into state.json
// as JSON, so it must survive encoding unchanged.
func TestConfJSONRoundTrip(t *testing.T) {
	bundle := newBundle(t)
	s := baseSpec()
	addUserNS(s)
	s.Process.User.Umask = u32p(0o027)
	s.Process.OOMScoreAdj = intp(100)
	s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Timeout: intp(3)}}}
	s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1024"}
	s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: "/src", Options: []string{"rbind", "rprivate", "rro"}})
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}}
	conf, err := FromSpec(s, baseOpts(bundle))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	var back Conf
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, conf) {
		t.Errorf("Conf changed through JSON:\n got %+v\nwant %+v", &back, conf)
	}
}

// FuzzFromSpec: no config.json, however broken, makes translation panic,
// and every refusal is a FieldError.
func FuzzFromSpec(f *testing.F) {
	base, err := json.Marshal(baseSpec())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base)
	s := baseSpec()
	addUserNS(s)
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(1),
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit", "nosuchcall"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, ValueTwo: 0xff, Op: specs.OpMaskedEqual}}},
		}}
	s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
	//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
	s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: intp(1)}}}
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	if data, err := json.Marshal(s); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"}]}}`))
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"/"},"process":{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_SYS_ADMIN"]},"rlimits":[{"type":"RLIMIT_CPU","soft":1,"hard":0}]},"linux":{"namespaces":[{"type":"mount"},{"type":"user","path":"x"}]}}`))
	f.Add([]byte(`{"ociVersion":"1","root":{"path":"rootfs"},"process":{"args":["a"],"cwd":"/"},"mounts":[{"destination":"/a","type":"bind","options":["rbind","rro","shared","mode=1"]}],"linux":{"namespaces":[{"type":"mount"}],"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]}}}`))
	bundle := newBundle(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := DecodeSpec(data)
		if err != nil {
			return
		}
		conf, err := FromSpec(spec, baseOpts(bundle))
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q (%T) names no field", err, err)
			}
			if conf != nil {
				t.Fatal("conf returned with an error")
			}
			return
		}
		if conf == nil {
			t.Fatal("nil conf without error")
		}
		if !filepath.IsAbs(conf.Rootfs) || conf.Cgroup.Limits == nil {
			t.Fatalf("accepted conf has rootfs %q, limits %v", conf.Rootfs, conf.Cgroup.Limits)
		}
		data, err = encodeJSON(conf)
		if err != nil {
			t.Fatalf("accepted conf does not encode: %v", err)
		}
		var back Conf
		if err := decodeJSON(data, &back); err != nil || !reflect.DeepEqual(&back, conf) {
			t.Fatalf("accepted conf does not round-trip: %v\n%s", err, data)
		}
		_ = ResolveCloneFlags(conf)
	})
}

// FuzzDecodeSpec: whenever the generated decoder accepts a document, it
// yields the Spec encoding/json yields; everything else is left to
// encoding/json, so DecodeSpec never differs from runc's decoding.
func FuzzDecodeSpec(f *testing.F) {
	if base, err := json.Marshal(baseSpec()); err == nil {
		f.Add(base)
	}
	f.Add([]byte(`{"ociVersion":"1.0.2","Process":{"args":["sh"]}}`))
	f.Add([]byte(`{"process":{"args":["a"],"user":{"uid":4294967296}}}`))
	f.Add([]byte(`{"process":{"args":["a"]},"process":{"cwd":"/"}}`))
	f.Add([]byte(`{"linux":{"resources":{"memory":{"limit":-1}},"seccomp":null},"annotations":{"a":"\u00e9\ud800"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"root":{"path":"r"}} trailing`))
	f.Add([]byte(`{"process":{"args":"sh"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeSpecFast(data)
		if !ok {
			return
		}
		var std specs.Spec
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&std); err != nil {
			t.Fatalf("generated decoder accepted what encoding/json refuses (%v): %q", err, data)
		}
		// The generated decoder leaves an empty object as a nil map;
		// nothing reads a map other than by ranging or indexing it.
		nilEmptyMaps(reflect.ValueOf(fast))
		nilEmptyMaps(reflect.ValueOf(&std))
		if !reflect.DeepEqual(*fast, std) {
			t.Fatalf("decoders differ on %q:\ngenerated %+v\nencoding/json %+v", data, fast, std)
		}
	})
}

// nilEmptyMaps replaces every empty map reachable from v by nil.
func nilEmptyMaps(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			nilEmptyMaps(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				nilEmptyMaps(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			nilEmptyMaps(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 && !v.IsNil() && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
	}
}
