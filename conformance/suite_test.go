//go:build linux

package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:             "/plain",
		`/with\040space`:     "/with space",
		`/tab\011and\134bs`:  "/tab\tand\\bs",
		`/trailing\04`:       `/trailing\04`,
		`/not\9octal`:        `/not\9octal`,
		`/two\040\040spaces`: "/two  spaces",
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKillStrays(t *testing.T) {
	marker := "RUNTIME=/nonexistent/lxcrun-conformance-test-" + strconv.Itoa(os.Getpid())
	other := exec.Command("sleep", "30")
	other.Env = append(os.Environ(), marker+"-other") // a different value: must survive
	stray := exec.Command("sleep", "30")
	stray.Env = append(os.Environ(), marker)
	for _, c := range []*exec.Cmd{other, stray} {
		if err := c.Start(); err != nil {
			t.Skip("cannot start sleep:", err)
		}
	}
	defer other.Process.Kill()
	defer stray.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- stray.Wait() }()

	if n := killStrays(marker); n != 1 {
		t.Errorf("killStrays killed %d processes, want 1", n)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stray process still running")
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Errorf("unrelated process was killed: %v", err)
	}
}

func TestScoreRunDir(t *testing.T) {
	dir := t.TempDir()
	tap := filepath.Join(dir, "tap")
	if err := os.Mkdir(tap, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(tap, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "params"), []byte("runtime=/x\ntimeout=240\n"), 0o644)
	write("b.tap", "ok 1\nnot ok 2\n1..2\n")
	write("b.meta", "0 3 0\n")
	write("a.tap", "ok 1\n")
	write("a.meta", "124 240 2\n")
	res, err := ScoreRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Name != "a" || res[1].Name != "b" {
		t.Fatalf("got %d results, want a then b", len(res))
	}
	if a := res[0]; a.Score.String() != "1/2" || !a.Exit.TimedOut || a.Leftovers != 2 ||
		a.Score.Notes[0] != "timed out after 240s" {
		t.Errorf("a: %s %+v %q", a.Score, a.Exit, a.Score.Notes)
	}
	if b := res[1]; b.Score.String() != "1/2" || b.Score.Aborted {
		t.Errorf("b: %s %+v", b.Score, b.Exit)
	}
}
