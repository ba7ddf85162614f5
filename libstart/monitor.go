package libstart

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExitRecord is how a container's init ended, recorded by whoever was its
// parent and waited for it (the --monitor, or run in the foreground), like
// LXC's handler->exit_status. Plain runc callers never get one: the shims
// reap the init themselves.
type ExitRecord struct {
	ExitStatus *int      `json:"exitStatus,omitempty"`
	ExitSignal *int      `json:"exitSignal,omitempty"`
	ExitedAt   time.Time `json:"exitedAt"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
}

func newExitRecord(ws unix.WaitStatus, oom bool) *ExitRecord {
	r := &ExitRecord{ExitedAt: time.Now().UTC(), OOMKilled: oom}
	if ws.Signaled() {
		s := int(ws.Signal())
		r.ExitSignal = &s
	} else {
		s := ws.ExitStatus()
		r.ExitStatus = &s
	}
	return r
}

// recordExit stores rec in the container's state, unless it was deleted.
func recordExit(root, id string, rec *ExitRecord) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	defer c.Close()
	c.State.Exit = rec
	c.State.Status = StatusStopped
	return c.Save()
}

// oomKilled reads the memory cgroup's OOM kill counter.
func (h *Handler) oomKilled() bool {
	if h.Cgroup == nil {
		return false
	}
	n, err := h.Cgroup.OOMKillCount()
	return err == nil && n > 0
}

// The monitor's environment: the fd of the report pipe.
const envMonitor = "_LXCRUN_MONITOR"

// CreateMonitored is `create --monitor`: a monitor process (the runtime
// binary re-executed) runs the create, so it is the init's parent; it
// reports the create's result and then stays, holding nothing but the
// init, until the init exits, and records the exit in state.json.
func CreateMonitored(opts CreateOpts) error {
	if opts.PidFile != "" {
		abs, err := filepath.Abs(opts.PidFile)
		if err != nil {
			return err
		}
		opts.PidFile = abs
	}
	bundle, err := filepath.Abs(opts.Bundle)
	if err != nil {
		return err
	}
	opts.Bundle = bundle
	cfg, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer pr.Close()
	files := []uintptr{0, 1, 2}
	for i := 0; i < opts.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	files = append(files, pw.Fd())
	env := []string{envMonitor + "=" + strconv.Itoa(len(files)-1), "GOMAXPROCS=1"}
	// With the original timer slack, which the monitor passes on to the
	// container it creates.
	var pid int
	err = withOriginalTimerSlack(func() (err error) {
		pid, err = syscall.ForkExec("/proc/self/exe", []string{"lxcrun", "monitor", string(cfg)},
			&syscall.ProcAttr{Env: env, Files: files, Sys: &syscall.SysProcAttr{Setsid: true}})
		return err
	})
	pw.Close()
	if err != nil {
		return fmt.Errorf("monitor: start: %w", err)
	}
	msg, err := io.ReadAll(pr)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if len(msg) > 0 {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		return errors.New(string(msg))
	}
	return nil
}

// MonitorMain is the monitor process (`lxcrun monitor CONFIG`), dispatched
// by main before CLI parsing.
func MonitorMain(cfg string) int {
	fd, err := strconv.Atoi(os.Getenv(envMonitor))
	if err != nil {
		return 1
	}
	report := os.NewFile(uintptr(fd), "report")
	unix.CloseOnExec(fd)
	var opts CreateOpts
	if err := json.Unmarshal([]byte(cfg), &opts); err != nil {
		fmt.Fprint(report, "monitor: bad configuration")
		return 1
	}
	signal.Ignore(unix.SIGINT, unix.SIGHUP, unix.SIGTERM, unix.SIGPIPE)
	h, err := Create(opts)
	if err != nil {
		fmt.Fprint(report, err.Error())
		return 1
	}
	if st, err := ReadProcStat(os.Getpid()); err == nil {
		h.Container.State.MonitorPid, h.Container.State.MonitorStartTime = os.Getpid(), st.StartTime
		_ = h.Container.Save()
	}
	h.Release()
	// The caller's stdio and preserved fds now belong to the container
	// alone: the monitor must not keep the caller's pipes open.
	if null, err := os.OpenFile("/dev/null", os.O_RDWR, 0); err == nil {
		for i := 0; i < 3; i++ {
			_ = unix.Dup3(int(null.Fd()), i, 0)
		}
		null.Close()
	}
	for i := 0; i < opts.PreserveFDs; i++ {
		unix.Close(3 + i)
	}
	report.Close()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(h.Pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	_ = recordExit(opts.Root, opts.ID, newExitRecord(ws, h.oomKilled()))
	return 0
}
