package libstart

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lxcrun/lxcrun/libstart/cgroup"
	"golang.org/x/sys/unix"
)

// ErrNotRunning is runc's error for signalling a container with no live
// init; the containerd shim maps "container not running" to NotFound.
var ErrNotRunning = errors.New("container not running")

// ParseSignal accepts a signal number ("9"), a name ("KILL") or a name with
// the SIG prefix ("SIGKILL"), in any case.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// Kill is `kill`: signal the init through a pidfd whose process is checked
// to be the recorded init (pid and start time), so a recycled pid is never
// signalled. With all, every process of the container's cgroup is signalled,
// which also works once the init is gone.
func Kill(root, id string, sig unix.Signal, all bool) error {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return err
	}
	defer c.Close()
	if all {
		return c.signalAll(sig)
	}
	status := c.Status()
	switch status {
	case StatusStopped, StatusCreating:
		return ErrNotRunning
	}
	if err := c.signalInit(sig); err != nil {
		return err
	}
	if status == StatusPaused && sig == unix.SIGKILL {
		return c.thaw()
	}
	return nil
}

// thaw thaws the container's cgroup: after SIGKILL a frozen process only
// dies once thawed (runc thaws too).
func (c *Container) thaw() error {
	m, err := c.cgroupManager()
	if err != nil || m == nil {
		return err
	}
	return m.Freeze(false)
}

// openInitPidfd opens a pidfd for the recorded init and verifies, after
// opening, that it is still the same process.
func (c *Container) openInitPidfd() (int, error) {
	fd, err := unix.PidfdOpen(c.State.Pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", c.State.Pid, err)
	}
	if !c.InitAlive() {
		unix.Close(fd)
		return -1, ErrNotRunning
	}
	return fd, nil
}

func (c *Container) signalInit(sig unix.Signal) error {
	fd, err := c.openInitPidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signal container init: %w", err)
	}
	return nil
}

// cgroupManager opens the container's cgroup from the recorded paths, or
// returns nil when create never got as far as making it.
func (c *Container) cgroupManager() (*cgroup.Manager, error) {
	if len(c.State.CgroupPaths) == 0 || c.State.Conf == nil {
		return nil, nil
	}
	cg := c.State.Conf.Cgroup
	return cgroup.New(cgroup.Config{Path: cg.Path, Systemd: cg.Systemd}, c.State.CgroupPaths)
}

// signalAll signals every process in the container's cgroup. For SIGKILL the
// cgroup is frozen first so no process can fork or exit (and so no pid can
// be recycled) between listing and signalling.
func (c *Container) signalAll(sig unix.Signal) error {
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	if m == nil {
		if c.InitAlive() {
			return c.signalInit(sig)
		}
		return nil
	}
	pids, err := m.Pids()
	if err != nil || len(pids) == 0 {
		// Nothing to signal: never freeze an empty cgroup (the v1
		// freezer is waited for in a sleep loop).
		return err
	}
	freeze := sig == unix.SIGKILL && !m.Frozen()
	if freeze {
		if err := m.Freeze(true); err != nil {
			freeze = false
		} else if pids, err = m.Pids(); err != nil {
			pids = nil
		}
	}
	if err == nil {
		for _, pid := range pids {
			if e := unix.Kill(pid, sig); e != nil && !errors.Is(e, unix.ESRCH) {
				err = fmt.Errorf("signal process %d: %w", pid, e)
			}
		}
	}
	if freeze || (sig == unix.SIGKILL && m.Frozen()) {
		// A frozen process only dies once thawed.
		if terr := m.Freeze(false); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}
