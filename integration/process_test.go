package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func u32(v uint32) *uint32 { return &v }

// TestProcessSettings: what the container's process sees of the process and
// linux sections, one spec setting per case.
func TestProcessSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   []specOpt
		script string   // run with sh -c
		args   []string // extra args after the script ($0, $1, ...)
		want   []string // lines that must appear in stdout, in this order
		// skipRunc, if set, says why runc 1.1.5 does not pass the case
		skipRunc string
	}{
		{
			name:   "hostname",
			opts:   []specOpt{func(s *specs.Spec) { s.Hostname = "it-host" }},
			script: "hostname",
			want:   []string{"it-host"},
		},
		{
			name: "domainname",
			opts: []specOpt{func(s *specs.Spec) {
				s.Hostname = "it-host"
				s.Domainname = "it.example"
			}},
			script:   "hostname; cat /proc/sys/kernel/domainname",
			want:     []string{"it-host", "it.example"},
			skipRunc: "runc 1.1.5 ignores domainname (added in runc 1.2)",
		},
		{
			name: "env",
			opts: []specOpt{func(s *specs.Spec) {
				s.Process.Env = []string{defaultPath, "FOO=bar baz", "EMPTY=", "MULTI=a=b"}
			}},
			script: "env | sort",
			want:   []string{"EMPTY=", "FOO=bar baz", "MULTI=a=b"},
		},
		{
			name:   "cwd",
			opts:   []specOpt{func(s *specs.Spec) { s.Process.Cwd = "/mnt/data" }},
			script: "pwd",
			want:   []string{"/mnt/data"},
		},
		{
			name: "user_uid_gid_additionalGids",
			opts: []specOpt{func(s *specs.Spec) {
				s.Process.User = specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{1234}}
			}},
			script: "grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '",
			want:   []string{"Uid: 65534 65534 65534 65534", "Gid: 65534 65534 65534 65534", "Groups: 1234"},
		},
		{
			name:   "user_root_no_supplementary_groups",
			script: "grep '^Groups:' /proc/self/status | tr -s '\\t ' ' '",
			want:   []string{"Groups:"},
		},
		{
			name:   "umask",
			opts:   []specOpt{func(s *specs.Spec) { s.Process.User.Umask = u32(0o027) }},
			script: "umask",
			want:   []string{"0027"},
		},
		{
			name: "rlimits",
			opts: []specOpt{func(s *specs.Spec) {
				s.Process.Rlimits = []specs.POSIXRlimit{
					{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1000},
					{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
				}
			}},
			script: "grep -E '^Max (core file size|open files)' /proc/self/limits | tr -s ' ' ' '",
			want:   []string{"Max core file size 0 0 bytes", "Max open files 512 1000 files"},
		},
		{
			name:   "noNewPrivileges_true",
			script: "grep NoNewPrivs /proc/self/status | tr -s '\\t ' ' '",
			want:   []string{"NoNewPrivs: 1"},
		},
		{
			name:   "noNewPrivileges_false",
			opts:   []specOpt{func(s *specs.Spec) { s.Process.NoNewPrivileges = false }},
			script: "grep NoNewPrivs /proc/self/status | tr -s '\\t ' ' '",
			want:   []string{"NoNewPrivs: 0"},
		},
		{
			name: "sysctl",
			opts: []specOpt{func(s *specs.Spec) {
				s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"}
			}},
			script: "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
			want:   []string{"1", "1000"},
		},
		{
			// a negative value needs CAP_SYS_RESOURCE, which this VM lacks
			name:   "oomScoreAdj",
			opts:   []specOpt{func(s *specs.Spec) { v := 100; s.Process.OOMScoreAdj = &v }},
			script: "cat /proc/self/oom_score_adj",
			want:   []string{"100"},
		},
		{
			name:   "args_passed_verbatim",
			script: `printf '[%s]\n' "$0" "$1" "$2"`,
			args:   []string{"zero", "one two", ""},
			want:   []string{"[zero]", "[one two]", "[]"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skipRunc != "" && isRunc() {
				t.Skip(tc.skipRunc)
			}
			t.Parallel()
			args := append([]string{"sh", "-c", tc.script}, tc.args...)
			c := newCtr(t, append(tc.opts, withArgs(args...))...)
			res := c.run()
			if res.Code != 0 {
				t.Fatalf("container failed: %s", res)
			}
			checkLinesInOrder(t, res.Stdout, tc.want)
		})
	}
}

// checkLinesInOrder requires each wanted line, in order, among the lines of
// out (trailing blanks trimmed).
func checkLinesInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	got := lines(out)
	i := 0
	for _, l := range got {
		if i < len(want) && strings.TrimRight(l, " ") == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("output lacks %q (in order %q); got:\n%s", want[i], want, out)
	}
}

// TestCapabilities: CapEff/CapPrm/CapBnd/CapInh/CapAmb match the sets asked.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	kill := []string{"CAP_KILL"}
	cases := []struct {
		name string
		caps *specs.LinuxCapabilities
		user specs.User
		want map[string]string
	}{
		{
			name: "default",
			caps: defaultSpec().Process.Capabilities,
			want: map[string]string{"CapBnd": "0000000020000420", "CapEff": "0000000020000420", "CapPrm": "0000000020000420", "CapInh": "0000000000000000", "CapAmb": "0000000000000000"},
		},
		{
			name: "only_CAP_KILL",
			caps: &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill},
			want: map[string]string{"CapBnd": "0000000000000020", "CapEff": "0000000000000020", "CapPrm": "0000000000000020"},
		},
		{
			name: "none",
			caps: &specs.LinuxCapabilities{},
			want: map[string]string{"CapBnd": "0000000000000000", "CapEff": "0000000000000000", "CapPrm": "0000000000000000"},
		},
		{
			name: "bounding_wider_than_effective",
			caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: kill, Permitted: kill},
			want: map[string]string{"CapBnd": "0000000000000021", "CapEff": "0000000000000020", "CapPrm": "0000000000000020"},
		},
		{
			name: "ambient_for_non_root",
			caps: &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill, Inheritable: kill, Ambient: kill},
			user: specs.User{UID: 65534, GID: 65534},
			want: map[string]string{"CapBnd": "0000000000000020", "CapEff": "0000000000000020", "CapPrm": "0000000000000020", "CapInh": "0000000000000020", "CapAmb": "0000000000000020"},
		},
		{
			name: "non_root_without_ambient",
			caps: &specs.LinuxCapabilities{Bounding: kill, Effective: kill, Permitted: kill},
			user: specs.User{UID: 65534, GID: 65534},
			want: map[string]string{"CapBnd": "0000000000000020", "CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapAmb": "0000000000000000"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, withSh("cat /proc/self/status"), func(s *specs.Spec) {
				s.Process.Capabilities = tc.caps
				s.Process.User = tc.user
			})
			res := c.run()
			if res.Code != 0 {
				t.Fatalf("container failed: %s", res)
			}
			for field, want := range tc.want {
				if got := statusField(res.Stdout, field); got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
		})
	}
}

// TestReadonlyRoot: root.readonly makes / read-only; without it the
// container writes to its rootfs.
func TestReadonlyRoot(t *testing.T) {
	t.Parallel()
	t.Run("readonly", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("touch /x"))
		res := c.run()
		if res.Code == 0 {
			t.Fatalf("touch / succeeded on a read-only root: %s", res)
		}
		if !containsFold(res.Stderr, "read-only file system") {
			t.Errorf("touch failed, but not with EROFS: %s", res)
		}
		if _, err := os.Stat(filepath.Join(rootfsDir, "x")); err == nil {
			t.Errorf("the file reached the rootfs")
		}
	})
	t.Run("writable", func(t *testing.T) {
		t.Parallel()
		var root string
		c := newCtr(t, withSh("echo written > /x"), withWritableRoot(t, &root))
		c.run().mustSucceed(t)
		if b, err := os.ReadFile(filepath.Join(root, "x")); err != nil || string(b) != "written\n" {
			t.Errorf("file written in the container: %q, %v", b, err)
		}
	})
}

// TestRelativeRootPath: root.path "rootfs" is relative to the bundle, as
// in `runc spec` output and every client's bundle.
func TestRelativeRootPath(t *testing.T) {
	t.Parallel()
	c := newCtr(t, withSh("echo relative-root"))
	copyRootfsTo(t, filepath.Join(c.bundle, "rootfs"))
	c.spec.Root.Path = "rootfs"
	c.writeSpec()
	if res := c.run(); res.Code != 0 || !strings.Contains(res.Stdout, "relative-root") {
		t.Errorf("container with root.path \"rootfs\" did not run: %s", res)
	}
}

// TestNoLeakedFds: the container process gets stdio and nothing else from
// the runtime, and its working directory is inside the container
// (CVE-2024-21626: a leaked host directory fd as cwd).
func TestNoLeakedFds(t *testing.T) {
	t.Parallel()
	t.Run("busybox", func(t *testing.T) {
		t.Parallel()
		// ls lists its own directory fd (3) too
		out := runInCtr(t, "ls /proc/self/fd | tr '\\n' ' '; echo; pwd -P")
		l := lines(out)
		if len(l) != 2 || strings.TrimSpace(l[0]) != "0 1 2 3" {
			t.Errorf("fds in the container: %q, want 0 1 2 (and ls's own 3)", out)
		}
		if len(l) == 2 && l[1] != "/" {
			t.Errorf("cwd %q, want /", l[1])
		}
	})
	t.Run("ctrhelper", func(t *testing.T) {
		if !haveHelper {
			t.Skip("set LXCRUN_CTRHELPER to a static ctrhelper binary for this check")
		}
		t.Parallel()
		out := runInCtr(t, "/bin/ctrhelper fds; /bin/ctrhelper cwd", func(s *specs.Spec) { s.Process.Cwd = "/tmp" })
		var fds []string
		for _, l := range lines(out) {
			if fd, _, ok := strings.Cut(l, " -> "); ok {
				fds = append(fds, fd)
			}
		}
		if strings.Join(fds, " ") != "0 1 2" {
			t.Errorf("fds in the container: %q, want only 0 1 2", out)
		}
		if l := lines(out); len(l) == 0 || l[len(l)-1] != "/tmp" {
			t.Errorf("getcwd in the container: %q, want /tmp", out)
		}
	})
}

// TestPreserveFds: --preserve-fds N passes fds 3..3+N-1 and no more.
func TestPreserveFds(t *testing.T) {
	t.Parallel()
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
	c := newCtr(t, withSh(`cat <&3; if [ -e /proc/self/fd/4 ]; then echo fd4-leaked; fi; ls /proc/self/fd | tr '\n' ' '`))
	cmd := c.cmd("run", "--preserve-fds", "1", "--bundle", c.bundle, c.id)
	cmd.ExtraFiles = files // fd 3 and fd 4
	res := runCmd(t, cmd)
	if res.Code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	if !strings.Contains(res.Stdout, "content of three") {
		t.Errorf("fd 3 not passed: %q", res.Stdout)
	}
	if strings.Contains(res.Stdout, "fd4-leaked") {
		t.Errorf("fd 4 leaked into the container with --preserve-fds 1: %q", res.Stdout)
	}
	// only stdio, fd 3 and the fd ls itself opens may be there
	if m := regexp.MustCompile(`\b([5-9]|[1-9][0-9]+)\b`).FindString(lastLine(res.Stdout)); m != "" {
		t.Errorf("unexpected fd %s in the container: %q", m, res.Stdout)
	}
}

func lastLine(s string) string {
	l := lines(s)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}
