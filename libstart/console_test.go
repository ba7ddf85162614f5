package libstart

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSendRecvFd: a descriptor and its name cross the sync socketpair in
// both directions: from the runtime's non-blocking end (which must wait in
// the netpoller rather than fail with EAGAIN when nothing has arrived yet)
// and from the child's blocking end.
func TestSendRecvFd(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		toRT  bool // child end sends, runtime end receives
	}{
		{"runtime receives, sent at once", 0, true},
		{"runtime receives, sent later", 50 * time.Millisecond, true},
		{"child receives", 0, false},
		{"child receives, sent later", 50 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rtEnd, childEnd, err := syncPair("sync")
			if err != nil {
				t.Fatal(err)
			}
			defer rtEnd.Close()
			defer childEnd.Close()
			for _, end := range []struct {
				f    *os.File
				want bool
			}{{rtEnd, true}, {childEnd, false}} {
				rc, err := end.f.SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				var fl int
				_ = rc.Control(func(fd uintptr) { fl, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
				if got := fl&unix.O_NONBLOCK != 0; err != nil || got != end.want {
					t.Fatalf("%s non-blocking = %v (%v), want %v", end.f.Name(), got, err, end.want)
				}
			}
			from, to := rtEnd, childEnd
			if tt.toRT {
				from, to = childEnd, rtEnd
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			sent := make(chan error, 1)
			go func() {
				time.Sleep(tt.delay)
				sent <- SendFd(from, "pipe-r", int(r.Fd()))
			}()
			got, err := RecvFd(to)
			if err != nil {
				t.Fatalf("RecvFd: %v", err)
			}
			defer got.Close()
			if err := <-sent; err != nil {
				t.Fatalf("SendFd: %v", err)
			}
			if got.Name() != "pipe-r" {
				t.Errorf("name %q, want pipe-r", got.Name())
			}
			// It is the same pipe: what is written comes out of it.
			if _, err := w.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1)
			if n, err := got.Read(buf); n != 1 || err != nil || buf[0] != 'x' {
				t.Errorf("read from received fd: %d %v %q", n, err, buf)
			}
		})
	}
}
