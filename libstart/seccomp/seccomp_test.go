package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func uintp(v uint) *uint { return &v }

// smallProfile is a deny-by-default profile in the shape of Docker's.
func smallProfile() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uintp(uint(unix.ENOSYS)),
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit", "exit_group"}, Action: specs.ActAllow},
			// personality(PER_LINUX32 & 0xffff)
			{Names: []string{"personality"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffff, ValueTwo: 8, Op: specs.OpMaskedEqual}}},
			// two conditions on the same argument
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: unix.AF_UNIX, Op: specs.OpEqualTo},
				{Index: 0, Value: unix.AF_INET, Op: specs.OpEqualTo}}},
			// conditions on different arguments
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: unix.CLONE_NEWUSER, ValueTwo: 0, Op: specs.OpMaskedEqual},
				{Index: 1, Value: 0, Op: specs.OpNotEqual}}},
			{Names: []string{"no_such_syscall_at_all"}, Action: specs.ActAllow},
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: uintp(1)},
			{Names: []string{"ptrace"}, Action: specs.ActKillProcess},
		},
	}
}

func mustCompile(t *testing.T, cfg *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if len(p.Filter) == 0 || len(p.Filter)%8 != 0 {
		t.Fatalf("Filter of %d bytes is not a BPF program", len(p.Filter))
	}
	return p
}

func TestCompileSmallProfile(t *testing.T) {
	p := mustCompile(t, smallProfile())
	if p.Flags != 0 {
		t.Errorf("Flags = %#x, want 0", p.Flags)
	}
	// BPF_RET is class 0x06: the program must end with a return.
	last := p.Filter[len(p.Filter)-8:]
	if code := uint16(last[0]) | uint16(last[1])<<8; runtime.GOARCH == "amd64" && code&0x07 != 0x06 {
		t.Errorf("last instruction code %#x is not a return", code)
	}
	// Compiling is deterministic (the program is cached by hash).
	if again := mustCompile(t, smallProfile()); !bytes.Equal(again.Filter, p.Filter) {
		t.Error("two compilations of the same profile differ")
	}
}

// TestCompileEquivalences checks that profiles which must give the same
// filter do, and that those which must differ do.
func TestCompileEquivalences(t *testing.T) {
	allow := func(sc ...specs.LinuxSyscall) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: sc}
	}
	deny := specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno}
	tests := []struct {
		name string
		a, b *specs.LinuxSeccomp
		same bool
	}{
		{"unknown syscall name is skipped",
			allow(specs.LinuxSyscall{Names: []string{"getcwd", "no_such_syscall_xyz"}, Action: specs.ActErrno}), allow(deny), true},
		{"rule of only unknown names adds nothing",
			allow(deny, specs.LinuxSyscall{Names: []string{"no_such_syscall_xyz"}, Action: specs.ActKillProcess}), allow(deny), true},
		{"rule with the default action adds nothing",
			allow(deny, specs.LinuxSyscall{Names: []string{"read", "write"}, Action: specs.ActAllow}), allow(deny), true},
		{"ERRNO without errnoRet is EPERM",
			allow(deny), allow(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EPERM))}), true},
		{"SCMP_ACT_KILL is KILL_THREAD",
			allow(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActKill}),
			allow(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActKillThread}), true},
		{"a rule changes the filter", allow(deny), allow(), false},
		{"errnoRet changes the filter",
			allow(deny), allow(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uintp(13)}), false},
		{"a condition changes the filter",
			allow(deny), allow(specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10, Op: specs.OpEqualTo}}}), false},
		{"a second architecture changes the filter",
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: []specs.LinuxSyscall{deny}},
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86}, Syscalls: []specs.LinuxSyscall{deny}}, false},
	}
	if runtime.GOARCH == "amd64" {
		tests = append(tests, struct {
			name string
			a, b *specs.LinuxSeccomp
			same bool
		}{"the native architecture is implied",
			&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: []specs.LinuxSyscall{deny}},
			allow(deny), true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustCompile(t, tt.a), mustCompile(t, tt.b)
			if same := bytes.Equal(a.Filter, b.Filter); same != tt.same {
				t.Errorf("filters equal = %v, want %v (%d and %d bytes)", same, tt.same, len(a.Filter), len(b.Filter))
			}
		})
	}
}

func TestCompileFlags(t *testing.T) {
	tests := []struct {
		flags []specs.LinuxSeccompFlag
		want  uint
	}{
		{nil, 0},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}, 2},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow}, 4},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, 32},
		{[]specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}, 1},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}, unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagLog}, 2},
	}
	for _, tt := range tests {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: tt.flags,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}}
		p, err := Compile(cfg)
		if err != nil || p.Flags != tt.want {
			t.Errorf("flags %v: %+v, %v; want %#x", tt.flags, p, err, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	base := func(f func(c *specs.LinuxSeccomp)) *specs.LinuxSeccomp {
		c := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}}
		f(c)
		return c
	}
	tests := []struct {
		name string
		cfg  *specs.LinuxSeccomp
		msgs []string
	}{
		{"unknown default action", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = "SCMP_ACT_FOO" }), []string{"defaultAction", "SCMP_ACT_FOO"}},
		{"empty default action", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = "" }), []string{"defaultAction", "unknown action"}},
		{"notify default action", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActNotify }), []string{"defaultAction", "SCMP_ACT_NOTIFY"}},
		{"defaultErrnoRet with ALLOW", base(func(c *specs.LinuxSeccomp) {
			c.DefaultAction, c.DefaultErrnoRet = specs.ActAllow, uintp(1)
			c.Syscalls[0].Action = specs.ActErrno
		}), []string{"defaultAction", "errnoRet"}},
		{"unknown action", base(func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = "SCMP_ACT_BAR" }), []string{"syscalls[0]", "SCMP_ACT_BAR"}},
		{"errnoRet with ALLOW", base(func(c *specs.LinuxSeccomp) { c.Syscalls[0].ErrnoRet = uintp(1) }), []string{"syscalls[0]", "errnoRet", "SCMP_ACT_ALLOW"}},
		{"errnoRet with KILL", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"ptrace"}, Action: specs.ActKillProcess, ErrnoRet: uintp(1)})
		}), []string{"syscalls[1]", "errnoRet"}},
		{"notify rule", base(func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = specs.ActNotify }), []string{"syscalls[0]", "SCMP_ACT_NOTIFY"}},
		{"unknown operator", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_FOO"}}
		}), []string{"syscalls[0]", "args[0]", "SCMP_CMP_FOO"}},
		{"argument index out of range", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 6, Value: 1, Op: specs.OpEqualTo}}
		}), []string{"syscalls[0]", "args[1]", "index 6"}},
		{"unknown flag", base(func(c *specs.LinuxSeccomp) { c.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_FOO"} }), []string{"flags", "SECCOMP_FILTER_FLAG_FOO"}},
		{"NEW_LISTENER is not a config flag", base(func(c *specs.LinuxSeccomp) { c.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"} }), []string{"flags"}},
		{"unknown arch", base(func(c *specs.LinuxSeccomp) { c.Architectures = []specs.Arch{"SCMP_ARCH_FOO"} }), []string{"architectures", "SCMP_ARCH_FOO"}},
		{"arch without prefix", base(func(c *specs.LinuxSeccomp) { c.Architectures = []specs.Arch{"x86_64"} }), []string{"architectures", "x86_64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.cfg)
			if err == nil {
				t.Fatalf("Compile succeeded: %d bytes", len(p.Filter))
			}
			if p != nil {
				t.Error("program returned with an error")
			}
			for _, m := range tt.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

// TestCompileEveryOCIArch: every architecture the OCI spec names is
// recognised; the installed libseccomp may still lack some of them.
func TestCompileEveryOCIArch(t *testing.T) {
	archs := []specs.Arch{specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32,
		specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC, specs.ArchPARISC64,
		specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB}
	for _, a := range archs {
		_, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{a},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}})
		if err != nil && strings.Contains(err.Error(), "unknown architecture") {
			t.Errorf("%s: %v", a, err)
		}
	}
}

func TestLoadBadProgram(t *testing.T) {
	for _, p := range []*Program{{}, {Filter: make([]byte, 7)}, {Filter: make([]byte, 8*0x10000)}} {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "bad program length") {
			t.Errorf("Load(%d bytes): %v", len(p.Filter), err)
		}
	}
}

func TestProgramJSON(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Flags:    []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno}}})
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(data, &back); err != nil || !bytes.Equal(back.Filter, p.Filter) || back.Flags != p.Flags {
		t.Errorf("Program JSON round trip: %+v, %v", back, err)
	}
}

const helperEnv = "LXCRUN_SECCOMP_HELPER"

// TestHelperLoad is not a test: it is the child of TestLoadInChild. It
// loads the program from its environment on a locked thread with
// no_new_privs, calls getcwd(buf, 4096) and exits 0 when the errno is the
// expected one (0 meaning success).
func TestHelperLoad(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process")
	}
	code := helperLoad(spec)
	os.Exit(code)
}

func helperLoad(spec string) int {
	runtime.LockOSThread()
	want, progJSON, ok := strings.Cut(spec, ":")
	if !ok {
		fmt.Fprintln(os.Stderr, "bad helper spec")
		return 2
	}
	wantErrno, err := strconv.Atoi(want)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var prog Program
	if err := json.Unmarshal([]byte(progJSON), &prog); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no_new_privs:", err)
		return 2
	}
	if _, err := Load(&prog); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, err = unix.Getwd() // getcwd(buf, PathMax=4096)
	var errno syscall.Errno
	switch {
	case err == nil && wantErrno == 0:
		return 0
	case errors.As(err, &errno) && int(errno) == wantErrno:
		return 0
	}
	fmt.Fprintf(os.Stderr, "getcwd: %v, want errno %d\n", err, wantErrno)
	return 3
}

// TestLoadInChild loads compiled filters for real, in a re-executed test
// binary: no root is needed with no_new_privs.
func TestLoadInChild(t *testing.T) {
	getcwd := func(action specs.LinuxSeccompAction, errnoRet *uint, args ...specs.LinuxSeccompArg) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: action, ErrnoRet: errnoRet, Args: args}}}
	}
	arg1 := func(op specs.LinuxSeccompOperator, v, v2 uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: 1, Value: v, ValueTwo: v2, Op: op}
	}
	tests := []struct {
		name  string
		cfg   *specs.LinuxSeccomp
		errno int
	}{
		{"deny getcwd with EPERM", getcwd(specs.ActErrno, uintp(1)), int(unix.EPERM)},
		{"errnoRet is honoured", getcwd(specs.ActErrno, uintp(uint(unix.EACCES))), int(unix.EACCES)},
		{"default errno is EPERM", getcwd(specs.ActErrno, nil), int(unix.EPERM)},
		{"matching condition", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpEqualTo, 4096, 0)), int(unix.EPERM)},
		{"condition not matching", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpEqualTo, 17, 0)), 0},
		{"masked equal matching", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpMaskedEqual, 0xff00, 0x1000)), int(unix.EPERM)},
		{"masked equal not matching", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpMaskedEqual, 0xff00, 0x2000)), 0},
		// Several conditions on one argument are ORed, as in runc.
		{"same-argument conditions, one matches", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpEqualTo, 17, 0), arg1(specs.OpEqualTo, 4096, 0)), int(unix.EPERM)},
		{"same-argument conditions, none matches", getcwd(specs.ActErrno, uintp(1), arg1(specs.OpEqualTo, 17, 0), arg1(specs.OpEqualTo, 18, 0)), 0},
		{"deny by default, allow getcwd", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(uint(unix.ENOSYS)),
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd", "exit_group", "exit", "write", "futex", "rt_sigreturn", "rt_sigprocmask",
				"sched_yield", "nanosleep", "mmap", "munmap", "madvise", "tgkill", "getpid", "gettid", "sigaltstack", "rt_sigaction", "clone", "clone3"}, Action: specs.ActAllow}}}, 0},
		{"deny by default", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(uint(unix.ENOSYS)),
			Syscalls: []specs.LinuxSyscall{{Names: []string{"exit_group", "exit", "write", "futex", "rt_sigreturn", "rt_sigprocmask",
				"sched_yield", "nanosleep", "mmap", "munmap", "madvise", "tgkill", "getpid", "gettid", "sigaltstack", "rt_sigaction", "clone", "clone3"}, Action: specs.ActAllow}}}, int(unix.ENOSYS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := mustCompile(t, tt.cfg)
			data, err := json.Marshal(prog)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLoad$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%s", helperEnv, tt.errno, data))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("helper: %v\n%s", err, out)
			}
		})
	}
}

// FuzzCompile: no profile makes the compiler panic; whatever it accepts is a
// BPF program.
func FuzzCompile(f *testing.F) {
	if data, err := json.Marshal(smallProfile()); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000,"syscalls":[{"names":["read"],"action":"SCMP_ACT_TRACE","errnoRet":1}]}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_AARCH64","SCMP_ARCH_ARM"],"syscalls":[{"names":["openat"],"action":"SCMP_ACT_ERRNO","args":[{"index":5,"value":18446744073709551615,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg specs.LinuxSeccomp
		if json.Unmarshal(data, &cfg) != nil {
			return
		}
		p, err := Compile(&cfg)
		if err != nil {
			if p != nil {
				t.Fatal("program returned with an error")
			}
			return
		}
		if len(p.Filter) == 0 || len(p.Filter)%8 != 0 {
			t.Fatalf("accepted profile gave %d bytes", len(p.Filter))
		}
	})
}
