package libstart

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mailru/easyjson/jwriter"
	"golang.org/x/sys/unix"
)

// socketPair returns the two ends of a connected unix stream socket, the
// same kind create uses to talk to the init.
func socketPair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// frame builds a raw message: type byte, little-endian length, body.
func frame(t byte, n uint32, body []byte) []byte {
	buf := make([]byte, 5, 5+len(body))
	buf[0] = t
	binary.LittleEndian.PutUint32(buf[1:5], n)
	return append(buf, body...)
}

// jsonPayload lets the framing tests send any JSON value (or one JSON
// cannot encode) where writeMsg takes the generated codecs.
type jsonPayload struct{ v any }

func (p jsonPayload) MarshalEasyJSON(w *jwriter.Writer) {
	b, err := json.Marshal(p.v)
	w.Raw(b, err)
}

// payload passes the generated codec of v when it has one.
func payload(v any) marshaler {
	switch v := v.(type) {
	case nil:
		return nil
	case marshaler:
		return v
	default:
		return jsonPayload{v}
	}
}

func TestMsgRoundTrip(t *testing.T) {
	payloads := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"map", map[string]int{"pid": 42}},
		{"conf", &Conf{ID: "c1", Rootfs: "/r", Namespaces: []Namespace{{Type: NSPid}},
			Process: Process{Args: []string{"sh", "-c", "echo \"hi\"\n"}, Cwd: "/"}}},
		{"large", strings.Repeat("x", 1<<20)},
	}
	for _, mt := range []msgType{msgConf, msgHooks, msgHooksDone, msgReady, msgGo, msgError, msgPid, msgExec} {
		for _, p := range payloads {
			t.Run(fmt.Sprintf("%s/%s", mt, p.name), func(t *testing.T) {
				a, b := socketPair(t)
				werr := make(chan error, 1)
				go func() { werr <- writeMsg(a, mt, payload(p.v)) }()
				gotT, body, err := readMsg(b)
				if err != nil {
					t.Fatalf("readMsg: %v", err)
				}
				if err := <-werr; err != nil {
					t.Fatalf("writeMsg: %v", err)
				}
				if gotT != mt {
					t.Errorf("type = %s, want %s", gotT, mt)
				}
				if p.v == nil {
					if len(body) != 0 {
						t.Errorf("body = %q, want empty", body)
					}
					return
				}
				want, _ := json.Marshal(p.v)
				if !bytes.Equal(body, want) {
					t.Errorf("body = %.80q, want %.80q", body, want)
				}
				if c, ok := p.v.(*Conf); ok {
					var back Conf
					if err := json.Unmarshal(body, &back); err != nil || !reflect.DeepEqual(&back, c) {
						t.Errorf("conf round trip: %+v, %v", back, err)
					}
				}
			})
		}
	}
}

// TestMsgSequence: messages keep their order and boundaries on the stream,
// and the peer closing after the last one is a clean io.EOF.
func TestMsgSequence(t *testing.T) {
	a, b := socketPair(t)
	seq := []msgType{msgConf, msgHooks, msgHooksDone, msgReady}
	for i, mt := range seq {
		var p marshaler
		if i%2 == 0 {
			p = jsonPayload{map[string]int{"n": i}}
		}
		if err := writeMsg(a, mt, p); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	for i, mt := range seq {
		got, body, err := expectMsg(b, mt)
		if err != nil || got != mt {
			t.Fatalf("message %d: %s, %v; want %s", i, got, err, mt)
		}
		if i%2 == 0 && string(body) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Errorf("message %d body %q", i, body)
		}
	}
	if _, _, err := readMsg(b); err != io.EOF {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

func TestExpectMsgOrder(t *testing.T) {
	tests := []struct {
		name    string
		send    msgType
		want    []msgType
		ok      bool
		errMsgs []string
	}{
		{"expected", msgReady, []msgType{msgReady}, true, nil},
		{"one of several", msgHooks, []msgType{msgReady, msgHooks}, true, nil},
		{"unexpected", msgHooks, []msgType{msgReady}, false, []string{"hooks", "ready"}},
		{"unexpected of several", msgGo, []msgType{msgHooks, msgHooksDone}, false, []string{"go", "hooks", "hooks-done"}},
		{"nothing expected", msgReady, nil, false, []string{"ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := socketPair(t)
			if err := writeMsg(a, tt.send, jsonPayload{map[string]string{"k": "v"}}); err != nil {
				t.Fatal(err)
			}
			got, body, err := expectMsg(b, tt.want...)
			if tt.ok {
				if err != nil || got != tt.send || string(body) != `{"k":"v"}` {
					t.Errorf("expectMsg = %s %q %v", got, body, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("expectMsg(%v) accepted %s", tt.want, tt.send)
			}
			var se *StageError
			if errors.As(err, &se) {
				t.Errorf("order error is a StageError: %v", err)
			}
			for _, s := range tt.errMsgs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestExpectMsgStageError(t *testing.T) {
	tests := []struct {
		name      string
		sent      *StageError
		wantErrno error
		notErrno  error
	}{
		{"with errno", &StageError{Stage: "rootfs", Op: "mount /proc", Errno: uint64(syscall.ENOENT), Msg: "no such file or directory"}, syscall.ENOENT, syscall.EPERM},
		{"without errno", &StageError{Stage: "hooks", Msg: "createContainer hook failed"}, nil, syscall.ENOENT},
		{"large errno", &StageError{Stage: "exec", Op: "execve", Errno: uint64(syscall.ENOEXEC), Msg: "exec format error"}, syscall.ENOEXEC, syscall.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := socketPair(t)
			if err := writeMsg(a, msgError, tt.sent); err != nil {
				t.Fatal(err)
			}
			got, body, err := expectMsg(b, msgReady)
			if got != msgError || body != nil {
				t.Errorf("type %s body %q, want error and no body", got, body)
			}
			var se *StageError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *StageError", err, err)
			}
			if !reflect.DeepEqual(se, tt.sent) {
				t.Errorf("StageError = %+v, want %+v", se, tt.sent)
			}
			if tt.wantErrno != nil && !errors.Is(err, tt.wantErrno) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErrno)
			}
			if errors.Is(err, tt.notErrno) {
				t.Errorf("errors.Is(%v, %v) = true", err, tt.notErrno)
			}
			if se.Errno == 0 && se.Unwrap() != nil {
				t.Errorf("Unwrap() = %v without errno", se.Unwrap())
			}
		})
	}
}

func TestExpectMsgBadErrorBody(t *testing.T) {
	for _, body := range []string{"", "not json", `{"stage":1}`} {
		a, b := socketPair(t)
		if _, err := a.Write(frame(byte(msgError), uint32(len(body)), []byte(body))); err != nil {
			t.Fatal(err)
		}
		_, _, err := expectMsg(b, msgReady)
		if err == nil || !strings.Contains(err.Error(), "decode error message") {
			t.Errorf("error body %q: %v", body, err)
		}
	}
}

func TestSendError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want StageError
	}{
		{"plain errno", fmt.Errorf("open /x: %w", unix.EACCES), StageError{Stage: "init", Errno: uint64(unix.EACCES), Msg: "open /x: permission denied"}},
		{"no errno", errors.New("boom"), StageError{Stage: "init", Msg: "boom"}},
		{"stage error kept", fmt.Errorf("wrapped: %w", &StageError{Stage: "console", Op: "unlockpt", Errno: uint64(unix.EIO), Msg: "io"}),
			StageError{Stage: "console", Op: "unlockpt", Errno: uint64(unix.EIO), Msg: "io"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := socketPair(t)
			sendError(a, tt.err)
			_, _, err := expectMsg(b, msgReady)
			var se *StageError
			if !errors.As(err, &se) || *se != tt.want {
				t.Errorf("received %#v, want %#v", err, tt.want)
			}
		})
	}
}

// TestReadMsgMalformed: every broken frame is an error, never a message.
func TestReadMsgMalformed(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		msg     string // substring of the error
		wantEOF bool   // whether errors.Is(err, io.EOF) must hold
	}{
		{"nothing", nil, "EOF", true},
		{"1-byte header", []byte{byte(msgReady)}, "truncated message header", false},
		{"4-byte header", []byte{byte(msgReady), 1, 0, 0}, "truncated message header", false},
		{"truncated body", frame(byte(msgConf), 10, []byte("abcd")), "truncated conf message", false},
		{"unknown type 0", frame(0, 0, nil), "unknown message type 0", false},
		{"unknown type after the last", frame(byte(msgLast+1), 2, []byte("{}")), fmt.Sprintf("unknown message type %d", msgLast+1), false},
		{"unknown type 255", frame(255, 0, nil), "unknown message type 255", false},
		{"oversized", frame(byte(msgConf), maxMsgSize+1, nil), "too large", false},
		{"huge", frame(byte(msgError), 0xffffffff, []byte("x")), "too large", false},
		{"max size but missing body", frame(byte(msgReady), maxMsgSize, []byte("{")), "truncated ready message", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := socketPair(t)
			if len(tt.raw) > 0 {
				if _, err := a.Write(tt.raw); err != nil {
					t.Fatal(err)
				}
			}
			a.Close()
			got, body, err := readMsg(b)
			if err == nil {
				t.Fatalf("readMsg(%q) = %s %q, want error", tt.raw, got, body)
			}
			if got != 0 || body != nil {
				t.Errorf("readMsg returned %s %q with the error", got, body)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if errors.Is(err, io.EOF) != tt.wantEOF {
				t.Errorf("errors.Is(%q, io.EOF) = %v, want %v", err, !tt.wantEOF, tt.wantEOF)
			}
			if tt.wantEOF && err != io.EOF {
				t.Errorf("EOF before a message = %#v, want io.EOF itself", err)
			}
			// expectMsg reports the same failure.
			if _, _, err2 := expectMsg(bytes.NewReader(tt.raw), msgConf); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("expectMsg error %v, readMsg error %v", err2, err)
			}
		})
	}
}

// TestReadMsgTruncatedBodyIsNotEOF: a message whose header arrived but whose
// body did not is a truncated message, not the clean end of the stream. The
// start verb treats io.EOF from the park socket as "execve happened".
func TestReadMsgTruncatedBodyIsNotEOF(t *testing.T) {
	for _, mt := range []msgType{msgError, msgConf} {
		a, b := socketPair(t)
		if _, err := a.Write(frame(byte(mt), 16, nil)); err != nil {
			t.Fatal(err)
		}
		a.Close()
		_, _, err := readMsg(b)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("readMsg: %v, want a truncated-message error", err)
		}
		if errors.Is(err, io.EOF) {
			t.Errorf("%s header without body: errors.Is(%q, io.EOF) = true; want only io.ErrUnexpectedEOF", mt, err)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s header without body: errors.Is(%q, io.ErrUnexpectedEOF) = false", mt, err)
		}
	}
}

func TestWriteMsgErrors(t *testing.T) {
	// A payload JSON cannot encode.
	if err := writeMsg(io.Discard, msgConf, jsonPayload{func() {}}); err == nil || !strings.Contains(err.Error(), "encode conf message") {
		t.Errorf("writeMsg(func): %v", err)
	}
	// A closed peer.
	a, b := socketPair(t)
	b.Close()
	err := writeMsg(a, msgGo, nil)
	if err == nil || !strings.Contains(err.Error(), "send go message") || !errors.Is(err, syscall.EPIPE) {
		t.Errorf("writeMsg to a closed peer: %v", err)
	}
	// The frame layout itself.
	var buf bytes.Buffer
	if err := writeMsg(&buf, msgReady, jsonPayload{map[string]int{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	if want := frame(byte(msgReady), 7, []byte(`{"a":1}`)); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("frame = %q, want %q", buf.Bytes(), want)
	}
}

func TestMsgTypeString(t *testing.T) {
	want := map[msgType]string{
		msgConf: "conf", msgHooks: "hooks", msgHooksDone: "hooks-done", msgReady: "ready",
		msgGo: "go", msgError: "error", msgPid: "pid", msgExec: "exec", 0: "msg(0)", 200: "msg(200)",
	}
	for mt, s := range want {
		if mt.String() != s {
			t.Errorf("msgType(%d).String() = %q, want %q", uint8(mt), mt.String(), s)
		}
	}
}

func TestStageErrorText(t *testing.T) {
	tests := []struct {
		e    StageError
		want string
	}{
		{StageError{Stage: "rootfs", Op: "pivot_root", Msg: "invalid argument"}, "rootfs: pivot_root: invalid argument"},
		{StageError{Stage: "hooks", Msg: "failed"}, "hooks: failed"},
		{StageError{Stage: "exec", Op: "execve /bin/sh", Errno: uint64(syscall.ENOENT), Msg: "no such file"}, "exec: execve /bin/sh: no such file"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestStageErr(t *testing.T) {
	existing := &StageError{Stage: "mounts", Op: "mount /proc", Errno: uint64(syscall.EBUSY), Msg: "busy"}
	if got := stageErr("init", "other", fmt.Errorf("outer: %w", existing)); got != existing {
		t.Errorf("stageErr replaced an existing StageError: %+v", got)
	}
	got := stageErr("console", "open /dev/ptmx", fmt.Errorf("open: %w", syscall.ENXIO))
	want := &StageError{Stage: "console", Op: "open /dev/ptmx", Errno: uint64(syscall.ENXIO), Msg: "open: no such device or address"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stageErr = %+v, want %+v", got, want)
	}
	if !errors.Is(got, syscall.ENXIO) {
		t.Errorf("errors.Is(stageErr, ENXIO) = false")
	}
	plain := stageErr("hooks", "", errors.New("x"))
	if plain.Errno != 0 || plain.Error() != "hooks: x" {
		t.Errorf("stageErr without errno = %+v", plain)
	}
}

// FuzzReadMsg: no byte stream makes the protocol reader panic, and every
// message it accepts is well-formed.
func FuzzReadMsg(f *testing.F) {
	f.Add([]byte{})
	f.Add(frame(byte(msgReady), 0, nil))
	f.Add(frame(byte(msgConf), 2, []byte("{}")))
	f.Add(frame(byte(msgError), 40, []byte(`{"stage":"rootfs","op":"x","errno":2,"msg":"m"}`)[:40]))
	f.Add(frame(byte(msgError), 47, []byte(`{"stage":"rootfs","op":"x","errno":2,"msg":"m"}`)))
	f.Add(frame(byte(msgError), 11, []byte(`{"errno":-1}`)))
	f.Add(frame(byte(msgGo), 4, []byte("ab")))
	f.Add(frame(byte(msgLast+1), 0, nil))
	f.Add(frame(byte(msgPid), 4, []byte("1234")))
	f.Add(frame(byte(msgHooks), maxMsgSize+1, nil))
	f.Add(append(frame(byte(msgHooks), 0, nil), frame(byte(msgReady), 0, nil)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		mt, body, err := readMsg(bytes.NewReader(data))
		if err == nil {
			if mt < msgConf || mt > msgLast {
				t.Fatalf("accepted type %d", mt)
			}
			if len(body) > maxMsgSize || len(data) < 5+len(body) {
				t.Fatalf("body of %d bytes from %d input bytes", len(body), len(data))
			}
			if !bytes.Equal(frame(byte(mt), uint32(len(body)), body), data[:5+len(body)]) {
				t.Fatal("accepted message does not re-encode to its input")
			}
		} else if mt != 0 || body != nil {
			t.Fatal("message returned with an error")
		}
		mt2, body2, err2 := expectMsg(bytes.NewReader(data), msgConf, msgReady)
		if err2 == nil && mt2 != msgConf && mt2 != msgReady {
			t.Fatalf("expectMsg accepted %s", mt2)
		}
		if mt2 == msgError {
			var se *StageError
			if !errors.As(err2, &se) || body2 != nil {
				t.Fatalf("error message returned as %v", err2)
			}
			_ = se.Error()
		}
	})
}
