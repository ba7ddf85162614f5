package libstart

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sealedExe is the runtime binary as the processes that enter a container
// (the create init, the exec helper) execute it: a file the container cannot
// write even if it reaches it through /proc/<pid>/exe (CVE-2019-5736).
type sealedExe struct {
	file *os.File // O_PATH (overlay) or the sealed memfd
	// reuse is true when /proc/self/exe already is such a file.
	reuse bool
}

// sealExe returns the binary to re-execute: /proc/self/exe itself when it is
// already sealed (a memfd with write seals, or a file on a read-only
// mount), else the same binary seen through a private, detached, read-only,
// lower-only overlayfs mount, else through a detached read-only bind mount
// of the file (both: no copy, a few syscalls; the overlay fails where the
// binary already sits on stacked overlayfs, as on this project's machines),
// else a sealed memfd copy. Only create, run and exec pay for this.
//
// When the binary itself sits on overlayfs, the overlay is not tried: one
// more layer usually exceeds the kernel's stacking depth of 2 (ELOOP, as on
// this project's machines), a failed fsopen/fsconfig round costs about a
// millisecond on every create and exec, and the read-only bind protects
// /proc/<pid>/exe as well.
func sealExe() (*sealedExe, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("seal runtime binary: %w", err)
	}
	if isSealed(self) {
		return &sealedExe{file: self, reuse: true}, nil
	}
	oerr := errors.New("skipped: the binary is on overlayfs")
	var st unix.Statfs_t
	if unix.Fstatfs(int(self.Fd()), &st) != nil || st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		var f *os.File
		if f, oerr = overlayExe(); oerr == nil {
			self.Close()
			return &sealedExe{file: f}, nil
		}
	}
	f, berr := roBindExe()
	if berr == nil {
		self.Close()
		return &sealedExe{file: f}, nil
	}
	f, merr := memfdExe(self)
	self.Close()
	if merr != nil {
		return nil, fmt.Errorf("seal runtime binary: overlay: %v; bind: %v; memfd: %w", oerr, berr, merr)
	}
	return &sealedExe{file: f}, nil
}

// sealedArgv0 seals the binary and returns the path a child started by
// syscall.ForkExec with nfiles fds executes, and the release of what it
// holds (call it once the child has exec'd).
func sealedArgv0(nfiles int) (string, func(), error) {
	s, err := sealExe()
	if err != nil {
		return "", nil, err
	}
	fd, err := s.fdFor(nfiles)
	if err != nil {
		s.Close()
		return "", nil, err
	}
	return s.path(fd), func() {
		if fd >= 0 {
			unix.Close(fd)
		}
		s.Close()
	}, nil
}

// path is the argv0 path to execute, valid while the file is open and only
// in a child that keeps fd (the caller passes a high fd, see fdFor).
func (s *sealedExe) path(fd int) string {
	if s.reuse {
		return "/proc/self/exe"
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd)
}

// fdFor duplicates the sealed file to a descriptor above every fd that
// syscall.ForkExec's child rearranges (it uses [0, 2*nfiles)), so the exec
// path stays valid in the child. The copy is close-on-exec.
func (s *sealedExe) fdFor(nfiles int) (int, error) {
	if s.reuse {
		return -1, nil
	}
	fd, err := unix.FcntlInt(s.file.Fd(), unix.F_DUPFD_CLOEXEC, 2*nfiles+3)
	if err != nil {
		return -1, fmt.Errorf("seal runtime binary: dup: %w", err)
	}
	return fd, nil
}

func (s *sealedExe) Close() {
	if s != nil && s.file != nil {
		s.file.Close()
	}
}

// isSealed reports whether f is a memfd with write seals or a file on a
// read-only overlayfs (what a previous lxcrun made it).
func isSealed(f *os.File) bool {
	if seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0); err == nil {
		const want = unix.F_SEAL_SEAL | unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK
		return seals&want == want
	}
	// A file reached through a read-only mount cannot be opened for
	// writing through that path, which is the one /proc/<pid>/exe gives.
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return false
	}
	return st.Flags&unix.ST_RDONLY != 0
}

// roBindExe clones a detached bind mount of the binary itself and makes it
// read-only: exec'ing it makes /proc/<pid>/exe resolve through that mount,
// so opening it for writing fails with EROFS.
func roBindExe() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open_tree: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mount_setattr: %w", err)
	}
	return os.NewFile(uintptr(fd), "lxcrun-robind"), nil
}

// overlayExe mounts the binary's directory as the lower layer of a new
// overlayfs (read-only by construction: no upper layer), detached and never
// attached anywhere, and opens the binary in it. Without an upper layer
// overlayfs needs two distinct lower layers: the second is an empty
// detached tmpfs, so nothing is created on disk.
func overlayExe() (*os.File, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Dir(exe), filepath.Base(exe)
	empty, err := emptyTmpfs()
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	lower := dir + ":" + fmt.Sprintf("/proc/self/fd/%d", empty)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", lower); err != nil {
		return nil, fmt.Errorf("overlay lowerdir: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("overlay create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in overlay: %w", base, err)
	}
	return os.NewFile(uintptr(fd), "lxcrun-sealed"), nil
}

// emptyTmpfs returns the root of a new, empty, detached tmpfs.
func emptyTmpfs() (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "size", "4k"); err != nil {
		return -1, fmt.Errorf("tmpfs size: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("tmpfs create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return mfd, nil
}

// memfdExe copies the binary into a memfd and seals it against any change.
func memfdExe(self *os.File) (*os.File, error) {
	fd, err := unix.MemfdCreate("lxcrun", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "lxcrun-memfd")
	// io.Copy picks copy_file_range, sendfile or read/write as the
	// kernel allows (copy_file_range across filesystems is EXDEV).
	if _, err := io.Copy(f, self); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy binary: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return f, nil
}
