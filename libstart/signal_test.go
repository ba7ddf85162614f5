package libstart

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
	}{
		{"9", unix.SIGKILL},
		{"1", unix.SIGHUP},
		{"15", unix.SIGTERM},
		{"34", unix.Signal(34)}, // SIGRTMIN by number
		{"64", unix.Signal(64)}, // SIGRTMAX by number
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"sigterm", unix.SIGTERM},
		{"SigTerm", unix.SIGTERM},
		{"TERM", unix.SIGTERM},
		{"USR1", unix.SIGUSR1},
		{"SIGUSR2", unix.SIGUSR2},
		{"HUP", unix.SIGHUP},
		{"winch", unix.SIGWINCH},
		{"SIGCHLD", unix.SIGCHLD},
		{"STOP", unix.SIGSTOP},
		{"CONT", unix.SIGCONT},
		{"SIGSYS", unix.SIGSYS},
		{"PWR", unix.SIGPWR},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSignalErrors(t *testing.T) {
	// unix.SignalNum knows only the 31 named standard signals: real-time
	// signals are accepted by number only, as with runc.
	for _, in := range []string{"0", "65", "-1", "100", "FOO", "SIGFOO", "", "SIG", "SIGRTMIN", "RTMIN+1", " 9", "9 ", "KILL9", "SIGSIGKILL"} {
		got, err := ParseSignal(in)
		if err == nil {
			t.Errorf("ParseSignal(%q) = %d, want error", in, got)
			continue
		}
		if got != 0 {
			t.Errorf("ParseSignal(%q) returned signal %d with an error", in, got)
		}
		if !strings.Contains(err.Error(), "signal") {
			t.Errorf("ParseSignal(%q) error %q", in, err)
		}
	}
}

// TestKillStates: kill refuses a container whose init is gone, with runc's
// text, and never signals anything for it.
func TestKillStates(t *testing.T) {
	tests := []struct {
		name     string
		recorded string
		start    func(uint64) uint64
	}{
		{"stopped record", StatusStopped, func(s uint64) uint64 { return s }},
		{"dead init", StatusRunning, func(s uint64) uint64 { return s + 1 }},
		{"dead create", StatusCreating, func(s uint64) uint64 { return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			c, err := newContainer(root, "k")
			if err != nil {
				t.Fatal(err)
			}
			// The recorded pid is the test process itself: a wrong
			// start time or status must keep it from being signalled
			// (SIGWINCH is harmless should it be sent anyway).
			c.State = State{ID: "k", Status: tt.recorded, Pid: os.Getpid(), PidStartTime: tt.start(selfStart(t))}
			if err := c.Save(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if err := Kill(root, "k", unix.SIGWINCH, false); err != ErrNotRunning {
				t.Errorf("Kill = %v, want %v", err, ErrNotRunning)
			}
		})
	}
	if err := Kill(t.TempDir(), "nope", unix.SIGTERM, false); err != ErrNotExist {
		t.Errorf("Kill of an unknown id = %v, want %v", err, ErrNotExist)
	}
}
