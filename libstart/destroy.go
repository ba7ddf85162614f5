package libstart

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Delete is `delete`, LXC's lxc_end: a stopped container is removed; a
// created one is killed first (runc's behaviour, which containerd relies on);
// a running or paused one only with force. Delete takes the state lock, so a
// create still in flight is waited for, and one whose creator died is
// removed like any other. With force, an unknown id is not an error.
func Delete(root, id string, force bool) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	defer c.Close()
	status := c.Status()
	switch status {
	case StatusRunning, StatusPaused:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, status)
		}
	}
	return c.destroy()
}

// destroy kills whatever is left of the container, waits for the init to
// exit, removes the cgroup, runs the poststop hooks and removes the state.
func (c *Container) destroy() error {
	var errs []error
	if c.InitAlive() {
		if err := c.killAndWait(); err != nil {
			errs = append(errs, err)
		}
	}
	m, err := c.cgroupManager()
	if err != nil {
		errs = append(errs, err)
	}
	if m != nil {
		// Without a private pid namespace, the init's death does not take
		// the other processes with it (with one, the kernel kills them).
		if c.State.Conf == nil || !c.State.Conf.HasNamespace(NSPid) || c.State.Conf.NamespacePath(NSPid) != "" {
			if err := c.signalAll(unix.SIGKILL); err != nil {
				errs = append(errs, err)
			}
		}
		if err := m.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if conf := c.State.Conf; conf != nil && c.State.Status != StatusCreating {
		state := c.OCIState(StatusStopped)
		for _, err := range RunAllHooks("poststop", conf.Hooks.Poststop, state) {
			warnf("%v", err)
		}
	}
	if err := c.Remove(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// killAndWait sends SIGKILL to the init through a verified pidfd and waits
// for the pidfd to become readable (the process exited); no polling.
func (c *Container) killAndWait() error {
	fd, err := c.openInitPidfd()
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill container init: %w", err)
	}
	if c.State.Status == StatusPaused {
		_ = c.thaw()
	}
	return waitPidfd(fd, 10*time.Second)
}

// waitPidfd blocks until the process behind fd has exited, or timeout.
func waitPidfd(fd int, timeout time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return errors.New("timed out waiting for the container init to exit")
		}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for container init: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}
