package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRuntimeEnvironInherited: a hook without env of its own inherits the
// runtime's environment, as with runc, exactly: lxcrun starts its Go
// runtime with GOMAXPROCS=1 in place of one entry and puts that entry
// back first thing, so neither a lost variable nor a GOMAXPROCS the caller
// did not set (or set otherwise) may reach the hook.
func TestRuntimeEnvironInherited(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string // entries the hook must see
		not  string   // a prefix it must not see
	}{
		{"no GOMAXPROCS", []string{"LXTEST_FIRST=1", "LXTEST_LAST=a=b"},
			[]string{"LXTEST_FIRST=1", "LXTEST_LAST=a=b"}, "GOMAXPROCS="},
		{"GOMAXPROCS set", []string{"GOMAXPROCS=3", "LXTEST_LAST=x"},
			[]string{"GOMAXPROCS=3", "LXTEST_LAST=x"}, ""},
		{"only GO variables", []string{"GOFLAGS=-x", "GOMAXPROCS=1"},
			[]string{"GOFLAGS=-x", "GOMAXPROCS=1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(shortTempDir(t), "env")
			c := newCtr(t, withArgs("true"), func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh",
					Args: []string{"sh", "-c", "/usr/bin/env > " + out}}}}
			})
			cmd := c.cmd("run", "--bundle", c.bundle, c.id)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tt.env...)
			runCmd(t, cmd).mustSucceed(t)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("hook did not run: %v", err)
			}
			// The hook's sh adds PWD.
			got := slices.DeleteFunc(strings.Split(strings.TrimSpace(string(b)), "\n"),
				func(e string) bool { return strings.HasPrefix(e, "PWD=") })
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("hook environment lacks %q: %q", w, got)
				}
			}
			for _, e := range got {
				if tt.not != "" && strings.HasPrefix(e, tt.not) {
					t.Errorf("hook environment has %q, which the runtime was not given", e)
				}
			}
			if len(got) != len(tt.env)+1 {
				t.Errorf("hook environment has %d entries, want %d: %q", len(got), len(tt.env)+1, got)
			}
		})
	}
}
