package libstart

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// hostHierarchy is one cgroup hierarchy as the init sees it before
// pivot_root: where it is mounted and which controllers it carries.
type hostHierarchy struct {
	mountpoint string
	fstype     string // "cgroup" or "cgroup2"
	opts       string // controller list for cgroup v1 (e.g. "cpu,cpuacct")
	root       string // the hierarchy root as mounted
}

// hostHierarchies reads the cgroup mounts from /proc/self/mountinfo.
func hostHierarchies() ([]hostHierarchy, error) {
	infos, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	var hs []hostHierarchy
	seen := map[string]bool{}
	for _, mi := range infos {
		if seen[mi.Mountpoint] {
			continue
		}
		seen[mi.Mountpoint] = true
		h := hostHierarchy{mountpoint: mi.Mountpoint, fstype: mi.FSType, root: mi.Root}
		if mi.FSType == "cgroup" {
			var ctrls []string
			for _, o := range strings.Split(mi.VFSOptions, ",") {
				if o == "rw" || o == "ro" || strings.HasPrefix(o, "release_agent=") || o == "noprefix" || o == "clone_children" || o == "xattr" {
					continue
				}
				ctrls = append(ctrls, o)
			}
			h.opts = strings.Join(ctrls, ",")
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// ownPath is the init's cgroup in hierarchy h, from the map of
// cgroups.ParseCgroupFile (keyed by controller, "" for cgroup2).
func ownPath(own map[string]string, h hostHierarchy) string {
	if h.fstype == "cgroup2" {
		return own[""]
	}
	first, _, _ := strings.Cut(h.opts, ",")
	return own[first]
}

// mountCgroup provides /sys/fs/cgroup. With a cgroup namespace each host
// hierarchy is mounted anew (its root is then the container's cgroup);
// without one the container's own cgroup directory of each hierarchy is bind
// mounted. On a cgroup v1 or hybrid host the hierarchies sit on a tmpfs.
func (r *rootfs) mountCgroup(m *Mount) error {
	hs, err := hostHierarchies()
	if err != nil {
		return stageErr("mount", "read cgroup hierarchies", err)
	}
	own, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return stageErr("mount", "read own cgroups", err)
	}
	cgroupNS := r.conf.HasNamespace(NSCgroup)
	flags := m.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	unified := len(hs) == 1 && hs[0].fstype == "cgroup2" && hs[0].mountpoint == "/sys/fs/cgroup"
	if unified {
		return r.mountUnified(hs[0], m, flags, cgroupNS, ownPath(own, hs[0]))
	}
	tmpfs := Mount{Kind: MountFS, Source: "tmpfs", Destination: m.Destination, Type: "tmpfs",
		Flags: flags &^ unix.MS_RDONLY, Data: "mode=755"}
	if err := r.mount(&tmpfs); err != nil {
		return err
	}
	defer r.dropParents()
	// The tmpfs is fresh and ours: its mount points are made relative to
	// it, without resolving each path from the rootfs again.
	top, err := openInRoot(r.root, m.Destination)
	if err != nil {
		return stageErr("mount", "reopen "+m.Destination, err)
	}
	defer top.Close()
	for _, h := range hs {
		if !strings.HasPrefix(h.mountpoint, "/sys/fs/cgroup/") {
			continue
		}
		name := strings.TrimPrefix(h.mountpoint, "/sys/fs/cgroup/")
		if strings.Contains(name, "/") {
			continue
		}
		if err := r.mountHierarchy(h, top, name, m.Destination, flags, cgroupNS, ownPath(own, h)); err != nil {
			return err
		}
		if strings.Contains(name, ",") {
			for _, ctrl := range strings.Split(name, ",") {
				if err := r.symlink(name, filepath.Join(m.Destination, ctrl)); err != nil {
					return err
				}
			}
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		f, err := openInRoot(r.root, m.Destination)
		if err != nil {
			return stageErr("mount", "reopen "+m.Destination, err)
		}
		defer f.Close()
		if err := mount("", fdPath(f), "", unix.MS_REMOUNT|flags, "mode=755"); err != nil {
			return stageErr("mount", "remount "+m.Destination+" read-only", err)
		}
	}
	return nil
}

// mountHierarchy mounts one host hierarchy on top/name (top is the fresh
// tmpfs on /sys/fs/cgroup).
func (r *rootfs) mountHierarchy(h hostHierarchy, top *os.File, name, parent string, flags uint64, cgroupNS bool, own string) error {
	dest := filepath.Join(parent, name)
	tfd := int(top.Fd())
	if err := unix.Mkdirat(tfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return stageErr("mount", "create mount point "+dest, err)
	}
	fd, err := unix.Openat(tfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("mount", "open mount point "+dest, err)
	}
	dst := os.NewFile(uintptr(fd), dest)
	defer dst.Close()
	if err := r.mountHierarchyOn(h, dst, dest, flags, cgroupNS, own); err != nil {
		return err
	}
	if flags == 0 || cgroupNS {
		return nil
	}
	// Re-open through the name to reach the bind mount just made.
	mfd, err := unix.Openat(tfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("mount", "reopen "+dest, err)
	}
	mf := os.NewFile(uintptr(mfd), dest)
	defer mf.Close()
	if err := mount("", fdPath(mf), "", unix.MS_BIND|unix.MS_REMOUNT|flags|r.lockedFlagsOf(mf), ""); err != nil {
		return stageErr("mount", "remount "+dest, err)
	}
	return nil
}

// mountUnified mounts a cgroup v2 host's single hierarchy on the
// destination itself.
func (r *rootfs) mountUnified(h hostHierarchy, m *Mount, flags uint64, cgroupNS bool, own string) error {
	dst, err := r.mkTarget(m.Destination, true)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := r.mountHierarchyOn(h, dst, m.Destination, flags, cgroupNS, own); err != nil {
		return err
	}
	if flags != 0 && !cgroupNS {
		if err := r.remountBind(m.Destination, flags); err != nil {
			return stageErr("mount", "remount "+m.Destination, err)
		}
	}
	return nil
}

// mountHierarchyOn mounts the hierarchy on dst: anew in a cgroup
// namespace, else a bind of the container's own cgroup directory.
func (r *rootfs) mountHierarchyOn(h hostHierarchy, dst *os.File, dest string, flags uint64, cgroupNS bool, own string) error {
	op := "mount cgroup hierarchy " + h.mountpoint + " to " + dest
	if cgroupNS {
		if err := mount("cgroup", fdPath(dst), h.fstype, flags, h.opts); err != nil {
			return stageErr("mount", op, err)
		}
		return nil
	}
	// The container's cgroup as a path below this mount of the hierarchy.
	rel := strings.TrimPrefix(own, h.root)
	src := filepath.Join(h.mountpoint, rel)
	if err := unix.Mount(src, fdPath(dst), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return stageErr("mount", op, err)
	}
	return nil
}
