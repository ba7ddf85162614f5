// Package cgroup places containers into cgroups and removes them, through
// github.com/opencontainers/cgroups. It writes the conversion from lxcrun's
// configuration to the library's, never the controllers themselves.
package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// Manager is one container's cgroup, in every hierarchy.
type Manager struct {
	m cgroups.Manager
}

// Config says where the container goes.
type Config struct {
	// Path is the cgroup path (absolute, or relative to the caller's own
	// cgroup), or slice:prefix:name with Systemd.
	Path    string
	Systemd bool
}

// New builds the manager for cfg. With paths (as saved in state.json by an
// earlier verb) it reuses them instead of computing them again.
func New(cfg Config, paths map[string]string) (*Manager, error) {
	cg := &cgroups.Cgroup{Resources: &cgroups.Resources{}, Systemd: cfg.Systemd}
	if cfg.Systemd {
		parts := strings.SplitN(cfg.Path, ":", 3)
		if len(parts) == 3 {
			cg.Parent, cg.ScopePrefix, cg.Name = parts[0], parts[1], parts[2]
		}
	} else {
		cg.Path = cfg.Path
	}
	m, err := manager.NewWithPaths(cg, paths)
	if err != nil {
		return nil, fmt.Errorf("cgroup manager: %w", err)
	}
	return &Manager{m: m}, nil
}

// Apply creates the cgroup and moves pid into it (-1: only create).
func (m *Manager) Apply(pid int) error {
	if err := m.m.Apply(pid); err != nil {
		return fmt.Errorf("place process %d into cgroup: %w", pid, err)
	}
	return nil
}

// Paths returns the per-controller paths, to save in state.json.
func (m *Manager) Paths() map[string]string {
	return m.m.GetPaths()
}

// Pids lists every process in the cgroup and its sub-cgroups.
func (m *Manager) Pids() ([]int, error) {
	pids, err := m.m.GetAllPids()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	return pids, nil
}

// Freeze freezes (true) or thaws (false) the cgroup.
func (m *Manager) Freeze(frozen bool) error {
	state := cgroups.Thawed
	if frozen {
		state = cgroups.Frozen
	}
	if err := m.m.Freeze(state); err != nil {
		return fmt.Errorf("freeze cgroup: %w", err)
	}
	return nil
}

// Frozen reports whether the cgroup's freezer is frozen.
func (m *Manager) Frozen() bool {
	st, err := m.m.GetFreezerState()
	return err == nil && st == cgroups.Frozen
}

// Destroy removes the cgroup in every hierarchy. A cgroup already gone is
// not an error, so delete can be repeated.
func (m *Manager) Destroy() error {
	if err := m.m.Destroy(); err != nil {
		return fmt.Errorf("remove cgroup: %w", err)
	}
	return nil
}

// HierarchyPath returns the container's path inside the hierarchy mounted at
// mountpoint, for bind-mounting it into the container.
func (m *Manager) HierarchyPath(subsystem string) string {
	p := m.m.Path(subsystem)
	if p == "" {
		return ""
	}
	return filepath.Clean(p)
}
