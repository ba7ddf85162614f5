package seccomp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCompileCached(t *testing.T) {
	root := t.TempDir()
	errno := uint(1)
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: &errno}},
	}
	first, err := CompileCached(root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, CacheDir))
	if len(entries) != 1 {
		t.Fatalf("cache has %d entries, want 1", len(entries))
	}
	// A second compile must come from the cache: corrupt-proof it by
	// checking it returns the same program after the entry is rewritten
	// with a marker program of the right shape.
	path := filepath.Join(root, CacheDir, entries[0].Name())
	marker := []byte(`{"filter":"AAAAAAAAAAA="}`) // 8 zero bytes
	if err := os.WriteFile(path, marker, 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := CompileCached(root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Filter, make([]byte, 8)) {
		t.Fatalf("second compile did not use the cache (filter %d bytes)", len(second.Filter))
	}
	// Another config gets its own entry, compiled afresh.
	cfg.DefaultAction = specs.ActErrno
	third, err := CompileCached(root, cfg)
	if err != nil || bytes.Equal(third.Filter, first.Filter) || len(third.Filter) == 0 {
		t.Fatalf("different config: %v, same program %v", err, bytes.Equal(third.Filter, first.Filter))
	}
	// A corrupt entry is ignored, not an error.
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.DefaultAction = specs.ActAllow
	again, err := CompileCached(root, cfg)
	if err != nil || !bytes.Equal(again.Filter, first.Filter) {
		t.Fatalf("corrupt cache entry: %v", err)
	}
}
