package main

import (
	"fmt"
	"strconv"

	"github.com/lxcrun/lxcrun/libstart"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update the resource limits of a container",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		strFlag(cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: `path to a file with the new resources (OCI linux.resources JSON), or "-" for stdin`}),
		strFlag(cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"}),
		strFlag(cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"}),
		strFlag(cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds"}),
		strFlag(cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (relative weight)"}),
		strFlag(cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in microseconds"}),
		strFlag(cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"}),
		strFlag(cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"}),
		strFlag(cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to allow (0-3, 0,1)"}),
		strFlag(cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to allow (0-3, 0,1)"}),
		strFlag(cli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (ignored by the kernel since 5.4)"}),
		strFlag(cli.StringFlag{Name: "kernel-memory-tcp", Usage: "kernel TCP memory limit"}),
		strFlag(cli.StringFlag{Name: "memory", Usage: "memory limit (e.g. 128m)"}),
		strFlag(cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"}),
		strFlag(cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit (-1: unlimited)"}),
		strFlag(cli.StringFlag{Name: "pids-limit", Usage: "maximum number of pids (-1: unlimited)"}),
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		r := &specs.LinuxResources{}
		if path := c.String("resources"); path != "" {
			if r, err = libstart.ReadResources(path); err != nil {
				return err
			}
		}
		if err := updateFlags(c, r); err != nil {
			return err
		}
		return libstart.Update(c.String("root"), id, r)
	},
}

// updateFlags applies runc's individual flags on top of --resources.
func updateFlags(c *cli.Context, r *specs.LinuxResources) error {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	sizes := []struct {
		flag string
		dst  **int64
	}{
		{"memory", &r.Memory.Limit}, {"memory-reservation", &r.Memory.Reservation},
		//lint:ignore SA1019 runc's --kernel-memory flag is still accepted (the kernel ignores it)
		{"memory-swap", &r.Memory.Swap}, {"kernel-memory", &r.Memory.Kernel},
		{"kernel-memory-tcp", &r.Memory.KernelTCP},
	}
	for _, s := range sizes {
		if v := c.String(s.flag); v != "" {
			n, err := libstart.ParseSize(v)
			if err != nil {
				return fmt.Errorf("--%s: %w", s.flag, err)
			}
			*s.dst = &n
		}
	}
	uints := []struct {
		flag string
		dst  **uint64
	}{
		{"cpu-period", &r.CPU.Period}, {"cpu-share", &r.CPU.Shares}, {"cpu-burst", &r.CPU.Burst},
		{"cpu-rt-period", &r.CPU.RealtimePeriod},
	}
	for _, f := range uints {
		if v := c.String(f.flag); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("--%s: invalid value %q", f.flag, v)
			}
			*f.dst = &n
		}
	}
	ints := []struct {
		flag string
		dst  **int64
	}{
		{"cpu-quota", &r.CPU.Quota}, {"cpu-rt-runtime", &r.CPU.RealtimeRuntime},
	}
	for _, f := range ints {
		if v := c.String(f.flag); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("--%s: invalid value %q", f.flag, v)
			}
			*f.dst = &n
		}
	}
	if v := c.String("pids-limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("--pids-limit: invalid value %q", v)
		}
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	if v := c.String("blkio-weight"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return fmt.Errorf("--blkio-weight: invalid value %q", v)
		}
		w := uint16(n)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	if v := c.String("cpuset-cpus"); v != "" {
		r.CPU.Cpus = v
	}
	if v := c.String("cpuset-mems"); v != "" {
		r.CPU.Mems = v
	}
	return nil
}
