package cgroup

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/devices/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits are the resource settings of a container: what the library applies,
// plus what it has no field for (kernel TCP memory, memory hierarchy).
type Limits struct {
	Resources *cgroups.Resources `json:"resources"`
	// KernelTCP is memory.kmem.tcp.limit_in_bytes (cgroup v1 only).
	KernelTCP *int64 `json:"kernelTCP,omitempty"`
	// UseHierarchy is memory.use_hierarchy (cgroup v1 only).
	UseHierarchy *bool `json:"useHierarchy,omitempty"`
}

// defaultAllowed are the device rules every container gets after its own
// rules (runc's list): mknod of anything, the OCI default devices, the
// container's ptys and /dev/net/tun.
var defaultAllowed = []*config.Rule{
	{Type: config.CharDevice, Major: config.Wildcard, Minor: config.Wildcard, Permissions: "m", Allow: true},
	{Type: config.BlockDevice, Major: config.Wildcard, Minor: config.Wildcard, Permissions: "m", Allow: true},
	{Type: config.CharDevice, Major: 1, Minor: 3, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 1, Minor: 8, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 1, Minor: 7, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 5, Minor: 0, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 1, Minor: 5, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 1, Minor: 9, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 136, Minor: config.Wildcard, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 5, Minor: 2, Permissions: "rwm", Allow: true},
	{Type: config.CharDevice, Major: 10, Minor: 200, Permissions: "rwm", Allow: true},
}

// LimitsFromSpec converts linux.resources. Device rules come out in this
// order: deny everything, the config's rules in config order, then the
// defaults (so a config's deny-all first rule does not lock the container
// out of /dev/null). As with runc, linux.devices nodes get no implicit
// rule: a config that wants one used says so in resources.devices.
func LimitsFromSpec(r *specs.LinuxResources) (*Limits, error) {
	res := &cgroups.Resources{}
	lim := &Limits{Resources: res}
	res.Devices = append(res.Devices, &config.Rule{Type: config.WildcardDevice, Major: config.Wildcard, Minor: config.Wildcard, Permissions: "rwm", Allow: false})
	if r != nil {
		for i, d := range r.Devices {
			rule, err := deviceRule(d)
			if err != nil {
				return nil, fmt.Errorf("devices[%d]: %w", i, err)
			}
			res.Devices = append(res.Devices, rule)
		}
		if err := convertMemory(r.Memory, lim); err != nil {
			return nil, err
		}
		convertCPU(r.CPU, res)
		if r.Pids != nil && r.Pids.Limit != nil {
			v := *r.Pids.Limit
			if v < 0 {
				v = -1
			}
			res.PidsLimit = &v
		}
		convertBlockIO(r.BlockIO, res)
		for _, h := range r.HugepageLimits {
			res.HugetlbLimit = append(res.HugetlbLimit, &cgroups.HugepageLimit{Pagesize: h.Pagesize, Limit: h.Limit})
		}
		if n := r.Network; n != nil {
			if n.ClassID != nil {
				res.NetClsClassid = *n.ClassID
			}
			for _, p := range n.Priorities {
				res.NetPrioIfpriomap = append(res.NetPrioIfpriomap, &cgroups.IfPrioMap{Interface: p.Name, Priority: int64(p.Priority)})
			}
		}
		if len(r.Rdma) > 0 {
			res.Rdma = map[string]cgroups.LinuxRdma{}
			for k, v := range r.Rdma {
				res.Rdma[k] = cgroups.LinuxRdma{HcaHandles: v.HcaHandles, HcaObjects: v.HcaObjects}
			}
		}
		res.Unified = r.Unified
	}
	res.Devices = append(res.Devices, defaultAllowed...)
	return lim, nil
}

func deviceRule(d specs.LinuxDeviceCgroup) (*config.Rule, error) {
	rule := &config.Rule{Allow: d.Allow, Major: config.Wildcard, Minor: config.Wildcard}
	switch d.Type {
	case "", "a":
		rule.Type = config.WildcardDevice
	case "c":
		rule.Type = config.CharDevice
	case "b":
		rule.Type = config.BlockDevice
	default:
		return nil, fmt.Errorf("type %q must be a, c or b", d.Type)
	}
	if d.Major != nil {
		rule.Major = *d.Major
	}
	if d.Minor != nil {
		rule.Minor = *d.Minor
	}
	access := d.Access
	if access == "" {
		access = "rwm"
	}
	for _, c := range access {
		if c != 'r' && c != 'w' && c != 'm' {
			return nil, fmt.Errorf("access %q must be made of r, w and m", d.Access)
		}
	}
	rule.Permissions = config.Permissions(access)
	return rule, nil
}

func convertMemory(m *specs.LinuxMemory, lim *Limits) error {
	if m == nil {
		return nil
	}
	res := lim.Resources
	if m.Limit != nil {
		res.Memory = *m.Limit
	}
	if m.Reservation != nil {
		res.MemoryReservation = *m.Reservation
	}
	if m.Swap != nil {
		res.MemorySwap = *m.Swap
	}
	if m.Swappiness != nil {
		if *m.Swappiness > 100 {
			return fmt.Errorf("memory.swappiness: %d is above 100", *m.Swappiness)
		}
		res.MemorySwappiness = m.Swappiness
	}
	if m.DisableOOMKiller != nil {
		res.OomKillDisable = *m.DisableOOMKiller
	}
	if m.CheckBeforeUpdate != nil {
		res.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
	}
	lim.KernelTCP = m.KernelTCP
	lim.UseHierarchy = m.UseHierarchy
	// memory.kernel: the kernel accepts memory.kmem.limit_in_bytes and
	// ignores it (deprecated since 5.4); so does lxcrun.
	return nil
}

func convertCPU(c *specs.LinuxCPU, res *cgroups.Resources) {
	if c == nil {
		return
	}
	if c.Shares != nil {
		res.CpuShares = *c.Shares
	}
	if c.Quota != nil {
		res.CpuQuota = *c.Quota
	}
	res.CpuBurst = c.Burst
	if c.Period != nil {
		res.CpuPeriod = *c.Period
	}
	if c.RealtimeRuntime != nil {
		res.CpuRtRuntime = *c.RealtimeRuntime
	}
	if c.RealtimePeriod != nil {
		res.CpuRtPeriod = *c.RealtimePeriod
	}
	res.CpusetCpus = c.Cpus
	res.CpusetMems = c.Mems
	res.CPUIdle = c.Idle
}

func convertBlockIO(b *specs.LinuxBlockIO, res *cgroups.Resources) {
	if b == nil {
		return
	}
	if b.Weight != nil {
		res.BlkioWeight = *b.Weight
	}
	if b.LeafWeight != nil {
		res.BlkioLeafWeight = *b.LeafWeight
	}
	for _, wd := range b.WeightDevice {
		var w, lw uint16
		if wd.Weight != nil {
			w = *wd.Weight
		}
		if wd.LeafWeight != nil {
			lw = *wd.LeafWeight
		}
		res.BlkioWeightDevice = append(res.BlkioWeightDevice, cgroups.NewWeightDevice(wd.Major, wd.Minor, w, lw))
	}
	throttle := func(src []specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
		var out []*cgroups.ThrottleDevice
		for _, t := range src {
			out = append(out, cgroups.NewThrottleDevice(t.Major, t.Minor, t.Rate))
		}
		return out
	}
	res.BlkioThrottleReadBpsDevice = throttle(b.ThrottleReadBpsDevice)
	res.BlkioThrottleWriteBpsDevice = throttle(b.ThrottleWriteBpsDevice)
	res.BlkioThrottleReadIOPSDevice = throttle(b.ThrottleReadIOPSDevice)
	res.BlkioThrottleWriteIOPSDevice = throttle(b.ThrottleWriteIOPSDevice)
}
