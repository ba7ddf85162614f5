// Package bench holds `make bench` (bench.sh, driver/) and the start-up
// budgets CI can check: unlike timings, the size of the binary and the number
// of Go package initialisers it runs at every start are deterministic for a
// given source tree and toolchain, so they can be asserted. Timings are never
// asserted; they are what `make bench` reports.
//
// The budgets apply to the binary `make build` produces (-trimpath, -ldflags
// "-s -w", static, tags netgo osusergo) and are skipped when LXCRUN_BIN is
// unset:
//
//	make build && LXCRUN_BIN=$PWD/lxcrun go test -count=1 -v ./bench/
//
// Raising a budget is a decision, not a fix: say in the commit what the
// extra bytes or initialisers buy. Every process start (create, the container
// init, start, state, kill, delete, exec) pays for them.
package bench

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const (
	// sizeBudget: 7,998,704 bytes at cdfc8cb (Go 1.26.8, make build) + 15%
	// = 9,198,510, rounded up to the next 100 KiB.
	sizeBudget = 9000 << 10 // 9,216,000 bytes

	// initBudget: 76 package initialisers at cdfc8cb (GODEBUG=inittrace=1
	// lxcrun --version), + 5. 54 of them are the Go runtime and standard
	// library, 19 third-party, 3 lxcrun's own (main, libstart,
	// libstart/seccomp). Together they take ~0.6 ms and 52 KB at every
	// process start; the costliest is github.com/urfave/cli/v2 (~0.1 ms).
	initBudget = 81
)

func lxcrunBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("LXCRUN_BIN")
	if bin == "" {
		t.Skip("LXCRUN_BIN is not set (the budgets apply to `make build` output)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("LXCRUN_BIN: %v", err)
	}
	return bin
}

func TestBinarySizeBudget(t *testing.T) {
	bin := lxcrunBin(t)
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	if f.Section(".symtab") != nil {
		t.Fatalf("%s has a symbol table: the budget is for the stripped `make build` binary (-ldflags \"-s -w\")", bin)
	}
	t.Logf("binary size %d bytes (%.2f MiB), budget %d (%.2f MiB), headroom %d bytes",
		st.Size(), float64(st.Size())/(1<<20), sizeBudget, float64(sizeBudget)/(1<<20), sizeBudget-st.Size())
	if st.Size() > sizeBudget {
		t.Errorf("%s is %d bytes, over the budget of %d: find what grew (go tool nm -size -sort size on an unstripped build, or `go version -m`)",
			bin, st.Size(), sizeBudget)
	}
}

var initLine = regexp.MustCompile(`(?m)^init (\S+) @`)

func TestPackageInitBudget(t *testing.T) {
	bin := lxcrunBin(t)
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, stderr.String())
	}
	inits := initLine.FindAllStringSubmatch(stderr.String(), -1)
	if len(inits) == 0 {
		t.Fatalf("no inittrace output from %s --version:\n%s", bin, stderr.String())
	}
	t.Logf("%d package inits at start-up, budget %d", len(inits), initBudget)
	if len(inits) > initBudget {
		var names []string
		for _, m := range inits {
			names = append(names, m[1])
		}
		t.Errorf("%d package inits, over the budget of %d; the inits (in order):\n%s\n"+
			"a new dependency (or a package-level var with a non-constant value) adds one; see `go list -deps`",
			len(inits), initBudget, strings.Join(names, "\n"))
	}
}
