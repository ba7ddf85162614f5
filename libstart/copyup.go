package libstart

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyUp copies the tree of the directory src (the image's directory under
// a tmpfs mount point, opened before the mount covered it) into dst (the
// new tmpfs), keeping modes, owners and symlinks: runc's and crun's
// "tmpcopyup" mount option, which podman adds to its --read-only and
// --tmpfs mounts. Everything is done relative to directory fds, with
// O_NOFOLLOW, so the image's symlinks are copied, never followed.
func copyUp(src, dst *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	// The tmpfs root takes the directory's mode and owner.
	if err := unix.Fchmod(int(dst.Fd()), st.Mode&0o7777); err != nil {
		return err
	}
	if err := unix.Fchown(int(dst.Fd()), int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return copyDir(src, dst)
}

func copyDir(src, dst *os.File) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", src.Name(), err)
	}
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		mode := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := unix.Mkdirat(dfd, name, mode); err != nil {
				return err
			}
			if err := copySubdir(sfd, dfd, name); err != nil {
				return err
			}
			// mkdir applies the umask: set the exact mode afterwards.
			if err := unix.Fchmodat(dfd, name, mode, 0); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := copyFile(sfd, dfd, name, mode); err != nil {
				return err
			}
		case unix.S_IFLNK:
			target, err := readlinkat(sfd, name)
			if err != nil {
				return err
			}
			if err := unix.Symlinkat(target, dfd, name); err != nil {
				return err
			}
		default: // fifos, sockets, device nodes
			if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
				return err
			}
		}
		if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func copySubdir(sfd, dfd int, name string) error {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	s, err := unix.Openat(sfd, name, flags, 0)
	if err != nil {
		return err
	}
	sf := os.NewFile(uintptr(s), name)
	defer sf.Close()
	d, err := unix.Openat(dfd, name, flags, 0)
	if err != nil {
		return err
	}
	df := os.NewFile(uintptr(d), name)
	defer df.Close()
	return copyDir(sf, df)
}

func copyFile(sfd, dfd int, name string, mode uint32) error {
	s, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sf := os.NewFile(uintptr(s), name)
	defer sf.Close()
	d, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	df := os.NewFile(uintptr(d), name)
	_, err = io.Copy(df, sf)
	if cerr := df.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return unix.Fchmodat(dfd, name, mode, 0)
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", errors.New("symlink target too long")
}
