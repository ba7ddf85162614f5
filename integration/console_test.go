package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleReceiver listens on a unix socket for the pty master that the
// runtime sends with SCM_RIGHTS, as containerd's and conmon's receivers do.
type consoleReceiver struct {
	path string
	ln   *net.UnixListener
	got  chan consoleFd
}

type consoleFd struct {
	f   *os.File
	err error
}

func newConsoleReceiver(t *testing.T) *consoleReceiver {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	r := &consoleReceiver{path: path, ln: ln, got: make(chan consoleFd, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() { r.got <- r.accept() }()
	return r
}

func (r *consoleReceiver) accept() consoleFd {
	conn, err := r.ln.AcceptUnix()
	if err != nil {
		return consoleFd{err: err}
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return consoleFd{err: err}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return consoleFd{err: err}
	}
	if len(msgs) != 1 {
		return consoleFd{err: fmt.Errorf("got %d control messages, want 1", len(msgs))}
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return consoleFd{err: err}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return consoleFd{err: fmt.Errorf("got %d fds, want 1", len(fds))}
	}
	// Non-blocking, so that os.File read deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return consoleFd{err: err}
	}
	return consoleFd{f: os.NewFile(uintptr(fds[0]), "pty-master")}
}

// wait returns the received master, or fails after the deadline.
func (r *consoleReceiver) wait(t *testing.T) *os.File {
	t.Helper()
	select {
	case got := <-r.got:
		if got.err != nil {
			t.Fatalf("console socket: %v", got.err)
		}
		t.Cleanup(func() { got.f.Close() })
		return got.f
	case <-time.After(deadline):
		t.Fatal("no console fd received on the console socket")
		return nil
	}
}

// readUntil reads f until out contains want, EOF/EIO or the deadline.
func readUntil(f *os.File, want string) string {
	var out strings.Builder
	buf := make([]byte, 4096)
	f.SetReadDeadline(time.Now().Add(deadline))
	for !strings.Contains(out.String(), want) {
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return out.String()
}

// TestConsoleSocket: with process.terminal and --console-socket, create sends
// a pty master; the container's process runs on the matching slave.
func TestConsoleSocket(t *testing.T) {
	t.Parallel()
	recv := newConsoleReceiver(t)
	script := "tty; stat -c 'console %t:%T' /dev/console; stat -c 'tty %t:%T' $(tty); echo marker-$((40+2))"
	c := newCtr(t, withSh(script), func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	c.create("--console-socket", recv.path).mustSucceed(t)
	master := recv.wait(t)

	// TIOCGPTN only works on a pty master; it gives the slave's number.
	ptn, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("received fd is not a pty master: TIOCGPTN: %v", err)
	}
	c.start().mustSucceed(t)
	out := readUntil(master, "marker-42")
	if !strings.Contains(out, "marker-42") {
		t.Fatalf("did not read the process output from the pty master; got %q", out)
	}
	m := regexp.MustCompile(`/dev/pts/([0-9]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tty did not print a /dev/pts path: %q", out)
	}
	if m[1] != fmt.Sprint(ptn) {
		t.Errorf("process runs on /dev/pts/%s, but the master sent is pty %d", m[1], ptn)
	}
	// /dev/console is the same pty (bound over it)
	dev := regexp.MustCompile(`(console|tty) ([0-9a-f]+:[0-9a-f]+)`).FindAllStringSubmatch(out, -1)
	if len(dev) != 2 || dev[0][1] != "console" || dev[0][2] != dev[1][2] {
		t.Errorf("/dev/console is not the container's pty: %q", out)
	}
	c.waitStatus(specs.StateStopped)
}

// TestConsoleStdin: what is written to the master reaches the process.
func TestConsoleStdin(t *testing.T) {
	t.Parallel()
	recv := newConsoleReceiver(t)
	c := newCtr(t, withSh("read line; echo got-$line"), func(s *specs.Spec) {
		s.Process.Terminal = true
	})
	c.create("--console-socket", recv.path).mustSucceed(t)
	master := recv.wait(t)
	c.start().mustSucceed(t)
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if out := readUntil(master, "got-hello"); !strings.Contains(out, "got-hello") {
		t.Fatalf("process did not echo its terminal input: %q", out)
	}
}
