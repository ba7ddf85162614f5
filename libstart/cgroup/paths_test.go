package cgroup

import (
	"maps"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// TestV1PathsMatchLibrary: on this host, the one-read computation gives
// the map the library's own probing gives. It needs no root: neither
// creates anything.
func TestV1PathsMatchLibrary(t *testing.T) {
	if cgroups.IsCgroup2UnifiedMode() {
		t.Skip("cgroup v2 unified host: v1Paths does not apply")
	}
	for _, inner := range []string{"/lxcrun-test/c1", "/a/b/c", "/x"} {
		got, ok := v1Paths(inner)
		if !ok {
			t.Skipf("no cgroup v1 mounts with a devices controller here")
		}
		m, err := manager.NewWithPaths(&cgroups.Cgroup{Path: inner, Resources: &cgroups.Resources{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.GetPaths(); !maps.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", inner, got, want)
		}
	}
	for _, inner := range []string{"", "relative/path"} {
		if _, ok := v1Paths(inner); ok {
			t.Errorf("v1Paths(%q) applies; want the library to handle it", inner)
		}
	}
}
