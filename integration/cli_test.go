package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestList: the table, -q and --format json views of a --root with one
// created and one running container.
func TestList(t *testing.T) {
	t.Parallel()
	requireRuntime(t)
	root := filepath.Join(shortTempDir(t), "state")
	created := newCtrIn(t, root)
	running := newCtrIn(t, root)
	created.create().mustSucceed(t)
	running.create().mustSucceed(t)
	running.start().mustSucceed(t)
	want := map[string]string{created.id: "created", running.id: "running"}
	ids := []string{created.id, running.id}
	slices.Sort(ids)

	t.Run("table", func(t *testing.T) {
		out := created.rt("list").mustSucceed(t).Stdout
		l := lines(out)
		if len(l) != 3 {
			t.Fatalf("list printed %d lines, want a header and 2 rows:\n%s", len(l), out)
		}
		header := strings.Fields(l[0])
		for _, col := range []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"} {
			if !slices.Contains(header, col) {
				t.Errorf("header %q lacks column %s", l[0], col)
			}
		}
		if header[0] != "ID" {
			t.Errorf("first column is %q, want ID", header[0])
		}
		for _, row := range l[1:] {
			f := strings.Fields(row)
			if len(f) < 3 || want[f[0]] == "" || f[2] != want[f[0]] {
				t.Errorf("row %q, want one of %v with its status in the third column", row, want)
			}
		}
	})
	t.Run("quiet", func(t *testing.T) {
		out := created.rt("list", "-q").mustSucceed(t).Stdout
		got := lines(out)
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("list -q printed %q, want the ids %q", got, ids)
		}
	})
	t.Run("json", func(t *testing.T) {
		for _, args := range [][]string{{"list", "--format", "json"}, {"list", "--format=json"}, {"list", "-f", "json"}} {
			out := created.rt(args...).mustSucceed(t).Stdout
			var got []map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: not a JSON array: %v\n%s", args, err, out)
			}
			if len(got) != 2 {
				t.Fatalf("%v: %d entries, want 2: %s", args, len(got), out)
			}
			for _, e := range got {
				id, _ := e["id"].(string)
				if want[id] == "" || e["status"] != want[id] {
					t.Errorf("%v: entry %v, want id and status of %v", args, e, want)
				}
				if pid, _ := e["pid"].(float64); pid <= 0 {
					t.Errorf("%v: entry %v has no pid", args, e)
				}
				if e["bundle"] != created.bundle && e["bundle"] != running.bundle {
					t.Errorf("%v: entry %v has the wrong bundle", args, e)
				}
			}
		}
	})
	t.Run("empty_root", func(t *testing.T) {
		r := rt(t, "--root", filepath.Join(shortTempDir(t), "state"), "list", "--format", "json").mustSucceed(t)
		// runc prints null for no containers; [] means the same to clients
		if s := strings.TrimSpace(r.Stdout); s != "null" && s != "[]" {
			t.Errorf("list --format json of an empty root printed %q, want null or []", s)
		}
		r = rt(t, "--root", filepath.Join(shortTempDir(t), "state"), "list", "-q").mustSucceed(t)
		if strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("list -q of an empty root printed %q", r.Stdout)
		}
	})
}

// TestSpec: `spec` writes a starter config.json in --bundle, and refuses to
// overwrite one.
func TestSpec(t *testing.T) {
	t.Parallel()
	requireRuntime(t)
	t.Run("default", func(t *testing.T) {
		dir := shortTempDir(t)
		rt(t, "spec", "--bundle", dir).mustSucceed(t)
		s := readSpec(t, filepath.Join(dir, "config.json"))
		if s.Process == nil || len(s.Process.Args) == 0 || s.Root == nil || s.Root.Path != "rootfs" || s.Linux == nil {
			t.Errorf("spec is not a starter spec: %+v", s)
		}
		if hasNamespace(s, specs.UserNamespace) {
			t.Errorf("default spec has a user namespace")
		}
		for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
			if !hasNamespace(s, ns) {
				t.Errorf("default spec lacks a %s namespace", ns)
			}
		}
		// "File config.json exists. Remove it first" in runc
		rt(t, "spec", "--bundle", dir).mustFail(t, "exists")
	})
	t.Run("rootless", func(t *testing.T) {
		dir := shortTempDir(t)
		rt(t, "spec", "--rootless", "--bundle", dir).mustSucceed(t)
		s := readSpec(t, filepath.Join(dir, "config.json"))
		if !hasNamespace(s, specs.UserNamespace) || len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
			t.Errorf("rootless spec has no user namespace with mappings: %+v", s.Linux)
		}
	})
	t.Run("usable", func(t *testing.T) {
		// the starter spec runs, once pointed at a rootfs and a command
		c := newCtr(t)
		os.Remove(filepath.Join(c.bundle, "config.json"))
		c.rt("spec", "--bundle", c.bundle).mustSucceed(t)
		s := readSpec(t, filepath.Join(c.bundle, "config.json"))
		s.Root.Path = rootfsDir
		s.Process.Terminal = false
		s.Process.Args = []string{"sh", "-c", "echo spec-works"}
		s.Linux.CgroupsPath = c.spec.Linux.CgroupsPath
		c.spec = s
		c.writeSpec()
		if res := c.run().mustSucceed(t); !strings.Contains(res.Stdout, "spec-works") {
			t.Errorf("starter spec did not run: %s", res)
		}
	})
}

func readSpec(t *testing.T, path string) *specs.Spec {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &s
}

func hasNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) bool {
	if s.Linux == nil {
		return false
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == typ && n.Path == "" {
			return true
		}
	}
	return false
}

// TestFeatures: `features` prints the OCI features JSON.
func TestFeatures(t *testing.T) {
	t.Parallel()
	out := rt(t, "features").mustSucceed(t).Stdout
	var f struct {
		OCIVersionMin string   `json:"ociVersionMin"`
		OCIVersionMax string   `json:"ociVersionMax"`
		Hooks         []string `json:"hooks"`
		MountOptions  []string `json:"mountOptions"`
		Linux         *struct {
			Namespaces []string `json:"namespaces"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("features is not JSON: %v\n%s", err, out)
	}
	if !strings.HasPrefix(f.OCIVersionMin, "1.") || !strings.HasPrefix(f.OCIVersionMax, "1.") {
		t.Errorf("ociVersionMin %q / ociVersionMax %q", f.OCIVersionMin, f.OCIVersionMax)
	}
	for _, h := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if !slices.Contains(f.Hooks, h) {
			t.Errorf("features hooks %v lack %s", f.Hooks, h)
		}
	}
	if !slices.Contains(f.MountOptions, "ro") || !slices.Contains(f.MountOptions, "rbind") {
		t.Errorf("features mountOptions %v lack ro/rbind", f.MountOptions)
	}
	if f.Linux == nil || !slices.Contains(f.Linux.Namespaces, "user") || !slices.Contains(f.Linux.Namespaces, "network") {
		t.Errorf("features linux.namespaces: %+v", f.Linux)
	}
}

// TestVersion: `--version` prints the runtime version and the spec version
// (podman info parses it).
func TestVersion(t *testing.T) {
	t.Parallel()
	out := rt(t, "--version").mustSucceed(t).Stdout
	if !strings.Contains(out, "version") || !strings.Contains(out, "spec: 1.") {
		t.Errorf("--version printed %q, want a version line and \"spec: 1.x\"", out)
	}
}
