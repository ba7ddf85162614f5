//go:build linux

package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

const (
	// SuiteModule and SuiteVersion name the conformance suite.
	SuiteModule  = "github.com/opencontainers/runtime-tools"
	SuiteVersion = "v0.9.0"
	// buildRev changes when the build recipe below changes (invalidates the cache).
	buildRev = "lxcrun-conformance-1"
	// sharedRunLock is the run lock of the team's oci-validation script; runs of both
	// are serialised when that script's cache directory exists.
	sharedRunLock = "/var/tmp/oci-validation/run.lock"
)

// Suite is a built validation suite in the cache.
type Suite struct {
	Dir      string   // build directory: bin/, rootfs-<arch>.tar.gz, MANIFEST
	Arch     string   // GOARCH it was built for
	Programs []string // validation program names, sorted
}

// BinDir holds runtimetest and the validation programs.
func (s *Suite) BinDir() string { return filepath.Join(s.Dir, "bin") }

// RootfsTarball is runtime-tools' busybox rootfs that every bundle is made from.
func (s *Suite) RootfsTarball() string {
	return filepath.Join(s.Dir, "rootfs-"+s.Arch+".tar.gz")
}

// goProxy returns `go env GOPROXY` without "direct" and "off", so that modules only
// ever come from a module proxy, never straight from a VCS.
func goProxy(goBin string) string {
	out, err := exec.Command(goBin, "env", "GOPROXY").Output()
	var keep []string
	if err == nil {
		for _, p := range strings.FieldsFunc(strings.TrimSpace(string(out)), func(r rune) bool { return r == ',' || r == '|' }) {
			if p != "direct" && p != "off" && p != "" {
				keep = append(keep, p)
			}
		}
	}
	if len(keep) == 0 {
		return "https://proxy.golang.org"
	}
	return strings.Join(keep, ",")
}

// buildEnv is the environment for every go command of the build: hermetic (own
// module and build caches under the cache dir, no go env file, no workspace), module
// proxy only, GOFLAGS=-mod=mod.
func buildEnv(cache, proxy string) []string {
	drop := map[string]bool{}
	for _, k := range strings.Fields(`GOFLAGS GOPROXY GOMODCACHE GOCACHE GOPATH GOWORK GOTOOLCHAIN
		GO111MODULE GOENV GOOS GOARCH GOEXPERIMENT GOAMD64 GOPRIVATE GONOPROXY GONOSUMDB
		GOINSECURE GOVCS CGO_ENABLED`) {
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env,
		"GOPROXY="+proxy,
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"GO111MODULE=on",
		"GOWORK=off",
		"GOENV=off",
		"GOVCS=*:off", // belt and braces: never fetch from a VCS
		"CGO_ENABLED=0",
		"GOMODCACHE="+filepath.Join(cache, "gomodcache"),
		"GOCACHE="+filepath.Join(cache, "gocache"),
		"GOPATH="+filepath.Join(cache, "gopath"),
	)
}

// lockFile takes an exclusive flock on path, waiting for it; the returned func releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// lockFileWait is lockFile with a message while it waits and, when max > 0, an
// error once max has passed without getting the lock.
func lockFileWait(path string, max time.Duration, logf func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for n := 0; ; n++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if n == 0 {
			logf("waiting for another conformance run to finish (lock %s)", path)
		}
		if max > 0 && time.Since(start) > max {
			f.Close()
			return nil, fmt.Errorf("lock %s still held after %s", path, max)
		}
		time.Sleep(time.Second)
	}
}

// BuildSuite builds the validation suite into cache (once: the build directory is
// keyed by a hash of the pinned go.mod/go.sum, the go version and the recipe) and
// returns it. goBin is the go command to use ("go" from PATH normally).
func BuildSuite(cache, goBin string, goMod, goSum []byte, logf func(string, ...any)) (*Suite, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath(goBin)
	if err != nil {
		return nil, fmt.Errorf("go toolchain: %w", err)
	}
	gov, err := exec.Command(goBin, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s version: %w", goBin, err)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(buildRev), gov, goMod, goSum} {
		fmt.Fprintf(h, "%d\n", len(part))
		h.Write(part)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(cache, "build-"+SuiteVersion+"-"+key)

	if s, err := loadSuite(dir); err == nil {
		return s, nil
	}
	unlock, err := lockFile(filepath.Join(cache, "build.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s, err := loadSuite(dir); err == nil { // built while we waited
		return s, nil
	}

	proxy := goProxy(goBin)
	logf("building %s@%s validation suite into %s (one-off; GOPROXY=%s)", SuiteModule, SuiteVersion, dir, proxy)
	tmp, err := os.MkdirTemp(cache, ".build.")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	src, bin := filepath.Join(tmp, "src"), filepath.Join(tmp, "bin")
	for _, d := range []string{src, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), goMod, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "go.sum"), goSum, 0o644); err != nil {
		return nil, err
	}
	env := buildEnv(cache, proxy)
	goCmd := func(args ...string) (string, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir, cmd.Env = src, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 30))
		}
		return strings.TrimSpace(stdout.String()), nil
	}
	if _, err := goCmd("mod", "download"); err != nil {
		return nil, err
	}
	modDir, err := goCmd("list", "-m", "-f", "{{.Dir}}", SuiteModule)
	if err != nil {
		return nil, err
	}
	arch, err := goCmd("env", "GOARCH")
	if err != nil {
		return nil, err
	}
	pkgList, err := goCmd("list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, SuiteModule+"/validation/...")
	if err != nil {
		return nil, err
	}
	pkgs := strings.Fields(pkgList)
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no validation programs found in %s/validation", SuiteModule)
	}
	// runtimetest runs inside the busybox rootfs: it must be static (CGO_ENABLED=0).
	if _, err := goCmd("build", "-trimpath", "-o", filepath.Join(bin, "runtimetest"), SuiteModule+"/cmd/runtimetest"); err != nil {
		return nil, err
	}
	if _, err := goCmd(append([]string{"build", "-trimpath", "-o", bin + "/"}, pkgs...)...); err != nil {
		return nil, err
	}
	tarball := "rootfs-" + arch + ".tar.gz"
	if err := copyFile(filepath.Join(modDir, tarball), filepath.Join(tmp, tarball), 0o644); err != nil {
		return nil, err
	}
	var m strings.Builder
	fmt.Fprintf(&m, "suite: %s@%s\nmodule dir: %s\ngo: %sGOPROXY: %s\narch: %s\nbuilt: %s\nprograms:\n",
		SuiteModule, SuiteVersion, modDir, gov, proxy, arch, time.Now().UTC().Format(time.RFC3339))
	for _, p := range pkgs {
		fmt.Fprintf(&m, "  %s\n", filepath.Base(p))
	}
	if err := os.WriteFile(filepath.Join(tmp, "MANIFEST"), []byte(m.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ARCH"), []byte(arch+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	os.RemoveAll(dir) // an incomplete earlier attempt
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		return nil, err
	}
	return loadSuite(dir)
}

// loadSuite opens a complete build directory.
func loadSuite(dir string) (*Suite, error) {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		return nil, err
	}
	arch, err := os.ReadFile(filepath.Join(dir, "ARCH"))
	if err != nil {
		return nil, err
	}
	s := &Suite{Dir: dir, Arch: strings.TrimSpace(string(arch))}
	ents, err := os.ReadDir(s.BinDir())
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.Name() != "runtimetest" && e.Type().IsRegular() {
			s.Programs = append(s.Programs, e.Name())
		}
	}
	sort.Strings(s.Programs)
	for _, f := range []string{filepath.Join(s.BinDir(), "runtimetest"), s.RootfsTarball()} {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode) // not subject to umask
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
