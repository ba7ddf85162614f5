// Package seccomp compiles an OCI seccomp configuration into a BPF program
// with libseccomp, in the runtime parent, and loads a compiled program with
// seccomp(2) in the container init. The init never links the compiler's
// work: it receives the raw program and the OCI flags.
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Program is a compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER).
type Program struct {
	// Filter is the array of struct sock_filter, in host byte order.
	Filter []byte `json:"filter"`
	// Flags are the SECCOMP_FILTER_FLAG_* bits of the config, plus
	// NEW_LISTENER when a rule uses SCMP_ACT_NOTIFY.
	Flags uint `json:"flags,omitempty"`
	// ListenerPath and ListenerMetadata say where the notify fd goes.
	ListenerPath     string `json:"listenerPath,omitempty"`
	ListenerMetadata string `json:"listenerMetadata,omitempty"`
}

// Notify reports whether loading the program yields a notify fd.
func (p *Program) Notify() bool {
	return p != nil && p.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
}

var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

var flagBits = map[specs.LinuxSeccompFlag]uint{
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: 1 << 5, // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 5.19+
	"SECCOMP_FILTER_FLAG_TSYNC":            unix.SECCOMP_FILTER_FLAG_TSYNC,
}

// archName maps the OCI architecture names to libseccomp's.
func archName(a specs.Arch) (string, bool) {
	s := string(a)
	if !strings.HasPrefix(s, "SCMP_ARCH_") {
		return "", false
	}
	name := strings.ToLower(strings.TrimPrefix(s, "SCMP_ARCH_"))
	switch name {
	case "x86_64":
		name = "amd64"
	case "aarch64":
		name = "arm64"
	}
	return name, true
}

// Compile builds the program for cfg. Unknown syscall names are skipped (a
// profile may name syscalls this libseccomp or architecture lacks), as runc
// does; unknown actions, operators, flags or architectures are errors.
func Compile(cfg *specs.LinuxSeccomp) (*Program, error) {
	def, err := action(cfg.DefaultAction, cfg.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	if cfg.DefaultAction == specs.ActNotify {
		return nil, errors.New("defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
	}
	filter, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("create filter: %w", err)
	}
	defer filter.Release()
	if err := filter.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("filter attributes: %w", err)
	}
	for _, a := range cfg.Architectures {
		name, ok := archName(a)
		if !ok {
			return nil, fmt.Errorf("architectures: unknown architecture %q", a)
		}
		arch, err := libseccomp.GetArchFromString(name)
		if err != nil {
			return nil, fmt.Errorf("architectures: unknown architecture %q", a)
		}
		if err := filter.AddArch(arch); err != nil {
			return nil, fmt.Errorf("architectures: add %q: %w", a, err)
		}
	}
	prog := &Program{}
	for _, f := range cfg.Flags {
		bit, ok := flagBits[f]
		if !ok {
			return nil, fmt.Errorf("flags: unknown flag %q", f)
		}
		prog.Flags |= bit
	}
	for i, sc := range cfg.Syscalls {
		if sc.Action == specs.ActNotify {
			if cfg.ListenerPath == "" {
				return nil, fmt.Errorf("syscalls[%d]: SCMP_ACT_NOTIFY needs listenerPath", i)
			}
			prog.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		if err := addRule(filter, sc, def); err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
	}
	if cfg.ListenerPath != "" && !prog.Notify() {
		return nil, errors.New("listenerPath is set but no rule uses SCMP_ACT_NOTIFY")
	}
	prog.ListenerPath, prog.ListenerMetadata = cfg.ListenerPath, cfg.ListenerMetadata
	data, err := exportBPF(filter)
	if err != nil {
		return nil, err
	}
	prog.Filter = data
	return prog, nil
}

func action(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[a]
	if !ok {
		return 0, fmt.Errorf("unknown action %q", a)
	}
	switch act {
	case libseccomp.ActErrno:
		ret := uint(unix.EPERM)
		if errnoRet != nil {
			ret = *errnoRet
		}
		return act.SetReturnCode(int16(ret)), nil
	case libseccomp.ActTrace:
		ret := uint(unix.EPERM)
		if errnoRet != nil {
			ret = *errnoRet
		}
		return act.SetReturnCode(int16(ret)), nil
	}
	if errnoRet != nil {
		return 0, fmt.Errorf("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %q", a)
	}
	return act, nil
}

// addRule adds one OCI syscall entry. Several conditions on the same
// argument cannot be ANDed by libseccomp, so, as runc does, each becomes a
// rule of its own (ORed); otherwise all conditions form one rule.
func addRule(filter *libseccomp.ScmpFilter, sc specs.LinuxSyscall, def libseccomp.ScmpAction) error {
	act, err := action(sc.Action, sc.ErrnoRet)
	if err != nil {
		return err
	}
	var conds []libseccomp.ScmpCondition
	sameArg := false
	seen := map[uint]bool{}
	for j, a := range sc.Args {
		op, ok := operators[a.Op]
		if !ok {
			return fmt.Errorf("args[%d]: unknown operator %q", j, a.Op)
		}
		if a.Index > 5 {
			return fmt.Errorf("args[%d]: index %d is out of range", j, a.Index)
		}
		var c libseccomp.ScmpCondition
		if op == libseccomp.CompareMaskedEqual {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return fmt.Errorf("args[%d]: %w", j, err)
		}
		sameArg = sameArg || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if act == def {
		// libseccomp refuses rules whose action is the default one.
		return nil
	}
	for _, name := range sc.Names {
		call, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue
		}
		switch {
		case len(conds) == 0:
			err = filter.AddRule(call, act)
		case sameArg:
			for _, c := range conds {
				if err = filter.AddRuleConditional(call, act, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = filter.AddRuleConditional(call, act, conds)
		}
		if err != nil {
			return fmt.Errorf("add rule for %s: %w", name, err)
		}
	}
	return nil
}

// exportBPF writes the program through a memfd: libseccomp 2.5 (Debian
// bookworm) has no in-memory export.
func exportBPF(filter *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	f := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	if len(data)%8 != 0 || len(data) == 0 {
		return nil, fmt.Errorf("export filter: %d bytes is not a BPF program", len(data))
	}
	return data, nil
}

// Load installs prog on the calling thread (and, with TSYNC, its siblings)
// and returns the notify fd when the program has SCMP_ACT_NOTIFY rules (-1
// otherwise). The caller must have no_new_privs set or CAP_SYS_ADMIN.
func Load(prog *Program) (int, error) {
	n := len(prog.Filter) / 8
	if n == 0 || n > 0xffff {
		return -1, fmt.Errorf("load seccomp filter: bad program length %d", n)
	}
	filters := make([]unix.SockFilter, n)
	for i := range filters {
		b := prog.Filter[i*8:]
		filters[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:8]),
		}
	}
	fprog := unix.SockFprog{Len: uint16(n), Filter: &filters[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(prog.Flags), uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, fmt.Errorf("load seccomp filter: %w", errno)
	}
	if prog.Notify() {
		return int(r), nil
	}
	return -1, nil
}
