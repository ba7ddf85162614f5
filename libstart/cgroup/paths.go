package cgroup

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/cgroups"
)

// v1Controllers are the controllers the library's v1 manager places a
// container in (fs.subsystems), in its order.
var v1Controllers = []string{
	"cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
	"net_cls", "net_prio", "perf_event", "freezer", "rdma", "name=systemd", "misc",
}

// hybridMountpoint is where a hybrid host mounts cgroup2 (the library's
// own constant, which it does not export).
const hybridMountpoint = "/sys/fs/cgroup/unified"

// v1Paths computes the per-controller paths of an absolute cgroupsPath on
// a cgroup v1 or hybrid host from one read of mountinfo. The library's
// initPaths gets the same map by probing each controller's directory
// (securejoin, two lstats and a statfs each: ~100 syscalls on kernfs,
// 0.5 ms of every create). ok is false where this does not apply, and the
// caller then lets the library decide, errors included (a missing devices
// controller is one). TestV1PathsMatchLibrary holds the two together.
func v1Paths(inner string) (paths map[string]string, ok bool) {
	if !filepath.IsAbs(inner) || cgroups.IsCgroup2UnifiedMode() {
		return nil, false
	}
	mounts, err := cgroups.GetCgroupMounts(false)
	if err != nil || len(mounts) == 0 {
		return nil, false
	}
	// As the library's rootPath: the parent of the first cgroup mount.
	root := filepath.Dir(mounts[0].Mountpoint)
	paths = make(map[string]string, len(v1Controllers)+1)
	for _, name := range v1Controllers {
		for _, m := range mounts {
			// GetCgroupMounts drops the "name=" of named hierarchies.
			if slices.Contains(m.Subsystems, strings.TrimPrefix(name, cgroups.CgroupNamePrefix)) {
				paths[name] = filepath.Join(root, filepath.Base(m.Mountpoint), inner)
				break
			}
		}
	}
	if _, ok := paths["devices"]; !ok {
		return nil, false
	}
	if cgroups.IsCgroup2HybridMode() {
		paths[""] = filepath.Join(root, filepath.Base(hybridMountpoint), inner)
	}
	return paths, true
}
