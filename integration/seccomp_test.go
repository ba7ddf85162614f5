package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestSeccompActions: one profile exercising each action, errnoRet, the
// argument operators (EQ, MASKED_EQ, GT) and the OCI flags, checked from
// inside the container with busybox.
func TestSeccompActions(t *testing.T) {
	t.Parallel()
	erofs := uint(unix.EROFS)
	eperm := uint(unix.EPERM)
	script := strings.Join([]string{
		`grep -E "^Seccomp:" /proc/self/status`,
		`mkdir /tmp/x 2>&1; echo mkdir=$?`,             // ERRNO with errnoRet EROFS
		`kill -USR1 $$ 2>&1; echo usr1=$?`,             // EQ on the signal argument
		`kill -s CHLD $$ 2>&1; echo chld=$?`,           // MASKED_EQ: (sig & 0xf0) == 0x10
		`kill -s USR2 $$ 2>/dev/null; echo usr2=$?`,    // not matched: allowed (USR2 is trapped below)
		`trap "" USR2; kill -0 $$; echo zero=$?`,       // allowed
		`sh -c 'hostname foo' 2>&1; echo trap=$?`,      // TRAP: SIGSYS in the child
		`sh -c 'chroot / true' 2>&1; echo killproc=$?`, // KILL_PROCESS
		`sh -c 'ionice -c 3 true' 2>&1; echo gt=$?`,    // GT: ioprio_set with a class > 0
		`uname -n >/dev/null; echo log=$?`,             // LOG: allowed and logged
	}, "; ")
	c := newCtr(t, withSh("trap '' USR2; "+script), func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
			Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &erofs},
				{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: &eperm,
					Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpEqualTo, Value: uint64(unix.SIGUSR1)}}},
				{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: &eperm,
					Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpMaskedEqual, Value: 0xf0, ValueTwo: 0x10}}},
				{Names: []string{"sethostname"}, Action: specs.ActTrap},
				{Names: []string{"chroot"}, Action: specs.ActKillProcess},
				{Names: []string{"ioprio_set"}, Action: specs.ActErrno, ErrnoRet: &eperm,
					Args: []specs.LinuxSeccompArg{{Index: 2, Op: specs.OpGreaterThan, Value: 0}}},
				{Names: []string{"uname"}, Action: specs.ActLog},
				{Names: []string{"no_such_syscall_lxcrun"}, Action: specs.ActErrno}, // unknown names are skipped
			},
		}
		if isRunc() {
			// runc 1.1.5: "seccomp flags are not yet supported by runc".
			s.Linux.Seccomp.Flags = nil
		}
	})
	res := c.run()
	if res.Code != 0 {
		t.Fatalf("container: %s", res)
	}
	out := res.Stdout
	want := []string{
		"Seccomp:\t2",
		"mkdir=1", "usr1=1", "chld=1", "usr2=0", "zero=0",
		"trap=159",     // 128 + SIGSYS
		"killproc=159", // killed by SIGSYS
		"gt=1", "log=0",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !containsFold(out, "read-only file system") {
		t.Errorf("mkdir did not fail with errnoRet EROFS:\n%s", out)
	}
}
