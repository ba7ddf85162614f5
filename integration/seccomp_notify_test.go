package integration

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompNotif and seccompNotifResp are struct seccomp_notif and
// struct seccomp_notif_resp (linux/seccomp.h).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// TestSeccompNotifyListener: with SCMP_ACT_NOTIFY rules, the runtime sends
// the notify fd and the container process state to listenerPath in one
// SCM_RIGHTS message; a listener that answers mkdir with EROFS makes mkdir
// fail with EROFS in the container. Both with no_new_privs (the filter is
// loaded at start) and without (at create).
func TestSeccompNotifyListener(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		name := "no_new_privs"
		if !nnp {
			name = "privileged_load"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sock := filepath.Join(shortTempDir(t), "agent.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := make(chan specs.ContainerProcessState, 1)
			go serveNotify(t, l, got)
			c := newCtr(t, withSh("mkdir /tmp/x 2>&1; echo rc=$?"), func(s *specs.Spec) {
				s.Process.NoNewPrivileges = nnp
				s.Linux.Seccomp = &specs.LinuxSeccomp{
					DefaultAction:    specs.ActAllow,
					ListenerPath:     sock,
					ListenerMetadata: "meta-" + name,
					Architectures:    []specs.Arch{specs.ArchX86_64},
					Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
				}
			})
			res := c.run()
			if res.Code != 0 || !strings.Contains(res.Stdout, "rc=1") || !containsFold(res.Stdout, "read-only") {
				t.Fatalf("mkdir under the notify listener: %s", res)
			}
			select {
			case st := <-got:
				if st.Metadata != "meta-"+name || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName || st.State.ID != c.id || st.Pid <= 0 {
					t.Fatalf("listener got %+v", st)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the listener never got the state")
			}
		})
	}
}

// serveNotify accepts one connection, reads the state and the notify fd,
// and answers every notification with EROFS until the fd closes.
func serveNotify(t *testing.T, l net.Listener, got chan<- specs.ContainerProcessState) {
	conn, err := l.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, 0)
	if err != nil {
		t.Error(err)
		return
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		t.Errorf("listener payload: %v: %q", err, buf[:n])
		return
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	var fd = -1
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil && len(fds) > 0 {
			fd = fds[0]
		}
	}
	if fd < 0 {
		t.Error("listener got no fd")
		return
	}
	got <- st
	notify := os.NewFile(uintptr(fd), "notify")
	defer notify.Close()
	for {
		var req seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, notify.Fd(), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			return
		}
		resp := seccompNotifResp{ID: req.ID, Error: -int32(unix.EROFS)}
		unix.Syscall(unix.SYS_IOCTL, notify.Fd(), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}
