package cgroup

import (
	"maps"

	"github.com/opencontainers/cgroups"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MergeUpdate returns lim with the non-zero settings of r applied: for
// update, zero or absent means unchanged (Docker sends zeros for the fields
// it leaves alone). Device rules are kept as they are.
func MergeUpdate(lim *Limits, r *specs.LinuxResources) *Limits {
	out := &Limits{KernelTCP: lim.KernelTCP, UseHierarchy: lim.UseHierarchy}
	if lim.Resources != nil {
		res := *lim.Resources
		out.Resources = &res
	} else {
		out.Resources = &cgroups.Resources{}
	}
	res := out.Resources
	if r == nil {
		return out
	}
	if m := r.Memory; m != nil {
		setInt(&res.Memory, m.Limit)
		setInt(&res.MemoryReservation, m.Reservation)
		setInt(&res.MemorySwap, m.Swap)
		if m.KernelTCP != nil && *m.KernelTCP != 0 {
			out.KernelTCP = m.KernelTCP
		}
		if m.Swappiness != nil {
			res.MemorySwappiness = m.Swappiness
		}
		if m.CheckBeforeUpdate != nil {
			res.MemoryCheckBeforeUpdate = *m.CheckBeforeUpdate
		}
	}
	if c := r.CPU; c != nil {
		setUint(&res.CpuShares, c.Shares)
		setInt(&res.CpuQuota, c.Quota)
		setUint(&res.CpuPeriod, c.Period)
		setInt(&res.CpuRtRuntime, c.RealtimeRuntime)
		setUint(&res.CpuRtPeriod, c.RealtimePeriod)
		if c.Burst != nil {
			res.CpuBurst = c.Burst
		}
		if c.Idle != nil {
			res.CPUIdle = c.Idle
		}
		if c.Cpus != "" {
			res.CpusetCpus = c.Cpus
		}
		if c.Mems != "" {
			res.CpusetMems = c.Mems
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil && *p.Limit != 0 {
		v := *p.Limit
		if v < 0 {
			v = -1
		}
		res.PidsLimit = &v
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight != 0 {
			res.BlkioWeight = *b.Weight
		}
		if b.LeafWeight != nil && *b.LeafWeight != 0 {
			res.BlkioLeafWeight = *b.LeafWeight
		}
	}
	if len(r.Unified) > 0 {
		u := maps.Clone(res.Unified)
		if u == nil {
			u = map[string]string{}
		}
		maps.Copy(u, r.Unified)
		res.Unified = u
	}
	return out
}

func setInt(dst *int64, v *int64) {
	if v != nil && *v != 0 {
		*dst = *v
	}
}

func setUint(dst *uint64, v *uint64) {
	if v != nil && *v != 0 {
		*dst = *v
	}
}
