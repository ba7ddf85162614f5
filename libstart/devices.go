package libstart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// defaultDevices are the devices the OCI spec requires in every container.
var defaultDevices = []Device{
	{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, Mode: 0o666},
	{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, Mode: 0o666},
	{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, Mode: 0o666},
	{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, Mode: 0o666},
	{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, Mode: 0o666},
	{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, Mode: 0o666},
}

// devSymlinks are the /dev links of the OCI spec (and runc).
var devSymlinks = [][2]string{
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
}

// populateDev fills the container's fresh /dev tmpfs: the default devices,
// linux.devices (the config wins on the same path), the symlinks, and
// /dev/ptmx pointing into the container's devpts.
func (r *rootfs) populateDev() error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	devs := make([]Device, 0, len(defaultDevices)+len(r.conf.Devices))
	for _, d := range defaultDevices {
		if !hasDevice(r.conf.Devices, d.Path) {
			devs = append(devs, d)
		}
	}
	devs = append(devs, r.conf.Devices...)
	for _, d := range devs {
		if err := r.createDevice(d); err != nil {
			return err
		}
	}
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	links = append(links, [2]string{"pts/ptmx", "/dev/ptmx"})
	for _, l := range links {
		if err := r.symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	r.dropParents()
	return nil
}

func hasDevice(devs []Device, path string) bool {
	for _, d := range devs {
		if d.Path == path {
			return true
		}
	}
	return false
}

// openParent creates and opens the parent directory of path in the rootfs.
// The directories of /dev are resolved once and kept (most nodes share
// /dev); the caller closes nothing, dropParents releases them.
func (r *rootfs) openParent(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	if f, ok := r.parents[dir]; ok {
		return f, nil
	}
	f, err := mkdirInRoot(r.root, dir, 0o755)
	if err != nil {
		return nil, err
	}
	if r.parents == nil {
		r.parents = map[string]*os.File{}
	}
	r.parents[dir] = f
	return f, nil
}

// dropParents closes the directories openParent kept.
func (r *rootfs) dropParents() {
	for dir, f := range r.parents {
		f.Close()
		delete(r.parents, dir)
	}
}

// createDevice makes one node. Inside a user namespace mknod is not
// permitted, so the host's node is bind mounted onto an empty file instead
// (as runc does).
func (r *rootfs) createDevice(d Device) error {
	parent, err := r.openParent(d.Path)
	if err != nil {
		return stageErr("devices", "create parent of "+d.Path, err)
	}
	base := filepath.Base(d.Path)
	pfd := int(parent.Fd())
	// A node from the image (or an earlier entry) at this path is replaced.
	_ = unix.Unlinkat(pfd, base, 0)
	if r.inUserNS {
		return r.bindDevice(pfd, base, d)
	}
	var mode uint32
	switch d.Type {
	case 'c':
		mode = unix.S_IFCHR
	case 'b':
		mode = unix.S_IFBLK
	case 'p':
		mode = unix.S_IFIFO
	}
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	if err := unix.Mknodat(pfd, base, mode|d.Mode, dev); err != nil {
		return stageErr("devices", "mknod "+d.Path, err)
	}
	if err := unix.Fchownat(pfd, base, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return stageErr("devices", "chown "+d.Path, err)
	}
	return nil
}

func (r *rootfs) bindDevice(pfd int, base string, d Device) error {
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o000)
	if err != nil {
		return stageErr("devices", "create "+d.Path, err)
	}
	f := os.NewFile(uintptr(fd), d.Path)
	defer f.Close()
	host := d.Path
	if err := unix.Mount(host, fdPath(f), "", unix.MS_BIND, ""); err != nil {
		return stageErr("devices", fmt.Sprintf("bind host device %s", host), err)
	}
	return nil
}

func (r *rootfs) symlink(target, path string) error {
	parent, err := r.openParent(path)
	if err != nil {
		return stageErr("devices", "create parent of "+path, err)
	}
	base := filepath.Base(path)
	_ = unix.Unlinkat(int(parent.Fd()), base, 0)
	if err := unix.Symlinkat(target, int(parent.Fd()), base); err != nil && !errors.Is(err, unix.EEXIST) {
		return stageErr("devices", "symlink "+path, err)
	}
	return nil
}
