package libstart

import (
	"fmt"
	"os"
	"syscall"

	"github.com/lxcrun/lxcrun/libstart/seccomp"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file is the ONE final-setup path shared by the container init and
// exec. prepareProcess does what may fail because of the config (cwd,
// rlimits, user, capabilities) so that create reports it; execProcess does
// the last steps right before execve.

// prepareProcess restores the timer slack and sets the working directory,
// umask, rlimits, credentials and capabilities of the calling thread's
// process, and returns the resolved executable. Without no_new_privs a
// seccomp filter needs CAP_SYS_ADMIN to load, so it is loaded here, just
// before the capabilities are dropped; with no_new_privs execProcess loads
// it as the very last step.
//
// notify receives the seccomp notify fd, when the filter has one.
func prepareProcess(p *Process, preserveFDs int, filter *seccomp.Program, notify func(int) error) (string, error) {
	// First: a seccomp filter loaded below may not allow prctl.
	restoreTimerSlack()
	if err := unix.Chdir(p.Cwd); err != nil {
		return "", stageErr("process", "chdir to cwd "+p.Cwd, err)
	}
	if err := verifyCwd(); err != nil {
		return "", err
	}
	umask := uint32(0o022)
	if p.Umask != nil {
		umask = *p.Umask
	}
	unix.Umask(int(umask))
	for _, rl := range p.Rlimits {
		// syscall.Setrlimit, not a raw prlimit: it also stops Go from
		// restoring its own saved RLIMIT_NOFILE at execve.
		lim := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := syscall.Setrlimit(rl.Type, &lim); err != nil {
			return "", stageErr("process", fmt.Sprintf("error setting rlimit type %d", rl.Type), err)
		}
	}
	path, err := lookPath(p)
	if err != nil {
		return "", &StageError{Stage: "process", Msg: err.Error(), Errno: errnoOf(err)}
	}
	caps := p.Caps
	if caps == nil {
		caps = &Caps{}
	}
	c, err := capability.NewPid2(0)
	if err != nil {
		return "", stageErr("capabilities", "init", err)
	}
	setCaps(c, capability.BOUNDING, caps.Bounding)
	// The bounding set is dropped while still fully privileged.
	if err := c.Apply(capability.BOUNDING); err != nil {
		return "", stageErr("capabilities", "drop bounding set", err)
	}
	// Everything past stdio and the preserved fds is closed at execve.
	// Marked now, before any filter is loaded: profiles written before
	// close_range(2) existed deny it.
	if err := unix.CloseRange(uint(3+preserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return "", stageErr("process", "close_range", err)
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := loadFilter(filter, notify); err != nil {
			return "", err
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return "", stageErr("user", "prctl(PR_SET_KEEPCAPS)", err)
	}
	if err := setUser(p); err != nil {
		return "", err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return "", stageErr("user", "prctl(PR_SET_KEEPCAPS)", err)
	}
	setCaps(c, capability.EFFECTIVE, caps.Effective)
	setCaps(c, capability.PERMITTED, caps.Permitted)
	setCaps(c, capability.INHERITABLE, caps.Inheritable)
	// The kernel only lets an ambient capability be raised if it is also
	// permitted and inheritable; runc warns and skips the others (its own
	// default spec lists ambient capabilities that are not inheritable).
	// (The init has no log channel, so nothing is printed: its stderr is
	// the container's.)
	setCaps(c, capability.AMBIENT, caps.Ambient&caps.Permitted&caps.Inheritable)
	if err := c.Apply(capability.CAPS | capability.AMBIENT); err != nil {
		return "", stageErr("capabilities", "apply", err)
	}
	return path, nil
}

func setCaps(c capability.Capabilities, which capability.CapType, mask uint64) {
	c.Clear(which)
	for i := 0; i < 64; i++ {
		if mask&(1<<uint(i)) != 0 {
			c.Set(which, capability.Cap(i))
		}
	}
}

// setUser sets supplementary groups, gid and uid. Setgroups is skipped when
// the user namespace forbids it (joined namespaces with setgroups "deny").
func setUser(p *Process) error {
	if setgroupsAllowed() {
		groups := make([]int, len(p.AdditionalGids))
		for i, g := range p.AdditionalGids {
			groups[i] = int(g)
		}
		if err := unix.Setgroups(groups); err != nil {
			return stageErr("user", "setgroups", err)
		}
	}
	if err := unix.Setresgid(int(p.GID), int(p.GID), int(p.GID)); err != nil {
		return stageErr("user", fmt.Sprintf("setgid %d", p.GID), err)
	}
	if err := unix.Setresuid(int(p.UID), int(p.UID), int(p.UID)); err != nil {
		return stageErr("user", fmt.Sprintf("setuid %d", p.UID), err)
	}
	return nil
}

func setgroupsAllowed() bool {
	data, err := os.ReadFile("/proc/self/setgroups")
	return err != nil || string(data) != "deny\n"
}

// verifyCwd refuses a working directory outside the container: a leaked
// host directory fd used as cwd shows as "(unreachable)" or fails getcwd
// (CVE-2024-21626).
func verifyCwd() error {
	wd, err := unix.Getwd()
	if err != nil {
		return stageErr("process", "verify cwd", err)
	}
	if len(wd) == 0 || wd[0] != '/' {
		return &StageError{Stage: "process", Op: "verify cwd", Msg: fmt.Sprintf("current working directory %q is outside of the container", wd)}
	}
	return nil
}

// execProcess is the last step: LSM labels, no_new_privs, the seccomp
// filter (with no_new_privs), execve of path.
func execProcess(p *Process, path string, filter *seccomp.Program, notify func(int) error) error {
	if err := applyLSM(p); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return stageErr("process", "prctl(PR_SET_NO_NEW_PRIVS)", err)
		}
	}
	if filter != nil && p.NoNewPrivileges {
		if err := loadFilter(filter, notify); err != nil {
			return err
		}
	}
	err := unix.Exec(path, p.Args, p.Env)
	return &StageError{Stage: "exec", Msg: fmt.Sprintf("exec %q: %v", p.Args[0], err), Errno: errnoOf(err)}
}

// loadFilter loads the seccomp program and passes its notify fd on.
func loadFilter(filter *seccomp.Program, notify func(int) error) error {
	fd, err := seccomp.Load(filter)
	if err != nil {
		return stageErr("seccomp", "load filter", err)
	}
	if fd >= 0 {
		if err := notify(fd); err != nil {
			return stageErr("seccomp", "pass notify fd", err)
		}
	}
	return nil
}

func statusOf(s string) specs.ContainerState { return specs.ContainerState(s) }
