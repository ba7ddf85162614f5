package libstart

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
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
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hs []hostHierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(fields) || len(fields) < 5 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if seen[mp] {
			continue
		}
		seen[mp] = true
		h := hostHierarchy{mountpoint: mp, fstype: fstype, root: unescapeMountinfo(fields[3])}
		if fstype == "cgroup" {
			var ctrls []string
			for _, o := range strings.Split(fields[sep+3], ",") {
				if o == "rw" || o == "ro" || strings.HasPrefix(o, "release_agent=") || o == "noprefix" || o == "clone_children" || o == "xattr" {
					continue
				}
				ctrls = append(ctrls, o)
			}
			h.opts = strings.Join(ctrls, ",")
		}
		hs = append(hs, h)
	}
	return hs, sc.Err()
}

// ownCgroups maps each v1 controller list (and "" for cgroup2) to the
// init's cgroup path, from /proc/self/cgroup.
func ownCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out, nil
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
	own, err := ownCgroups()
	if err != nil {
		return stageErr("mount", "read own cgroups", err)
	}
	cgroupNS := r.conf.HasNamespace(NSCgroup)
	flags := m.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	unified := len(hs) == 1 && hs[0].fstype == "cgroup2" && hs[0].mountpoint == "/sys/fs/cgroup"
	if unified {
		return r.mountHierarchy(hs[0], m.Destination, flags, cgroupNS, own[""])
	}
	tmpfs := Mount{Kind: MountFS, Source: "tmpfs", Destination: m.Destination, Type: "tmpfs",
		Flags: flags &^ unix.MS_RDONLY, Data: "mode=755"}
	if err := r.mount(&tmpfs); err != nil {
		return err
	}
	for _, h := range hs {
		if !strings.HasPrefix(h.mountpoint, "/sys/fs/cgroup/") {
			continue
		}
		name := strings.TrimPrefix(h.mountpoint, "/sys/fs/cgroup/")
		if strings.Contains(name, "/") {
			continue
		}
		key := h.opts
		if h.fstype == "cgroup2" {
			key = ""
		}
		dest := filepath.Join(m.Destination, name)
		if err := r.mountHierarchy(h, dest, flags, cgroupNS, own[key]); err != nil {
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
		f, err := pathrs.OpenatInRoot(r.root, m.Destination)
		if err != nil {
			return stageErr("mount", "reopen "+m.Destination, err)
		}
		defer f.Close()
		if err := unix.Mount("", fdPath(f), "", unix.MS_REMOUNT|flags, "mode=755"); err != nil {
			return stageErr("mount", "remount "+m.Destination+" read-only", err)
		}
	}
	return nil
}

func (r *rootfs) mountHierarchy(h hostHierarchy, dest string, flags uintptr, cgroupNS bool, own string) error {
	dst, err := r.mkTarget(dest, true)
	if err != nil {
		return err
	}
	defer dst.Close()
	op := "mount cgroup hierarchy " + h.mountpoint + " to " + dest
	if cgroupNS {
		data := h.opts
		if err := unix.Mount("cgroup", fdPath(dst), h.fstype, flags, data); err != nil {
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
	if flags != 0 {
		if err := r.remountBind(dest, flags); err != nil {
			return stageErr("mount", "remount "+dest, err)
		}
	}
	return nil
}
