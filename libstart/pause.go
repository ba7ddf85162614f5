package libstart

import (
	"errors"
	"fmt"
)

// ErrNotPaused is runc's error for resuming a container that is not paused.
var ErrNotPaused = errors.New("container not paused")

// Pause is `pause`: freeze every process of the container's cgroup. It
// returns once the freezer reports the cgroup frozen (the library waits for
// FROZEN on cgroup v1, and for cgroup.events on v2).
func Pause(root, id string) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		return err
	}
	defer c.Close()
	switch c.Status() {
	case StatusRunning, StatusCreated:
	case StatusPaused:
		return errors.New("container already paused")
	default:
		return ErrNotRunning
	}
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("container has no cgroup to freeze")
	}
	if err := m.Freeze(true); err != nil {
		return err
	}
	c.State.Status = StatusPaused
	return c.Save()
}

// Resume is `resume`: thaw the container's cgroup.
func Resume(root, id string) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Status() != StatusPaused {
		return ErrNotPaused
	}
	m, err := c.cgroupManager()
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("container has no cgroup to thaw")
	}
	if err := m.Freeze(false); err != nil {
		return err
	}
	c.State.Status = StatusRunning
	if c.parked() {
		c.State.Status = StatusCreated
	}
	if err := c.Save(); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	return nil
}

// ContainerPids is `ps`: the host pids of every process in the
// container's cgroup.
func ContainerPids(root, id string) ([]int, error) {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	m, err := c.cgroupManager()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return []int{}, nil
	}
	pids, err := m.Pids()
	if err != nil {
		return nil, err
	}
	if pids == nil {
		pids = []int{}
	}
	return pids, nil
}
