package libstart

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Start is `start`: release the parked init, then run the poststart hooks.
// If the init's execve fails, start fails with the init's message.
func Start(root, id string) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.start()
}

func (c *Container) start() error {
	switch st := c.Status(); st {
	case StatusCreated:
	case StatusStopped:
		return errors.New("cannot start a container that has stopped")
	case StatusCreating:
		return errors.New("cannot start a container that is still being created")
	default:
		return errors.New("cannot start an already running container")
	}
	if err := c.release(); err != nil {
		return err
	}
	c.State.Status = StatusRunning
	if err := c.Save(); err != nil {
		return err
	}
	state := c.OCIState(StatusRunning)
	// The spec makes a poststart failure a warning: the remaining hooks
	// still run and the container keeps running.
	for _, err := range RunAllHooks("poststart", c.State.Conf.Hooks.Poststart, state) {
		warnf("%v", err)
	}
	return nil
}

// release connects to the park socket and sends go. EOF means the init's
// execve succeeded (the connection is close-on-exec); an error message means
// it failed before or at execve.
func (c *Container) release() error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start: socket: %w", err)
	}
	conn := os.NewFile(uintptr(fd), "park-conn")
	defer conn.Close()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: c.ParkSocketPath()}); err != nil {
		return fmt.Errorf("start: connect to container init: %w", err)
	}
	if err := writeMsg(conn, msgGo, nil); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// From here on the init is no longer parked, whatever happens next.
	_ = unix.Unlinkat(c.dirFD, parkSocket, 0)
	for {
		_, _, err = expectMsg(conn, msgSeccompFd)
		if err != nil {
			break
		}
		// With no_new_privs the filter is loaded right before execve, so
		// its notify fd comes to start.
		state := c.OCIState(StatusRunning)
		if err = forwardSeccompFd(conn, c.State.Conf.Seccomp, state); err != nil {
			return fmt.Errorf("start: %w", err)
		}
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	var se *StageError
	if errors.As(err, &se) {
		return se
	}
	return fmt.Errorf("start: %w", err)
}
