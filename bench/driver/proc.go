package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The driver is a child subreaper (PR_SET_CHILD_SUBREAPER), like a containerd
// shim: container inits that outlive their `create` are reparented to it. One
// goroutine reaps every child with wait4(-1) and keeps its rusage, so that
//
//   - the CPU time of an invocation is exact: wait4's rusage of the runtime
//     includes every descendant the runtime waited for, and the rusage of the
//     orphans reaped during a sample (container inits) is added to it;
//   - "wait until the container has stopped" is "wait until its pid is reaped",
//     without polling the runtime.
//
// Nothing else in the driver may wait for children (no os/exec).

// exitRec is one reaped process.
type exitRec struct {
	pid    int
	status unix.WaitStatus
	ru     unix.Rusage
	end    time.Time // when wait4 returned
	direct bool      // spawned by the driver (a runtime invocation)
}

type reaper struct {
	mu       sync.Mutex
	exited   map[int]*exitRec // reaped and not yet collected
	direct   map[int]bool     // spawned by us and not yet reaped
	changed  chan struct{}    // closed and replaced on every reap
	kick     chan struct{}    // a child was spawned (wakes the reaper after ECHILD)
	stopping bool
	devnull  *os.File
}

var errStopping = errors.New("interrupted")

func newReaper() (*reaper, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	dn, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	r := &reaper{
		exited:  map[int]*exitRec{},
		direct:  map[int]bool{},
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		devnull: dn,
	}
	go r.loop()
	return r, nil
}

func (r *reaper) loop() {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		pid, err := unix.Wait4(-1, &ws, unix.WALL, &ru)
		now := time.Now()
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			<-r.kick
			continue
		case err != nil:
			fmt.Fprintf(os.Stderr, "bench: wait4: %v\n", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		rec := &exitRec{pid: pid, status: ws, ru: ru, end: now, direct: r.direct[pid]}
		delete(r.direct, pid)
		r.exited[pid] = rec
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// proc is one running runtime invocation.
type proc struct {
	pid   int
	argv  []string
	start time.Time
	out   *os.File // stdout+stderr, a regular file (never a pipe: inits inherit it)
	keep  bool     // keep the output file (a long-lived container holds it)
}

// spawn starts argv with stdin /dev/null and stdout/stderr to a fresh file in
// dir. The clock starts right before the fork.
func (r *reaper) spawn(dir string, env, argv []string, keepOut bool) (*proc, error) {
	out, err := os.CreateTemp(dir, "out-*")
	if err != nil {
		return nil, err
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{r.devnull.Fd(), out.Fd(), out.Fd()},
		// Own process group: a ^C on the terminal reaches only the driver,
		// which then stops its children in order and cleans up.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		out.Close()
		os.Remove(out.Name())
		return nil, errStopping
	}
	start := time.Now()
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	r.direct[pid] = true
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return &proc{pid: pid, argv: argv, start: start, out: out, keep: keepOut}, nil
}

// result is a finished invocation.
type result struct {
	argv   []string
	wall   time.Duration
	cpu    time.Duration // user+sys, including waited-for descendants
	code   int           // exit code, or 128+signal
	output string
	start  time.Time // right before the fork
	end    time.Time // when wait4 returned
}

func (res *result) err() error {
	if res.code == 0 {
		return nil
	}
	return fmt.Errorf("%s: exit %d: %s", strings.Join(res.argv, " "), res.code, strings.TrimSpace(res.output))
}

// waitPid blocks until pid has been reaped (or timeout) and returns its record.
// A direct child's record is removed; an orphan's stays for takeOrphans.
func (r *reaper) waitPid(pid int, timeout time.Duration) (*exitRec, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		rec, ok := r.exited[pid]
		if ok && rec.direct {
			delete(r.exited, pid)
		}
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return rec, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return nil, fmt.Errorf("pid %d did not exit within %v", pid, timeout)
		}
	}
}

// wait waits for p and returns its result. On timeout the process is killed.
func (r *reaper) wait(p *proc, timeout time.Duration) *result {
	rec, err := r.waitPid(p.pid, timeout)
	if err != nil {
		_ = unix.Kill(p.pid, unix.SIGKILL)
		rec, _ = r.waitPid(p.pid, 10*time.Second)
	}
	res := &result{argv: p.argv}
	if rec != nil {
		res.wall = rec.end.Sub(p.start)
		res.cpu = rusageCPU(&rec.ru)
		res.start, res.end = p.start, rec.end
		switch {
		case rec.status.Exited():
			res.code = rec.status.ExitStatus()
		case rec.status.Signaled():
			res.code = 128 + int(rec.status.Signal())
		default:
			res.code = -1
		}
	} else {
		res.code = -1
	}
	if res.code != 0 || err != nil {
		b, _ := os.ReadFile(p.out.Name())
		res.output = string(b)
		if err != nil {
			res.output = err.Error() + "; " + res.output
		}
	}
	p.out.Close()
	if !p.keep {
		os.Remove(p.out.Name())
	}
	return res
}

// takeOrphans collects the processes reaped so far that the driver did not
// spawn (reparented container inits) and returns their summed CPU time.
func (r *reaper) takeOrphans() (cpu time.Duration, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid, rec := range r.exited {
		if !rec.direct {
			cpu += rusageCPU(&rec.ru)
			n++
			delete(r.exited, pid)
		}
	}
	return cpu, n
}

// stop refuses further spawns and SIGKILLs every running direct child.
func (r *reaper) stop() {
	r.mu.Lock()
	r.stopping = true
	pids := make([]int, 0, len(r.direct))
	for pid := range r.direct {
		pids = append(pids, pid)
	}
	r.mu.Unlock()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range pids {
		_, _ = r.waitPid(pid, 5*time.Second)
	}
}

// resume allows spawning again (for the cleanup's own invocations).
func (r *reaper) resume() {
	r.mu.Lock()
	r.stopping = false
	r.mu.Unlock()
}

func rusageCPU(ru *unix.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
