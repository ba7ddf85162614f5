// Package cgroup places containers into cgroups and removes them, through
// github.com/opencontainers/cgroups. It writes the conversion from lxcrun's
// configuration to the library's, never the controllers themselves.
package cgroup

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	// The devices package is what makes the managers apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/cgroups/manager"
)

// Manager is one container's cgroup, in every hierarchy.
type Manager struct {
	m cgroups.Manager
}

// Config says where the container goes and what limits it gets.
type Config struct {
	// Path is the cgroup path (absolute, or relative to the caller's own
	// cgroup), or slice:prefix:name with Systemd.
	Path    string
	Systemd bool
	// Limits may be nil (a manager only used to find, signal or remove).
	Limits *Limits
}

// New builds the manager for cfg. With paths (as saved in state.json by an
// earlier verb) it reuses them instead of computing them again.
func New(cfg Config, paths map[string]string) (*Manager, error) {
	res := &cgroups.Resources{}
	if cfg.Limits != nil && cfg.Limits.Resources != nil {
		res = cfg.Limits.Resources
	}
	cg := &cgroups.Cgroup{Resources: res, Systemd: cfg.Systemd}
	if cfg.Systemd {
		parts := strings.SplitN(cfg.Path, ":", 3)
		if len(parts) == 3 {
			cg.Parent, cg.ScopePrefix, cg.Name = parts[0], parts[1], parts[2]
		}
	} else {
		cg.Path = cfg.Path
	}
	if paths == nil && !cfg.Systemd {
		paths, _ = v1Paths(cfg.Path)
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

// AddPid moves pid into the cgroup, or into sub (a path below it).
func (m *Manager) AddPid(sub string, pid int) error {
	if err := m.m.AddPid(sub, pid); err != nil {
		return fmt.Errorf("place process %d into cgroup: %w", pid, err)
	}
	return nil
}

// Pids lists every process in the cgroup and its sub-cgroups.
func (m *Manager) Pids() ([]int, error) {
	pids, err := m.m.GetAllPids()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	return pids, nil
}

// Stats reads every controller's statistics.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	st, err := m.m.GetStats()
	if err != nil {
		return nil, fmt.Errorf("read cgroup stats: %w", err)
	}
	return st, nil
}

// OOMKillCount is the number of OOM kills in the cgroup so far.
func (m *Manager) OOMKillCount() (uint64, error) {
	return m.m.OOMKillCount()
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

// Set applies lim. At create, on cgroup v1, the device rules are written in
// their given order (deny-all first, then the config's rules, then the
// defaults), so devices.list shows them in config order; the library's
// minimal-diff writer does not keep that order. An update (create false)
// leaves the device rules alone: they never change after create.
func (m *Manager) Set(lim *Limits, create bool) error {
	if lim == nil || lim.Resources == nil {
		return nil
	}
	res := *lim.Resources
	v1 := !cgroups.IsCgroup2UnifiedMode()
	ordered := v1 && create
	if ordered || !create {
		res.SkipDevices = true
	}
	if err := m.m.Set(&res); err != nil {
		return fmt.Errorf("linux.resources: %w", err)
	}
	if !v1 {
		return nil
	}
	if ordered {
		if err := writeV1Devices(m.m.Path("devices"), lim.Resources.Devices); err != nil {
			return fmt.Errorf("linux.resources.devices: %w", err)
		}
	}
	mem := m.m.Path("memory")
	if lim.UseHierarchy != nil && mem != "" {
		v := "0"
		if *lim.UseHierarchy {
			v = "1"
		}
		if err := cgroups.WriteFile(mem, "memory.use_hierarchy", v); err != nil {
			return fmt.Errorf("linux.resources.memory.useHierarchy: %w", err)
		}
	}
	if lim.KernelTCP != nil && mem != "" {
		if err := cgroups.WriteFile(mem, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(*lim.KernelTCP, 10)); err != nil {
			return fmt.Errorf("linux.resources.memory.kernelTCP: %w", err)
		}
	}
	return nil
}

func writeV1Devices(path string, rules []*config.Rule) error {
	if path == "" {
		return nil
	}
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := cgroups.WriteFile(path, file, r.CgroupString()); err != nil {
			return err
		}
	}
	return nil
}
