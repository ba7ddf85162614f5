package libstart

import (
	"errors"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// inRootResolve is how every path inside the container's rootfs is
// resolved: as if the rootfs were "/" (absolute symlinks and ".." stay
// inside it) and never through a /proc magic link. The kernel enforces
// both (openat2, Linux 5.6), which is what defeats the symlink-swap class
// of attacks (CVE-2021-30465, CVE-2024-45310, CVE-2025-31133).
const inRootResolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens path inside root as an O_PATH descriptor, resolved with
// inRootResolve.
//
// pathrs-lite's OpenatInRoot makes the same openat2 call and then reads the
// descriptor's path back through a private procfs mount (set up on first
// use: fsopen, fsconfig, fsmount, and a verified readlink per open) only
// to give the *os.File its real name. With the ~25 opens of masked and
// read-only paths in a default config that was the largest part of the
// init's CPU time; the name here is the requested path instead. Kernels
// without openat2 get pathrs-lite's emulation.
func openInRoot(root *os.File, path string) (*os.File, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: inRootResolve}
	for range 32 {
		fd, err := unix.Openat2(int(root.Fd()), path, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), filepath.Join(root.Name(), path)), nil
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			// A rename or mount raced with ".." resolution; the
			// kernel asks to retry rather than risk an escape.
			continue
		case errors.Is(err, unix.ENOSYS):
			return pathrs.OpenatInRoot(root, path)
		default:
			return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
	}
	return nil, &os.PathError{Op: "openat2", Path: path, Err: unix.EAGAIN}
}

// reopenDir opens the directory behind an O_PATH descriptor for reading.
// Opening "." relative to it needs no procfs (unlike pathrs.Reopen) and
// cannot leave the directory: "." is resolved on the descriptor itself.
func reopenDir(f *os.File) (*os.File, error) {
	fd, err := unix.Openat(int(f.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: f.Name(), Err: err}
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// mkdirInRoot creates (if needed) the directory path inside root and opens
// it as an O_PATH descriptor. The common case, a missing last component
// under an existing parent (the mount points of a fresh /dev tmpfs), is a
// mkdirat and an O_NOFOLLOW open relative to the parent's descriptor;
// anything deeper goes through pathrs-lite's creating walk.
func mkdirInRoot(root *os.File, path string, mode uint32) (*os.File, error) {
	if f, err := openInRoot(root, path); err == nil {
		return f, nil
	}
	dir, base := filepath.Split(filepath.Clean("/" + path))
	if base == "" {
		return pathrs.MkdirAllHandle(root, path, os.FileMode(mode))
	}
	parent, err := openInRoot(root, dir)
	if err != nil {
		return pathrs.MkdirAllHandle(root, path, os.FileMode(mode))
	}
	defer parent.Close()
	if err := unix.Mkdirat(int(parent.Fd()), base, mode); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkdirat", Path: path, Err: err}
	}
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(root.Name(), path)), nil
}
