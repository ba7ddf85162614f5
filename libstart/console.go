package libstart

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// setupConsole runs in the init after pivot_root (and in an exec'd process
// after it joined the mount namespace): it allocates a pty in the
// container's own devpts, sends the master to the console socket in one
// SCM_RIGHTS message, binds the slave over /dev/console (the init only) and
// makes it the controlling terminal and stdio. The slave is opened with TIOCGPTPEER from
// the master, so it is the verified peer and not whatever a path names.
func setupConsole(sock *os.File, rows, cols uint16, bind bool) error {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("console", "open /dev/ptmx", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return stageErr("console", "unlockpt", err)
	}
	sfd, err := ptyPeer(mfd)
	if err != nil {
		return stageErr("console", "open pty peer", err)
	}
	slave := os.NewFile(uintptr(sfd), "pty-slave")
	defer slave.Close()
	if rows > 0 || cols > 0 {
		ws := &unix.Winsize{Row: rows, Col: cols}
		if err := unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, ws); err != nil {
			return stageErr("console", "set window size", err)
		}
	}
	if err := SendFd(sock, master.Name(), mfd); err != nil {
		return stageErr("console", "send pty master to console socket", err)
	}
	if bind {
		if err := bindConsole(slave); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(sfd, i, 0); err != nil {
			return stageErr("console", fmt.Sprintf("dup pty to fd %d", i), err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return stageErr("console", "set controlling terminal", err)
	}
	return nil
}

// bindConsole bind mounts the pty slave over /dev/console (created as an
// empty file in the container's fresh /dev).
func bindConsole(slave *os.File) error {
	fd, err := unix.Open("/dev/console", unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o600)
	if err != nil {
		return stageErr("console", "create /dev/console", err)
	}
	f := os.NewFile(uintptr(fd), "/dev/console")
	defer f.Close()
	if err := unix.Mount(fdPath(slave), fdPath(f), "", unix.MS_BIND, ""); err != nil {
		return stageErr("console", "bind pty over /dev/console", err)
	}
	return nil
}

// ptyPeer opens the slave of master with TIOCGPTPEER (kernel 4.13+).
func ptyPeer(master int) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), uintptr(unix.TIOCGPTPEER),
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// dialUnix connects to the unix stream socket at path and returns the
// connection as a file (to pass to a child or to send fds on).
func dialUnix(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*net.UnixConn).File()
}

// SendFd sends fd with name as payload in one SCM_RIGHTS message, as runc
// does on the console socket. It goes through the file's raw connection,
// so a socket in the netpoller stays there (File.Fd would make it blocking).
func SendFd(sock *os.File, name string, fd int) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	oob := unix.UnixRights(fd)
	var serr error
	if err := rc.Write(func(s uintptr) bool {
		serr = unix.Sendmsg(int(s), []byte(name), oob, nil, 0)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

// RecvFd receives one fd sent by SendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("receive fd: %w", err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	var rerr error
	if err := rc.Read(func(s uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(s), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	}); err != nil {
		return nil, fmt.Errorf("receive fd: %w", err)
	}
	if rerr != nil {
		return nil, fmt.Errorf("receive fd: %w", rerr)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive fd: %w", err)
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil && len(fds) > 0 {
			for _, extra := range fds[1:] {
				unix.Close(extra)
			}
			return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
		}
	}
	return nil, fmt.Errorf("receive fd: no descriptor in message")
}

// syncPair makes the parent<->child socketpair of a sync channel. The
// runtime's end is non-blocking, so that waiting for the child parks the
// goroutine in the netpoller: a read blocked in the kernel instead lets
// Go's sysmon take the P away after 20 µs and wake or create a thread to
// poll the network, and back again when the read returns; with the init
// taking milliseconds per step that was hundreds of context switches per
// container. The child's end stays blocking (it is its own open file).
func syncPair(name string) (parent, child *os.File, err error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		return nil, nil, err
	}
	return os.NewFile(uintptr(pair[0]), name), os.NewFile(uintptr(pair[1]), name+"-child"), nil
}
