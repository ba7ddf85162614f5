//go:build linux

package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Run is one run of the suite against one runtime: a run directory laid out the way
// the validation programs expect, and a private state root for the runtime.
//
// The suite's programs find everything relative to their working directory and
// environment, so the run directory holds:
//
//	runtimetest             copied (a real file, not a link) into every bundle
//	rootfs-<arch>.tar.gz    untarred by `tar -xf` into each bundle (TMPDIR/ocitest*)
//	runtime                 wrapper: exec $LXCRUN_BIN --root <state> "$@"; RUNTIME= points here
//	tmp/                    TMPDIR (mode 1777): bundles, pid files
//	tap/<program>.{tap,stderr}  raw output, kept for inspection
//	results.tsv, summary
type Run struct {
	Suite   *Suite
	Runtime string // the real runtime binary
	Dir     string
	State   string // private --root
	Timeout time.Duration
	unlock  func()
}

// NewRun prepares a run directory under cache/runs and takes the run lock (the
// cgroup programs all use the same cgroup paths, so runs must not overlap).
//
// sharedLockWait bounds the wait for the team's oci-validation run lock, which is
// also taken when that tool's cache exists (its runs use the same cgroup names); on
// expiry the run goes ahead with a warning. 0 skips that lock.
func NewRun(s *Suite, cache, runtimeBin string, timeout, sharedLockWait time.Duration, logf func(string, ...any)) (*Run, error) {
	runs := filepath.Join(cache, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, err
	}
	// Own lock first, then the team's oci-validation lock when that tool's cache
	// exists on this machine: its runs use the same fixed cgroup names.
	var unlocks []func()
	unlock := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, lock := range []string{filepath.Join(cache, "run.lock"), sharedRunLock} {
		if lock == sharedRunLock {
			if _, err := os.Stat(filepath.Dir(lock)); err != nil || sharedLockWait <= 0 {
				continue
			}
		}
		if lock == sharedRunLock {
			// bounded: a process leaked by an earlier oci-validation run can hold
			// that lock for hours (it inherits the lock's fd)
			u, err := lockFileWait(lock, sharedLockWait, logf)
			if err != nil {
				logf("warning: %v; running anyway", err)
				continue
			}
			unlocks = append(unlocks, u)
			continue
		}
		u, err := lockFileWait(lock, 0, logf)
		if err != nil {
			unlock()
			return nil, err
		}
		unlocks = append(unlocks, u)
	}
	pruneRuns(runs, 20)
	r := &Run{Suite: s, Runtime: runtimeBin, Timeout: timeout, unlock: unlock}
	var err error
	fail := func(err error) (*Run, error) {
		r.Close()
		return nil, err
	}
	r.Dir, err = os.MkdirTemp(runs, filepath.Base(runtimeBin)+"."+time.Now().Format("20060102T150405")+".")
	if err != nil {
		return fail(err)
	}
	if err := os.Chmod(r.Dir, 0o755); err != nil {
		return fail(err)
	}
	for _, d := range []string{"tap", "tmp"} {
		if err := os.Mkdir(filepath.Join(r.Dir, d), 0o755); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(filepath.Join(r.Dir, "tmp"), 0o1777); err != nil {
		return fail(err)
	}
	if err := copyFile(filepath.Join(s.BinDir(), "runtimetest"), filepath.Join(r.Dir, "runtimetest"), 0o755); err != nil {
		return fail(err)
	}
	if err := copyFile(s.RootfsTarball(), filepath.Join(r.Dir, filepath.Base(s.RootfsTarball())), 0o644); err != nil {
		return fail(err)
	}
	r.State, err = os.MkdirTemp(cache, "st.")
	if err != nil {
		return fail(err)
	}
	if err := os.Chmod(r.State, 0o711); err != nil {
		return fail(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s --root %s \"$@\"\n", shQuote(runtimeBin), shQuote(r.State))
	if err := os.WriteFile(r.Wrapper(), []byte(wrapper), 0o755); err != nil {
		return fail(err)
	}
	params := fmt.Sprintf("runtime=%s\ntimeout=%d\nprivate_root=1\nbuild=%s\n",
		runtimeBin, int(timeout.Seconds()), s.Dir)
	if err := os.WriteFile(filepath.Join(r.Dir, "params"), []byte(params), 0o644); err != nil {
		return fail(err)
	}
	CleanupCgroups()
	return r, nil
}

// Wrapper is the script the suite gets as RUNTIME.
func (r *Run) Wrapper() string { return filepath.Join(r.Dir, "runtime") }

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// pruneRuns keeps the newest keep run directories.
func pruneRuns(runs string, keep int) {
	ents, err := os.ReadDir(runs)
	if err != nil {
		return
	}
	type run struct {
		path string
		mod  time.Time
	}
	var all []run
	for _, e := range ents {
		if info, err := e.Info(); err == nil && e.IsDir() {
			all = append(all, run{filepath.Join(runs, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for i := keep; i < len(all); i++ {
		exec.Command("rm", "-rf", "--one-file-system", all[i].path).Run()
	}
}

// ProgramResult is the outcome of one validation program.
type ProgramResult struct {
	Name      string
	Exit      Exit
	Duration  time.Duration
	Leftovers int // containers the harness had to remove afterwards
	Strays    int // leaked processes of the program the harness had to kill
	Counts    TAPCounts
	Score     Score
	TAPPath   string
	Stderr    string // path of the program's stderr
}

// RunProgram runs one validation program with the per-program timeout (SIGTERM to its
// process group, SIGKILL 15 s later, like timeout -k 15), then removes whatever
// containers, mounts, bundles and test cgroups it left behind, and scores it.
// ctx cancellation (e.g. an interrupt) kills the program the same way.
// timeout 0 means r.Timeout.
func (r *Run) RunProgram(ctx context.Context, name string, timeout time.Duration) (*ProgramResult, error) {
	if timeout <= 0 {
		timeout = r.Timeout
	}
	res := &ProgramResult{
		Name:    name,
		TAPPath: filepath.Join(r.Dir, "tap", name+".tap"),
		Stderr:  filepath.Join(r.Dir, "tap", name+".stderr"),
	}
	stdout, err := os.Create(res.TAPPath)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.Create(res.Stderr)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(filepath.Join(r.Suite.BinDir(), name))
	cmd.Dir = r.Dir // runtimetest and rootfs-<arch>.tar.gz are looked up here
	cmd.Env = append(envWithout(os.Environ(), "RUNTIME", "TMPDIR"),
		"RUNTIME="+r.Wrapper(), "TMPDIR="+filepath.Join(r.Dir, "tmp"))
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var waitErr error
	killed := false
	select {
	case waitErr = <-done:
	case <-timer.C:
		res.Exit.TimedOut = true
		waitErr, killed = killGroup(pgid, done)
	case <-ctx.Done():
		res.Exit.TimedOut, res.Exit.Interrupted = true, true
		waitErr, killed = killGroup(pgid, done)
	}
	res.Duration = time.Since(start)
	res.Exit.Code = exitCode(waitErr)
	if res.Exit.TimedOut {
		// like timeout -k 15: 124 after SIGTERM, 137 when SIGKILL was needed
		res.Exit.Code = 124
		if killed {
			res.Exit.Code = 137
		}
	}
	res.Leftovers = r.CleanupContainers()
	res.Strays = killStrays("RUNTIME=" + r.Wrapper())
	r.cleanupTmp()
	CleanupCgroups()

	// "rc seconds leftovers", as oci-validation keeps it, so both tools can re-score
	// each other's raw output (see ScoreRunDir)
	meta := fmt.Sprintf("%d %d %d\n", res.Exit.Code, int(res.Duration.Seconds()), res.Leftovers)
	if err := os.WriteFile(filepath.Join(r.Dir, "tap", name+".meta"), []byte(meta), 0o644); err != nil {
		return nil, err
	}
	if err := scoreResult(res, timeout.String()); err != nil {
		return nil, err
	}
	return res, nil
}

// scoreResult parses res.TAPPath and fills in res.Counts and res.Score.
func scoreResult(res *ProgramResult, timeout string) error {
	tap, err := os.Open(res.TAPPath)
	if err != nil {
		return err
	}
	defer tap.Close()
	if res.Counts, err = ParseTAP(tap); err != nil {
		return err
	}
	res.Score = ScoreProgram(res.Counts, res.Exit, timeout)
	if res.Leftovers > 0 {
		res.Score.Notes = append(res.Score.Notes, fmt.Sprintf("%d leftover container(s) removed", res.Leftovers))
	}
	if res.Strays > 0 {
		res.Score.Notes = append(res.Score.Notes, fmt.Sprintf("%d stray process(es) killed", res.Strays))
	}
	return nil
}

// killStrays kills the processes that a validation program left running after it
// exited (e.g. linux_ns_path's `unshare ... sleep 10000` when the program dies
// early): exactly those whose initial environment holds marker, an entry only this
// run's programs (and what they spawn without a new environment) have.
func killStrays(marker string) int {
	self := os.Getpid()
	n := 0
	for round := 0; round < 3; round++ {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		found := 0
		for _, p := range procs {
			pid, err := strconv.Atoi(filepath.Base(p))
			if err != nil || pid == self {
				continue
			}
			env, err := os.ReadFile(filepath.Join(p, "environ"))
			if err != nil || !bytes.Contains(env, []byte(marker+"\x00")) {
				continue
			}
			for _, kv := range bytes.Split(env, []byte{0}) {
				if string(kv) == marker {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						found++
					}
					break
				}
			}
		}
		if found == 0 {
			break
		}
		n += found
		time.Sleep(200 * time.Millisecond)
	}
	return n
}

// ScoreRunDir re-scores the raw output kept in a run directory of this harness or
// of oci-validation (tap/<program>.tap plus tap/<program>.meta holding
// "rc seconds leftovers"), in program order.
func ScoreRunDir(dir string) ([]*ProgramResult, error) {
	timeout := "?"
	if params, err := os.ReadFile(filepath.Join(dir, "params")); err == nil {
		for _, l := range strings.Split(string(params), "\n") {
			if v, ok := strings.CutPrefix(l, "timeout="); ok {
				timeout = v + "s"
			}
		}
	}
	metas, err := filepath.Glob(filepath.Join(dir, "tap", "*.meta"))
	if err != nil {
		return nil, err
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("%s: no tap/*.meta files", dir)
	}
	sort.Strings(metas)
	var out []*ProgramResult
	for _, m := range metas {
		data, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		var rc, secs, left int
		if _, err := fmt.Sscan(string(data), &rc, &secs, &left); err != nil {
			return nil, fmt.Errorf("%s: %v", m, err)
		}
		name := strings.TrimSuffix(filepath.Base(m), ".meta")
		res := &ProgramResult{
			Name:      name,
			Exit:      Exit{Code: rc, TimedOut: rc == 124 || rc == 137},
			Duration:  time.Duration(secs) * time.Second,
			Leftovers: left,
			TAPPath:   filepath.Join(dir, "tap", name+".tap"),
			Stderr:    filepath.Join(dir, "tap", name+".stderr"),
		}
		if err := scoreResult(res, timeout); err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// killGroup sends SIGTERM to the program's process group, and SIGKILL 15 s later if
// it is still there; it reports whether SIGKILL was needed.
func killGroup(pgid int, done <-chan error) (error, bool) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case err := <-done:
		return err, false
	case <-time.After(15 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return <-done, true
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 255
}

func envWithout(env []string, keys ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, d := range keys {
			drop = drop || k == d
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// runtimeCmd runs the real runtime against the private root with a 30 s limit.
func (r *Run) runtimeCmd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Runtime, append([]string{"--root", r.State}, args...)...)
	cmd.Stdin = nil
	return cmd.Output()
}

// CleanupContainers force-deletes every container in the private root and returns
// how many there were: those the runtime lists, and state directory entries that
// `state` knows although `list` missed them. Other entries get a silent
// `delete --force` too (a half-finished create) but are not counted.
func (r *Run) CleanupContainers() int {
	ids := map[string]bool{}
	if out, err := r.runtimeCmd("list", "-q"); err == nil {
		for _, id := range strings.Fields(string(out)) {
			ids[id] = true
		}
	}
	var unknown []string
	if ents, err := os.ReadDir(r.State); err == nil {
		for _, e := range ents {
			if !e.IsDir() || ids[e.Name()] {
				continue
			}
			if _, err := r.runtimeCmd("state", e.Name()); err == nil {
				ids[e.Name()] = true
			} else {
				unknown = append(unknown, e.Name())
			}
		}
	}
	for id := range ids {
		r.runtimeCmd("kill", id, "KILL")
		time.Sleep(200 * time.Millisecond)
		if _, err := r.runtimeCmd("delete", "--force", id); err != nil {
			r.runtimeCmd("delete", id)
		}
	}
	for _, id := range unknown {
		r.runtimeCmd("delete", "--force", id)
	}
	return len(ids)
}

// cleanupTmp unmounts anything mounted below the run directory (lazily, deepest
// first), then empties TMPDIR without crossing file systems.
func (r *Run) cleanupTmp() {
	for _, m := range mountsUnder(r.Dir + "/") {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	tmp := filepath.Join(r.Dir, "tmp")
	exec.Command("rm", "-rf", "--one-file-system", tmp).Run()
	os.Mkdir(tmp, 0o755)
	os.Chmod(tmp, 0o1777)
}

// mountsUnder lists mount points below prefix, deepest first.
func mountsUnder(prefix string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if mp := unescapeMountinfo(f[4]); strings.HasPrefix(mp, prefix) {
			out = append(out, mp)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// unescapeMountinfo decodes the \NNN octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CleanupCgroups removes the now-empty cgroups that the suite's cgroup programs
// leave under their fixed names ("/cgrouptest" and "testdir/cgrouptest/container");
// rmdir never removes a cgroup that still has tasks or children.
func CleanupCgroups() {
	const root = "/sys/fs/cgroup"
	var found []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		depth := strings.Count(strings.TrimPrefix(p, root), "/")
		if depth > 8 {
			return filepath.SkipDir
		}
		if depth >= 2 && d.Name() == "cgrouptest" {
			found = append(found, p)
		}
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(found)))
	for _, d := range found {
		var dirs []string
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- { // children first
			syscall.Rmdir(dirs[i])
		}
		if parent := filepath.Dir(d); filepath.Base(parent) == "testdir" {
			syscall.Rmdir(parent)
		}
	}
}

// Close removes the run's bundles, copies and (empty) state root and releases the
// run lock. The raw TAP in tap/ is kept.
func (r *Run) Close() {
	if r.Dir != "" {
		r.cleanupTmp()
		os.RemoveAll(filepath.Join(r.Dir, "tmp"))
		os.Remove(filepath.Join(r.Dir, "runtimetest"))
		os.Remove(filepath.Join(r.Dir, "rootfs-"+r.Suite.Arch+".tar.gz"))
	}
	if r.State != "" {
		os.Remove(r.State) // only if empty: never delete a runtime's live state
	}
	CleanupCgroups()
	if r.unlock != nil {
		r.unlock()
		r.unlock = nil
	}
}
