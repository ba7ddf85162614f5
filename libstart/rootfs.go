package libstart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// rootfs builds the container's filesystem inside its mount namespace, in
// three steps around the runtime hooks: prepare (every mount, /dev) before
// the prestart/createRuntime/createContainer hooks, enter (pivot_root), and
// finish (masks, read-only paths, read-only root) after it.
type rootfs struct {
	conf *Conf
	// root is an fd on the rootfs, from which every in-container path is
	// resolved with openat2(RESOLVE_IN_ROOT) semantics (pathrs-lite).
	root *os.File
	// inUserNS is true in a new user namespace, where bind remounts must
	// keep the source mount's locked flags.
	inUserNS bool
	// devMounted says the container's /dev is a fresh tmpfs lxcrun
	// populates (not a bind mount of the caller's choosing).
	devMounted bool
	// shared is true without a mount namespace: the init is in the host's
	// mount namespace, so it makes no mount at all (any would leak to the
	// host) and only chroots into the rootfs.
	shared bool
	// parents caches directories resolved for device nodes (devices.go).
	parents map[string]*os.File
}

func (r *rootfs) prepare() error {
	c := r.conf
	if r.shared {
		root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return stageErr("rootfs", "open rootfs", err)
		}
		r.root = root
		return nil
	}
	r.inUserNS = c.HasNamespace(NSUser)
	if err := mount("", "/", "", c.RootfsPropagation, ""); err != nil {
		return stageErr("rootfs", "set propagation of /", err)
	}
	if err := makeParentPrivate(c.Rootfs); err != nil {
		return err
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return stageErr("rootfs", "bind mount rootfs "+c.Rootfs, err)
	}
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("rootfs", "open rootfs", err)
	}
	r.root = root
	hasDev := false
	for _, m := range c.Mounts {
		if m.Destination == "/dev" {
			hasDev = true
			r.devMounted = m.Kind != MountBind
		}
	}
	if !hasDev {
		// /dev is always a fresh tmpfs: device nodes are never created in
		// the image, and image symlinks there are never followed.
		dev := Mount{Kind: MountFS, Source: "tmpfs", Destination: "/dev", Type: "tmpfs",
			Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"}
		if err := r.mount(&dev); err != nil {
			return err
		}
		r.devMounted = true
	}
	for i := range c.Mounts {
		if err := r.mount(&c.Mounts[i]); err != nil {
			return err
		}
	}
	if r.devMounted {
		if err := r.populateDev(); err != nil {
			return err
		}
	}
	return nil
}

// makeParentPrivate makes the mount holding the rootfs private when it is
// shared: pivot_root(2) fails with EINVAL on a shared parent mount.
func makeParentPrivate(rootfs string) error {
	infos, err := mountinfo.GetMounts(mountinfo.ParentsFilter(rootfs))
	if err != nil {
		return stageErr("rootfs", "read mountinfo", err)
	}
	var parent *mountinfo.Info
	for _, mi := range infos {
		if parent == nil || len(mi.Mountpoint) >= len(parent.Mountpoint) {
			parent = mi
		}
	}
	if parent == nil || !strings.Contains(" "+parent.Optional, " shared:") {
		return nil
	}
	if err := unix.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return stageErr("rootfs", "make parent mount "+parent.Mountpoint+" private", err)
	}
	return nil
}

// mount makes one config mount onto a destination resolved inside the
// rootfs; the mount target is the resolved fd (/proc/self/fd/N), so a
// symlink swapped in after resolution cannot redirect it.
func (r *rootfs) mount(m *Mount) error {
	if m.Kind == MountCgroup {
		return r.mountCgroup(m)
	}
	if m.Type == "proc" || m.Type == "sysfs" {
		if err := r.checkOrdinaryDir(m); err != nil {
			return err
		}
	}
	isDir := true
	if m.Kind == MountBind {
		st, err := os.Stat(m.Source)
		if err != nil {
			return stageErr("mount", "stat bind source "+m.Source, err)
		}
		isDir = st.IsDir()
	}
	dst, err := r.mkTarget(m.Destination, isDir)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := r.checkProcDest(dst, m); err != nil {
		return err
	}
	target := fdPath(dst)
	op := fmt.Sprintf("mount %s to %s", m.Source, m.Destination)
	switch m.Kind {
	case MountBind:
		if err := mount(m.Source, target, "", m.Flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return stageErr("mount", op, err)
		}
		if rest := m.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT); rest != 0 {
			if err := r.remountBind(m.Destination, rest); err != nil {
				return stageErr("mount", "remount "+m.Destination, err)
			}
		}
	default:
		var under *os.File
		if m.CopyUp {
			// The directory the tmpfs will cover, opened first: after the
			// mount it is reachable only through this fd.
			if under, err = reopenDir(dst); err != nil {
				return stageErr("mount", "open "+m.Destination+" for tmpcopyup", err)
			}
			defer under.Close()
		}
		flags := m.Flags
		if under != nil {
			// Filled first, made read-only after, if asked.
			flags &^= unix.MS_RDONLY
		}
		err := mount(m.Source, target, m.Type, flags, labelData(m.Data, r.conf.MountLabel, m.Type))
		if err == nil && under != nil {
			err = r.copyUpInto(under, m)
			if err == nil && m.Flags&unix.MS_RDONLY != 0 {
				err = r.remountReadonly(m)
			}
		}
		if err != nil && m.Type == "sysfs" && errors.Is(err, unix.EPERM) && r.inUserNS {
			// A user namespace without its own network namespace may not
			// mount sysfs; bind the host's read-only instead.
			err = unix.Mount("/sys", target, "", unix.MS_BIND|unix.MS_REC, "")
			if err == nil {
				err = r.remountBind(m.Destination, m.Flags|unix.MS_RDONLY)
			}
		}
		if err != nil {
			return stageErr("mount", op, err)
		}
	}
	return r.applyMountOptions(m)
}

// checkOrdinaryDir refuses a procfs or sysfs destination that the image
// made a symlink: procfs would land wherever it points, where a later
// mount could cover it and hide the runtime's writes (CVE-2023-27561,
// CVE-2023-28642). runc refuses these the same way.
func (r *rootfs) checkOrdinaryDir(m *Mount) error {
	parent, err := openInRoot(r.root, filepath.Dir(m.Destination))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return stageErr("mount", "open parent of "+m.Destination, err)
	}
	defer parent.Close()
	var st unix.Stat_t
	err = unix.Fstatat(int(parent.Fd()), filepath.Base(m.Destination), &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &StageError{Stage: "mount", Op: "mount " + m.Type + " to " + m.Destination,
			Msg: fmt.Sprintf("%s must be mounted on an ordinary directory, not a symlink or file", m.Type)}
	}
	return nil
}

// procMountAllowed are the only places inside /proc a config may mount over
// (runc's list: what lxcfs and similar tools provide). Anything else there
// could hide the runtime's own procfs files from it or redirect its writes
// (CVE-2019-16884, CVE-2019-19921, CVE-2025-52881).
var procMountAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true,
}

// checkProcDest refuses a mount whose destination, as resolved inside the
// rootfs (symlinks included), is /proc or below it, except a procfs on
// /proc itself and the allow-list.
func (r *rootfs) checkProcDest(dst *os.File, m *Mount) error {
	real, err := os.Readlink(fdPath(dst))
	if err != nil {
		return stageErr("mount", "resolve "+m.Destination, err)
	}
	rel := strings.TrimPrefix(real, strings.TrimSuffix(r.conf.Rootfs, "/"))
	if rel == real || !(rel == "/proc" || strings.HasPrefix(rel, "/proc/")) {
		return nil
	}
	if rel == "/proc" && m.Type == "proc" && m.Kind == MountFS {
		return nil
	}
	if procMountAllowed[rel] {
		return nil
	}
	return &StageError{Stage: "mount", Op: "mount to " + m.Destination,
		Msg: fmt.Sprintf("%q cannot be mounted because it is inside /proc (resolved to %s)", m.Destination, rel)}
}

// copyUpInto copies the covered directory into the mount just made.
func (r *rootfs) copyUpInto(under *os.File, m *Mount) error {
	top, err := openInRoot(r.root, m.Destination)
	if err != nil {
		return err
	}
	defer top.Close()
	dir, err := reopenDir(top)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := copyUp(under, dir); err != nil {
		return fmt.Errorf("tmpcopyup %s: %w", m.Destination, err)
	}
	return nil
}

// remountReadonly makes a filesystem mounted rw (so it could be filled)
// read-only as its options asked.
func (r *rootfs) remountReadonly(m *Mount) error {
	f, err := openInRoot(r.root, m.Destination)
	if err != nil {
		return err
	}
	defer f.Close()
	return mount("", fdPath(f), "", unix.MS_REMOUNT|m.Flags, m.Data)
}

// applyMountOptions applies propagation changes and recursive attributes to
// the mount just made, re-resolving its destination to reach the new mount.
func (r *rootfs) applyMountOptions(m *Mount) error {
	if len(m.PropFlags) == 0 && m.RecAttrSet == 0 && m.RecAttrClr == 0 {
		return nil
	}
	f, err := openInRoot(r.root, m.Destination)
	if err != nil {
		return stageErr("mount", "reopen "+m.Destination, err)
	}
	defer f.Close()
	for _, p := range m.PropFlags {
		if err := mount("", fdPath(f), "", p, ""); err != nil {
			return stageErr("mount", "set propagation of "+m.Destination, err)
		}
	}
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		attr := unix.MountAttr{Attr_set: m.RecAttrSet, Attr_clr: m.RecAttrClr}
		if m.RecAttrClr&unix.MOUNT_ATTR__ATIME != 0 || m.RecAttrSet&unix.MOUNT_ATTR__ATIME != 0 {
			attr.Attr_clr |= unix.MOUNT_ATTR__ATIME
		}
		if err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return stageErr("mount", "mount_setattr "+m.Destination, err)
		}
	}
	return nil
}

// remountBind changes the per-mount flags of the bind mount at dest inside
// the rootfs. In a user namespace the flags the kernel locked on the source
// (nosuid, nodev, noexec, atime) must be kept, or the remount fails.
func (r *rootfs) remountBind(dest string, flags uint64) error {
	f, err := openInRoot(r.root, dest)
	if err != nil {
		return err
	}
	defer f.Close()
	return mount("", fdPath(f), "", unix.MS_BIND|unix.MS_REMOUNT|flags|r.lockedFlagsOf(f), "")
}

// lockedFlagsOf is lockedFlags of f's mount in a user namespace, else 0.
func (r *rootfs) lockedFlagsOf(f *os.File) uint64 {
	if !r.inUserNS {
		return 0
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0
	}
	return lockedFlags(st.Flags)
}

func lockedFlags(stFlags int64) uint64 {
	var f uint64
	for st, ms := range map[int64]uint64{
		unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV, unix.ST_NOEXEC: unix.MS_NOEXEC,
		unix.ST_NOATIME: unix.MS_NOATIME, unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if stFlags&st != 0 {
			f |= ms
		}
	}
	return f
}

// mkTarget creates (if needed) and opens the mount destination inside the
// rootfs, as a directory or, for a bind mount of a file, as a file.
func (r *rootfs) mkTarget(dest string, isDir bool) (*os.File, error) {
	// Most destinations exist in the image: one resolution, not the
	// creating walk.
	if f, err := openInRoot(r.root, dest); err == nil {
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) == nil && (st.Mode&unix.S_IFMT == unix.S_IFDIR) == isDir {
			return f, nil
		}
		f.Close()
	}
	if isDir {
		f, err := mkdirInRoot(r.root, dest, 0o755)
		if err != nil {
			return nil, stageErr("mount", "create mount point "+dest, err)
		}
		return f, nil
	}
	parent, err := mkdirInRoot(r.root, filepath.Dir(dest), 0o755)
	if err != nil {
		return nil, stageErr("mount", "create mount point parent of "+dest, err)
	}
	defer parent.Close()
	base := filepath.Base(dest)
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o644)
	if err != nil && errors.Is(err, unix.EISDIR) {
		err = nil
		fd, err = unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, stageErr("mount", "create mount point "+dest, err)
	}
	return os.NewFile(uintptr(fd), dest), nil
}

func fdPath(f *os.File) string {
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd())
}

// labelData adds the SELinux context option when the config has a mount
// label and the host has SELinux; on other hosts labels are ignored.
func labelData(data, label, fstype string) string {
	if label == "" || !selinuxEnabled() || fstype == "proc" || fstype == "sysfs" {
		return data
	}
	opt := fmt.Sprintf("context=%q", label)
	if data == "" {
		return opt
	}
	return data + "," + opt
}

func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// enter switches the root to the rootfs: pivot_root(".", ".") then a lazy
// unmount of the old root, or MS_MOVE + chroot with --no-pivot.
func (r *rootfs) enter() error {
	c := r.conf
	if c.NoPivot || r.shared {
		if err := unix.Chdir(c.Rootfs); err != nil {
			return stageErr("rootfs", "chdir to rootfs", err)
		}
		if !r.shared {
			if err := unix.Mount(c.Rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
				return stageErr("rootfs", "move rootfs to /", err)
			}
		}
		if err := unix.Chroot("."); err != nil {
			return stageErr("rootfs", "chroot", err)
		}
		return stageErrIf("rootfs", "chdir /", unix.Chdir("/"))
	}
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("rootfs", "open old root", err)
	}
	defer unix.Close(oldroot)
	if err := unix.Fchdir(int(r.root.Fd())); err != nil {
		return stageErr("rootfs", "chdir to rootfs", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return stageErr("rootfs", "pivot_root", err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return stageErr("rootfs", "chdir to old root", err)
	}
	// The old root must not propagate the unmount to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return stageErr("rootfs", "make old root slave", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return stageErr("rootfs", "unmount old root", err)
	}
	return stageErrIf("rootfs", "chdir /", unix.Chdir("/"))
}

func stageErrIf(stage, op string, err error) error {
	if err == nil {
		return nil
	}
	return stageErr(stage, op, err)
}

// finish runs after pivot_root: read-only paths, masked paths, read-only
// root.
func (r *rootfs) finish() error {
	c := r.conf
	r.root.Close()
	if r.shared {
		return nil
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("rootfs", "open new root", err)
	}
	r.root = root
	defer root.Close()
	for _, p := range c.ReadonlyPaths {
		if err := r.readonlyPath(p); err != nil {
			return err
		}
	}
	if len(c.MaskedPaths) > 0 {
		if err := r.maskPaths(c.MaskedPaths); err != nil {
			return err
		}
	}
	if c.RootfsReadonly {
		flags := unix.MS_RDONLY | r.lockedFlagsOf(root)
		if err := mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
			return stageErr("rootfs", "remount / read-only", err)
		}
	}
	return nil
}

func (r *rootfs) readonlyPath(p string) error {
	f, err := openInRoot(r.root, p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return stageErr("readonlyPaths", "open "+p, err)
	}
	defer f.Close()
	if err := unix.Mount(fdPath(f), fdPath(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return stageErr("readonlyPaths", "bind "+p, err)
	}
	if err := r.remountBind(p, unix.MS_RDONLY|unix.MS_REC); err != nil {
		return stageErr("readonlyPaths", "remount "+p+" read-only", err)
	}
	return nil
}

// maskPaths covers files with the container's /dev/null, checked to be the
// real null device (char 1:3) first, and directories with a read-only
// tmpfs. A missing /dev/null is an error, never a silent skip.
func (r *rootfs) maskPaths(paths []string) error {
	null, err := os.OpenFile("/dev/null", unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return stageErr("maskedPaths", "open /dev/null", err)
	}
	defer null.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		return stageErr("maskedPaths", "stat /dev/null", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		return &StageError{Stage: "maskedPaths", Op: "verify /dev/null", Msg: "/dev/null is not the null device (char 1:3)"}
	}
	for _, p := range paths {
		f, err := openInRoot(r.root, p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return stageErr("maskedPaths", "open "+p, err)
		}
		var fst unix.Stat_t
		err = unix.Fstat(int(f.Fd()), &fst)
		if err == nil {
			if fst.Mode&unix.S_IFMT == unix.S_IFDIR {
				err = unix.Mount("tmpfs", fdPath(f), "tmpfs", unix.MS_RDONLY, labelData("", r.conf.MountLabel, "tmpfs"))
			} else {
				err = unix.Mount(fdPath(null), fdPath(f), "", unix.MS_BIND, "")
			}
		}
		f.Close()
		if err != nil {
			return stageErr("maskedPaths", "mask "+p, err)
		}
	}
	return nil
}
