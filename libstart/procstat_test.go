package libstart

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// statLine builds a /proc/<pid>/stat line with 52 fields, as Linux 5.x and
// later print it: every numeric field holds its own field number, except
// field 22 (starttime).
func statLine(pid int, comm string, state byte, start string) string {
	fields := []string{strconv.Itoa(pid), "(" + comm + ")", string(state)}
	for n := 4; n <= 52; n++ {
		if n == 22 {
			fields = append(fields, start)
			continue
		}
		fields = append(fields, strconv.Itoa(n))
	}
	return strings.Join(fields, " ") + "\n"
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want ProcStat
	}{
		{"plain", statLine(1234, "bash", 'S', "987654"), ProcStat{State: 'S', StartTime: 987654}},
		{"comm with spaces and parens", statLine(1234, "my (weird) proc", 'R', "42"), ProcStat{State: 'R', StartTime: 42}},
		{"comm is a paren", statLine(7, ")", 'D', "5"), ProcStat{State: 'D', StartTime: 5}},
		{"comm that looks like fields", statLine(7, "x) Z 1 2 3 (", 'S', "99"), ProcStat{State: 'S', StartTime: 99}},
		{"empty comm", statLine(7, "", 'I', "1"), ProcStat{State: 'I', StartTime: 1}},
		{"zombie", statLine(8, "sh", 'Z', "123"), ProcStat{State: 'Z', StartTime: 123}},
		{"max start time", statLine(8, "sh", 'S', "18446744073709551615"), ProcStat{State: 'S', StartTime: 1<<64 - 1}},
		{"no trailing newline", strings.TrimSuffix(statLine(9, "a", 'T', "77"), "\n"), ProcStat{State: 'T', StartTime: 77}},
		{"only up to field 22", "9 (a) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 31337", ProcStat{State: 'S', StartTime: 31337}},
		{"real line", "1 (systemd) S 0 1 1 0 -1 4194560 128866 11402587 117 3101 1013 829 64519 18347 20 0 1 0 30 173297664 2979 18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 2 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			ProcStat{State: 'S', StartTime: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.line))
			if err != nil {
				t.Fatalf("ParseProcStat(%q): %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("ParseProcStat(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseProcStatMalformed(t *testing.T) {
	full := statLine(1, "a", 'S', "100")
	tests := []struct{ name, line string }{
		{"empty", ""},
		{"pid only", "1234"},
		{"no closing paren", "1234 (bash S 1 2 3"},
		{"nothing after comm", "1234 (bash)"},
		{"space after comm", "1234 (bash) "},
		{"state only", "1234 (bash) S"},
		{"one field short", "9 (a) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"},
		{"long state", strings.Replace(full, ") S ", ") SS ", 1)},
		{"start time not a number", statLine(1, "a", 'S', "abc")},
		{"negative start time", statLine(1, "a", 'S', "-1")},
		{"start time overflows", statLine(1, "a", 'S', "18446744073709551616")},
		{"fields hidden in comm", "1 (a S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.line))
			if err == nil {
				t.Fatalf("ParseProcStat(%q) = %+v, want error", tt.line, got)
			}
			if !strings.Contains(err.Error(), "malformed /proc/pid/stat") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestReadProcStatSelf(t *testing.T) {
	st, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The main thread of the test binary may be running or sleeping.
	if (st.State != 'R' && st.State != 'S') || st.StartTime == 0 {
		t.Errorf("own stat = %+v, want a live state and a start time", st)
	}
	if _, err := ReadProcStat(-5); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadProcStat(-5): %v, want ErrNotExist", err)
	}
}

// TestHelperProcess is not a test: it is the child of TestAlive, blocking
// until its stdin is closed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("LXCRUN_TEST_HELPER") != "block" {
		t.Skip("helper process")
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func TestAlive(t *testing.T) {
	self, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "LXCRUN_TEST_HELPER=block")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	child, err := ReadProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	childAlive := Alive(pid, child.StartTime)
	stdin.Close()
	// Wait for the exit without reaping: the child stays a zombie.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("waitid: %v", err)
	}
	zombie, zerr := ReadProcStat(pid)
	zombieAlive := Alive(pid, child.StartTime)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	reapedAlive := Alive(pid, child.StartTime)

	tests := []struct {
		name  string
		got   bool
		want  bool
		extra string
	}{
		{"self with its start time", Alive(os.Getpid(), self.StartTime), true, ""},
		{"self without start time check", Alive(os.Getpid(), 0), true, ""},
		{"self with a wrong start time", Alive(os.Getpid(), self.StartTime+1), false, ""},
		{"pid 0", Alive(0, 0), false, ""},
		{"negative pid", Alive(-1, self.StartTime), false, ""},
		{"running child", childAlive, true, ""},
		{"zombie child", zombieAlive, false, "state " + string(zombie.State)},
		{"reaped child", reapedAlive, false, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("Alive(%s) = %v, want %v %s", tt.name, tt.got, tt.want, tt.extra)
		}
	}
	if zerr != nil || zombie.State != 'Z' || zombie.StartTime != child.StartTime {
		t.Errorf("zombie stat = %+v, %v; want state Z, start %d", zombie, zerr, child.StartTime)
	}
}

// FuzzParseProcStat: no input makes the parser panic, and what it accepts
// has a state letter after the last ')'.
func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte(statLine(1234, "my (weird) proc", 'S', "42")))
	f.Add([]byte(statLine(1, ")", 'Z', "0")))
	f.Add([]byte("1 (a)"))
	f.Add([]byte(")"))
	f.Add([]byte("1 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -1"))
	f.Add([]byte(""))
	if data, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseProcStat(data)
		if err != nil {
			if st != (ProcStat{}) {
				t.Fatalf("stat %+v returned with an error", st)
			}
			return
		}
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			t.Fatal("accepted input without ')'")
		}
		if f := strings.Fields(string(data[i+1:])); len(f) < 20 || f[0] != string([]byte{st.State}) {
			t.Fatalf("accepted %q as state %q", data, st.State)
		}
	})
}
