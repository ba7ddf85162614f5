package libstart

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/lxcrun/lxcrun/libstart/cgroup"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ReadResources reads an OCI LinuxResources document from path ("-" is
// stdin), as the containerd shim (stdin) and podman (a file) send it.
func ReadResources(path string) (*specs.LinuxResources, error) {
	data, err := readFileOrStdin(path)
	if err != nil {
		return nil, fmt.Errorf("read resources: %w", err)
	}
	var r specs.LinuxResources
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("resources: invalid JSON: %w", err)
	}
	return &r, nil
}

// readFileOrStdin reads path, or standard input for "-" (the shim passes
// documents on stdin, podman as files).
func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// ParseSize parses a byte count with an optional binary unit suffix (b, k,
// m, g, t, p, optionally followed by b; any case), as runc's update flags
// accept: "134217728", "128m", "1G", "-1" (unlimited).
func ParseSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		case 'p':
			mult = 1 << 50
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(v * float64(mult)), nil
}

// Update is `update`: merge r into the container's limits, apply them, and
// record them in state.json. Zero or absent fields leave a setting
// unchanged, because Docker sends zeros for what it does not change. Device
// rules are not updated (runc neither): CRI repeats its deny-all rule.
func Update(root, id string, r *specs.LinuxResources) error {
	c, err := OpenContainer(root, id, true)
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Status() == StatusStopped {
		return ErrNotRunning
	}
	conf := c.State.Conf
	lim := conf.Cgroup.Limits
	if lim == nil {
		lim = &cgroup.Limits{}
	}
	merged := cgroup.MergeUpdate(lim, r)
	m, err := cgroup.New(cgroup.Config{Path: conf.Cgroup.Path, Systemd: conf.Cgroup.Systemd, Limits: merged}, c.State.CgroupPaths)
	if err != nil {
		return err
	}
	if err := m.Set(merged, false); err != nil {
		return err
	}
	conf.Cgroup.Limits = merged
	return c.Save()
}
