package libstart

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrDeleted is returned by a watcher when the container is deleted.
var ErrDeleted = errors.New("container was deleted")

// ErrTimeout is returned by a watcher whose deadline passed.
var ErrTimeout = errors.New("timed out waiting for the container")

// Watcher follows one container's status without polling, like LXC's state
// clients: every recorded transition is a rename of state.json or the
// unlink of the park socket in the state directory (inotify), and the init's
// exit is its pidfd becoming readable. It is armed before the first status
// read, so no transition between "check" and "wait" is missed.
type Watcher struct {
	root, id string
	dir      string
	ino      int
	pidfd    int
	pid      int
}

// NewWatcher arms the watches on an existing container.
func NewWatcher(root, id string) (*Watcher, error) {
	dir, err := stateDir(root, id)
	if err != nil {
		return nil, err
	}
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	const mask = unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_DELETE | unix.IN_CLOSE_WRITE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(ino, dir, mask); err != nil {
		unix.Close(ino)
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("watch state directory: %w", err)
	}
	return &Watcher{root: root, id: id, dir: dir, ino: ino, pidfd: -1}, nil
}

// Close releases the watches.
func (w *Watcher) Close() {
	unix.Close(w.ino)
	if w.pidfd >= 0 {
		unix.Close(w.pidfd)
	}
}

// Status reads the current status; it also (re)arms the pidfd once the init
// is known. ErrDeleted when the state directory is gone. A stopped container
// whose monitor has not recorded the exit yet is reported as still running,
// so that `wait` and `state` right after it see the exit status.
func (w *Watcher) Status() (string, error) {
	c, err := OpenContainer(w.root, w.id, false)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return "", ErrDeleted
		}
		return "", err
	}
	defer c.Close()
	if c.State.Pid > 0 && c.State.Pid != w.pid {
		if fd, err := c.openInitPidfd(); err == nil {
			if w.pidfd >= 0 {
				unix.Close(w.pidfd)
			}
			w.pidfd, w.pid = fd, c.State.Pid
		}
	}
	st := c.Status()
	if st == StatusStopped && c.exitPending() {
		return StatusRunning, nil
	}
	return st, nil
}

// Wait blocks until something may have changed, the deadline passes
// (ErrTimeout; a zero deadline waits forever) or the container is deleted.
func (w *Watcher) Wait(deadline time.Time) error {
	fds := []unix.PollFd{{Fd: int32(w.ino), Events: unix.POLLIN}}
	if w.pidfd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(w.pidfd), Events: unix.POLLIN})
	}
	for {
		ms := -1
		if !deadline.IsZero() {
			ms = int(time.Until(deadline).Milliseconds())
			if ms <= 0 {
				return ErrTimeout
			}
		}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait: poll: %w", err)
		}
		if n == 0 {
			continue
		}
		if len(fds) > 1 && fds[1].Revents != 0 {
			// The init exited: the pidfd stays readable, stop watching it.
			unix.Close(w.pidfd)
			w.pidfd = -1
		}
		return w.drain()
	}
}

// drain consumes the pending inotify events; a removed directory is
// ErrDeleted.
func (w *Watcher) drain() error {
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(w.ino, buf)
		if err != nil || n <= 0 {
			return nil
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
				if _, err := os.Stat(w.dir); err != nil {
					return ErrDeleted
				}
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// WaitFor is `wait`: it returns the status once it is one of want.
func WaitFor(root, id string, want []string, timeout time.Duration) (string, error) {
	w, err := NewWatcher(root, id)
	if err != nil {
		return "", err
	}
	defer w.Close()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		st, err := w.Status()
		if err != nil {
			return "", err
		}
		for _, s := range want {
			if s == st {
				return st, nil
			}
		}
		if err := w.Wait(deadline); err != nil {
			if errors.Is(err, ErrTimeout) {
				return st, fmt.Errorf("%w (status %s)", err, st)
			}
			return st, err
		}
	}
}

// LifecycleEvent is one line of `events --lifecycle`.
type LifecycleEvent struct {
	Type   string    `json:"type"`
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

// Lifecycle is `events --lifecycle`: it calls emit with the current status
// and then with every change, until the container is deleted.
func Lifecycle(root, id string, emit func(LifecycleEvent) error) error {
	w, err := NewWatcher(root, id)
	if err != nil {
		return err
	}
	defer w.Close()
	last := ""
	for {
		st, err := w.Status()
		if errors.Is(err, ErrDeleted) {
			return nil
		}
		if err != nil {
			return err
		}
		if st != last {
			if err := emit(LifecycleEvent{Type: "state", ID: id, Status: st, Time: time.Now().UTC()}); err != nil {
				return err
			}
			last = st
		}
		if err := w.Wait(time.Time{}); err != nil {
			if errors.Is(err, ErrDeleted) {
				return nil
			}
			return err
		}
	}
}
