package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// badCase is one config.json that create must reject.
type badCase struct {
	name string
	// fixture is a file under testdata/badconfig used verbatim as
	// config.json; otherwise mutate changes the default spec.
	fixture string
	mutate  func(s *specs.Spec, bundle string)
	// want is a substring (case-insensitive) that stderr must contain.
	// Where possible it is one runc 1.1.5 prints too.
	want string
	// lxcrunOnly, if set, says why runc 1.1.5 accepts this config: the case
	// runs only against lxcrun.
	lxcrunOnly string
}

func badConfigCases() []badCase {
	userNS := func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	mapping := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	hostIPForward := strings.TrimSpace(readBack("/proc/sys/net/ipv4/ip_forward"))
	return []badCase{
		// --- not a config at all
		{name: "invalid_json", fixture: "invalid-json.json", want: "invalid character"},
		{name: "empty_file", fixture: "empty.json", want: "EOF"},
		{name: "not_an_object", fixture: "not-an-object.json", want: "cannot unmarshal"},
		{name: "args_not_a_list", fixture: "args-not-a-list.json", want: "cannot unmarshal"},
		{name: "no_config_json", mutate: func(_ *specs.Spec, b string) { os.Remove(filepath.Join(b, "config.json")) }, want: "config.json"},

		// --- required parts missing or malformed
		{name: "no_process", mutate: func(s *specs.Spec, _ string) { s.Process = nil }, want: "process"},
		{name: "empty_args", mutate: func(s *specs.Spec, _ string) { s.Process.Args = nil }, want: "args"},
		{name: "relative_cwd", mutate: func(s *specs.Spec, _ string) { s.Process.Cwd = "tmp" }, want: "absolute"},
		{name: "empty_cwd", mutate: func(s *specs.Spec, _ string) { s.Process.Cwd = "" }, want: "cwd"},
		{name: "no_root", mutate: func(s *specs.Spec, _ string) { s.Root = nil }, want: "root"},
		{name: "missing_rootfs", mutate: func(s *specs.Spec, b string) { s.Root.Path = filepath.Join(b, "no-such-rootfs") }, want: "no such file or directory"},
		{name: "rootfs_is_a_file", mutate: func(s *specs.Spec, b string) { s.Root.Path = filepath.Join(b, "config.json") }, want: "not a directory"},

		// --- namespaces
		{name: "unknown_namespace", mutate: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogusns"})
		}, want: "bogusns"},
		{name: "duplicate_namespace", mutate: func(s *specs.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, want: "duplicate"},
		{name: "namespace_path_missing", mutate: func(s *specs.Spec, _ string) {
			withNamespacePath(specs.NetworkNamespace, "/nonexistent-netns-path")(s)
		}, want: "/nonexistent-netns-path"},
		{name: "hostname_without_uts_namespace", mutate: func(s *specs.Spec, _ string) {
			withoutNamespace(specs.UTSNamespace)(s)
		}, want: "uts"},
		{name: "user_namespace_without_mappings", mutate: func(s *specs.Spec, _ string) { userNS(s) }, want: "mapping"},
		{name: "uid_mapping_size_0", mutate: func(s *specs.Spec, _ string) {
			userNS(s)
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 0}}
			s.Linux.GIDMappings = mapping
		}, want: "mapping"},
		{name: "mappings_without_user_namespace", mutate: func(s *specs.Spec, _ string) {
			s.Linux.UIDMappings = mapping
			s.Linux.GIDMappings = mapping
		}, want: "mapping", lxcrunOnly: "runc 1.1.5 ignores uid/gid mappings without a user namespace"},

		// --- process settings
		{name: "unknown_rlimit", mutate: func(s *specs.Spec, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, want: "RLIMIT_BOGUS"},
		{name: "rlimit_soft_above_hard", mutate: func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}}
		}, want: "rlimit"},
		{name: "unknown_capability", mutate: func(s *specs.Spec, _ string) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_BOGUS")
		}, want: "CAP_BOGUS", lxcrunOnly: "runc 1.1.5 only warns about unknown capabilities (runtime-tools process_capabilities_fail)"},
		{name: "executable_not_found", mutate: func(s *specs.Spec, _ string) {
			s.Process.Args = []string{"/nonexistent-exe"}
		}, want: "no such file or directory"},
		{name: "executable_not_in_path", mutate: func(s *specs.Spec, _ string) {
			s.Process.Args = []string{"no-such-command"}
		}, want: "no-such-command"},

		// --- mounts, devices, sysctls (these fail late, inside the init)
		{name: "unknown_mount_option", mutate: func(s *specs.Spec, _ string) {
			withMount(specs.Mount{Destination: "/mnt/rw", Type: "tmpfs", Source: "tmpfs", Options: []string{"bogusopt"}})(s)
		}, want: "invalid argument"},
		{name: "bind_source_missing", mutate: func(s *specs.Spec, b string) {
			withBind(filepath.Join(b, "no-such-source"), "/mnt/data")(s)
		}, want: "no such file or directory"},
		{name: "bad_device_type", mutate: func(s *specs.Spec, _ string) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/bogus", Type: "q", Major: 1, Minor: 3}}
		}, want: "device"},
		{name: "unknown_sysctl", mutate: func(s *specs.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.lxcbogus": "1"}
		}, want: "lxcbogus"},
		// the value is the host's, so a runtime that wrongly applies it
		// changes nothing
		{name: "net_sysctl_in_host_netns", mutate: func(s *specs.Spec, _ string) {
			withoutNamespace(specs.NetworkNamespace)(s)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": hostIPForward}
		}, want: "net.ipv4.ip_forward"},
	}
}

// TestBadConfig: each bad config.json makes create fail with a message
// naming the problem, without a crash, and leaves nothing behind: no state
// in --root, no cgroup, no process, no mount.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range badConfigCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.lxcrunOnly != "" && isRunc() {
				t.Skip(tc.lxcrunOnly)
			}
			t.Parallel()
			// each case has its own rootfs inside its bundle, so a leaked
			// mount of it shows as a mount of the bundle
			c := newCtr(t)
			c.spec.Root.Path = copyRootfsTo(t, filepath.Join(c.bundle, "rootfs"))
			c.spec.Process.Args = []string{"sleep", "1000", c.id}
			if tc.fixture != "" {
				b, err := os.ReadFile(filepath.Join("testdata", "badconfig", tc.fixture))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				tc.mutate(c.spec, c.bundle)
				if _, err := os.Stat(filepath.Join(c.bundle, "config.json")); err == nil {
					c.writeSpec()
				}
			}
			res := c.create()
			res.mustFail(t, tc.want)
			checkNoCrash(t, res)
			checkNothingLeft(t, c)
			c.rt("state", c.id).mustFail(t, "does not exist")
		})
	}
}

// checkNoCrash fails if the runtime died of a signal or panicked.
func checkNoCrash(t *testing.T, res result) {
	t.Helper()
	if res.Code >= 128 || strings.Contains(res.Stderr, "panic:") || strings.Contains(res.Stderr, "goroutine ") {
		t.Errorf("runtime crashed: %s", res)
	}
}

// TestBadID: ids that are empty or could escape --root are rejected before
// anything is made.
func TestBadID(t *testing.T) {
	t.Parallel()
	// runc 1.1.5: "invalid container ID format" / "container id cannot be empty"
	const want = "container id"
	cases := []struct{ name, id string }{
		{"empty", ""},
		{"dotdot_slash", "../x"},
		{"slash", "a/b"},
		{"absolute", "/abs"},
		{"dotdot", ".."},
		{"space", "x y"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t)
			res := c.rt("create", "--bundle", c.bundle, tc.id)
			res.mustFail(t, want)
			checkNoCrash(t, res)
			parent := filepath.Dir(c.root)
			ents, _ := os.ReadDir(parent)
			for _, e := range ents {
				if e.Name() != "state" {
					t.Errorf("create with id %q made %s", tc.id, filepath.Join(parent, e.Name()))
				}
			}
			if ents, _ := os.ReadDir(c.root); len(ents) > 0 {
				t.Errorf("create with id %q left %d entries in --root", tc.id, len(ents))
			}
			checkNothingLeft(t, c)
		})
	}
}

// TestBadIDOtherVerbs: the verbs that take an existing id reject an id that
// escapes --root too (runc: "invalid container ID format", even for
// delete --force), and do not touch what lies outside.
func TestBadIDOtherVerbs(t *testing.T) {
	t.Parallel()
	requireRuntime(t)
	dir := shortTempDir(t)
	root := filepath.Join(dir, "state")
	victim := filepath.Join(dir, "victim")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	// looks like a container's state to a runtime that follows the path
	if err := os.WriteFile(filepath.Join(victim, "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"state", "../victim"},
		{"delete", "../victim"},
		{"delete", "--force", "../victim"},
		{"kill", "../victim", "KILL"},
		{"start", "../victim"},
	} {
		res := rt(t, append([]string{"--root", root}, args...)...)
		res.mustFail(t, "container id")
		checkNoCrash(t, res)
	}
	if _, err := os.Stat(filepath.Join(victim, "state.json")); err != nil {
		t.Errorf("a verb given id ../victim touched %s: %v", victim, err)
	}
}

// TestBadUsage: bad flags, arguments and verbs fail with a message.
func TestBadUsage(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown_flag", []string{"create", "--bogus-flag", "--bundle", c.bundle, c.id}, "bogus-flag"},
		{"create_without_id", []string{"create", "--bundle", c.bundle}, ""},
		{"create_two_ids", []string{"create", "--bundle", c.bundle, c.id, "second"}, ""},
		{"missing_bundle", []string{"create", "--bundle", filepath.Join(c.bundle, "nope"), c.id}, "no such file or directory"},
		{"unknown_verb", []string{"bogusverb"}, "bogusverb"},
		{"kill_unknown_signal", []string{"kill", c.id, "SIGBOGUS"}, "SIGBOGUS"},
		{"preserve_fds_not_a_number", []string{"create", "--preserve-fds", "many", "--bundle", c.bundle, c.id}, "many"},
	}
	c.create().mustSucceed(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name != "kill_unknown_signal" {
				// use a fresh --root so a create that wrongly succeeds is seen
				root := filepath.Join(shortTempDir(t), "state")
				t.Cleanup(func() { rt(t, "--root", root, "delete", "--force", c.id) })
				args = append([]string{"--root", root}, args...)
				res := rt(t, args...).mustFail(t, tc.want)
				checkNoCrash(t, res)
				return
			}
			res := c.rt(args...).mustFail(t, tc.want)
			checkNoCrash(t, res)
			if st := c.mustState(); st.Status != specs.StateCreated {
				t.Errorf("a failed kill changed the container: %+v", st)
			}
		})
	}
}
