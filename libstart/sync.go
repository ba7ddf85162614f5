package libstart

// The parent <-> init protocol. One connected stream socket (socketpair)
// carries framed messages during create; the park socket carries the start
// exchange. Every message is a 1-byte type, a 4-byte little-endian length
// and a JSON payload.
//
//	create (parent)                         init (child)
//	     |  ---- msgConf {Conf} ---------------> |  namespaces, mounts, devices
//	     |  <--- msgHooks ---------------------- |  (before pivot_root)
//	     |  run prestart, createRuntime hooks    |
//	     |  ---- msgHooksDone -----------------> |  createContainer hooks,
//	     |                                       |  pivot_root, masks, sysctl,
//	     |                                       |  console, user, caps
//	     |  <--- msgReady ---------------------- |  accept() on the park socket
//	  exit                                       |
//	start                                        |
//	     |  ---- msgGo (park socket) ----------> |  startContainer hooks, execve
//	     |  <--- EOF (CLOEXEC: exec happened) -- |
//	     |  <--- msgError (exec failed) -------- |
//
// exec uses the same framing between `lxcrun exec` and its helper:
//
//	exec (parent)                           helper (constructor, then Go)
//	     |                                       |  setns(pidfd), clone(CLONE_PARENT)
//	     |  <--- msgPid {host pid} ------------- |  (the constructor, then it exits)
//	     |  place the child in the cgroup        |
//	     |  ---- msgExec {Process} ------------> |  console, final setup
//	     |  <--- EOF (exec happened) ----------- |
//	     |  <--- msgError ---------------------- |
//
// At any point the init may send msgError instead of the expected message;
// it carries the stage, the operation, the errno and a message, so that a
// failure names where it happened.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/lxcrun/lxcrun/libstart/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// msgType is the kind of a sync message.
type msgType uint8

const (
	msgConf msgType = iota + 1
	msgHooks
	msgHooksDone
	msgReady
	msgGo
	msgError
	// msgPid is written by the nsenter constructor (C); its value is
	// MSG_PID in libstart/nsenter.
	msgPid
	msgExec
	// msgSeccompFd is followed by one byte carrying the seccomp notify fd
	// in SCM_RIGHTS; the receiver forwards it to the listener.
	msgSeccompFd
	msgLast = msgSeccompFd
)

func (t msgType) String() string {
	switch t {
	case msgConf:
		return "conf"
	case msgHooks:
		return "hooks"
	case msgHooksDone:
		return "hooks-done"
	case msgReady:
		return "ready"
	case msgGo:
		return "go"
	case msgError:
		return "error"
	case msgPid:
		return "pid"
	case msgExec:
		return "exec"
	case msgSeccompFd:
		return "seccomp-fd"
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

// maxMsgSize bounds a message so a corrupt length cannot make the reader
// allocate without limit.
const maxMsgSize = 16 << 20

// StageError is an error raised inside the init, carried back to the
// runtime: the stage (e.g. "rootfs"), the operation, the errno and a
// message. Its text names all of them.
//
//easyjson:json
type StageError struct {
	Stage string `json:"stage"`
	Op    string `json:"op"`
	Errno uint64 `json:"errno,omitempty"`
	Msg   string `json:"msg"`
}

func (e *StageError) Error() string {
	if e.Op == "" {
		return e.Stage + ": " + e.Msg
	}
	return e.Stage + ": " + e.Op + ": " + e.Msg
}

// Unwrap exposes the errno so callers can match it with errors.Is.
func (e *StageError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return syscall.Errno(e.Errno)
}

// stageErr wraps err as a StageError of stage and op.
func stageErr(stage, op string, err error) *StageError {
	var se *StageError
	if errors.As(err, &se) {
		return se
	}
	e := &StageError{Stage: stage, Op: op, Msg: err.Error()}
	e.Errno = errnoOf(err)
	return e
}

// writeMsg sends one framed message; payload may be nil.
func writeMsg(w io.Writer, t msgType, payload marshaler) error {
	var body []byte
	if payload != nil {
		var err error
		if body, err = encodeJSON(payload); err != nil {
			return fmt.Errorf("encode %s message: %w", t, err)
		}
	}
	buf := make([]byte, 5+len(body))
	buf[0] = byte(t)
	binary.LittleEndian.PutUint32(buf[1:5], uint32(len(body)))
	copy(buf[5:], body)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("send %s message: %w", t, err)
	}
	return nil
}

// readMsg reads one framed message. io.EOF is returned as is when the peer
// closed the connection before a message started.
func readMsg(r io.Reader) (msgType, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("truncated message header: %w", err)
		}
		return 0, nil, err
	}
	t := msgType(hdr[0])
	if t < msgConf || t > msgLast {
		return 0, nil, fmt.Errorf("unknown message type %d", hdr[0])
	}
	n := binary.LittleEndian.Uint32(hdr[1:5])
	if n > maxMsgSize {
		return 0, nil, fmt.Errorf("%s message of %d bytes is too large", t, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		// A body cut short, even before its first byte, is never a
		// clean EOF: start reads EOF as "execve happened".
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("truncated %s message: %w", t, err)
	}
	return t, body, nil
}

// expectMsg reads the next message and checks it is one of want; an error
// message from the peer is returned as its *StageError. This is the order
// check: anything out of sequence is a protocol error.
func expectMsg(r io.Reader, want ...msgType) (msgType, []byte, error) {
	t, body, err := readMsg(r)
	if err != nil {
		return 0, nil, err
	}
	if t == msgError {
		var se StageError
		if err := decodeJSON(body, &se); err != nil {
			return 0, nil, fmt.Errorf("decode error message: %w", err)
		}
		return t, nil, &se
	}
	for _, w := range want {
		if t == w {
			return t, body, nil
		}
	}
	return 0, nil, fmt.Errorf("sync protocol: got %s message, want %v", t, want)
}

// sendSeccompFd passes the notify fd up the sync channel: the framed
// message, then one byte with the fd. The receiver reads exactly the frame
// first, so the fd byte is never consumed by a plain read.
func sendSeccompFd(sock *os.File, fd int) error {
	defer unix.Close(fd)
	if err := writeMsg(sock, msgSeccompFd, nil); err != nil {
		return err
	}
	if err := SendFd(sock, "s", fd); err != nil {
		return fmt.Errorf("send seccomp notify fd: %w", err)
	}
	return nil
}

// forwardSeccompFd receives the notify fd that follows a msgSeccompFd and
// hands it to the config's listener, with the container process state, in
// one SCM_RIGHTS message as runc does.
func forwardSeccompFd(sock *os.File, prog *seccomp.Program, state OCIState) error {
	f, err := RecvFd(sock)
	if err != nil {
		return err
	}
	defer f.Close()
	if prog == nil || prog.ListenerPath == "" {
		return errors.New("seccomp notify fd without a listener")
	}
	payload, err := json.Marshal(specs.ContainerProcessState{
		Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: state.Pid,
		Metadata: prog.ListenerMetadata, State: state.State,
	})
	if err != nil {
		return err
	}
	conn, err := dialUnix(prog.ListenerPath)
	if err != nil {
		return fmt.Errorf("connect to seccomp listener %s: %w", prog.ListenerPath, err)
	}
	defer conn.Close()
	if err := SendFd(conn, string(payload), int(f.Fd())); err != nil {
		return fmt.Errorf("send to seccomp listener: %w", err)
	}
	return nil
}

// sendError reports a failure to the peer; errors sending it are ignored
// because the init is about to exit anyway.
func sendError(w io.Writer, err error) {
	var se *StageError
	if !errors.As(err, &se) {
		se = stageErr("init", "", err)
	}
	_ = writeMsg(w, msgError, se)
}
