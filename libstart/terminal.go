package libstart

import (
	"io"
	"os"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// terminal relays a foreground container's pty (run -t without
// --console-socket): the caller's terminal goes raw, input is copied to the
// pty master and output back, and window size changes follow.
type terminal struct {
	recv    *os.File // our end of the console socketpair
	master  *os.File
	current console.Console
	outDone chan struct{}
}

func (t *terminal) attach() error {
	master, err := RecvFd(t.recv)
	if err != nil {
		return err
	}
	t.master = master
	if cur, err := console.ConsoleFromFile(os.Stdin); err == nil {
		t.current = cur
		_ = cur.SetRaw()
		t.resize()
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	t.outDone = make(chan struct{})
	go func() {
		_, _ = io.Copy(os.Stdout, master)
		close(t.outDone)
	}()
	return nil
}

// resize copies the caller's window size to the pty.
func (t *terminal) resize() {
	if t.current == nil || t.master == nil {
		return
	}
	sz, err := t.current.Size()
	if err != nil {
		return
	}
	ws := &unix.Winsize{Row: sz.Height, Col: sz.Width}
	_ = unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
}

// drain waits briefly for the last output after the process exited.
func (t *terminal) drain() {
	if t.outDone == nil {
		return
	}
	select {
	case <-t.outDone:
	case <-time.After(time.Second):
	}
}

func (t *terminal) restore() {
	if t.current != nil {
		_ = t.current.Reset()
	}
	if t.master != nil {
		t.master.Close()
	}
}
