package libstart

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// NSPlan says, for one start, how each namespace of the config comes about.
type NSPlan struct {
	// CloneFlags are the namespaces created by clone(2) itself.
	CloneFlags uintptr
	// Join are namespaces entered by path before the clone, by the parent
	// on a locked thread (their effect is inherited by the child).
	Join []Namespace
	// UnshareCgroup makes the init unshare its cgroup namespace after the
	// parent placed it into its cgroup, so the namespace root is the
	// container's cgroup and not the runtime's.
	UnshareCgroup bool
	// Enter are namespaces joined by path by the init's nsenter constructor
	// (user, mount, time): only a single-threaded process can join them.
	Enter []Namespace
	// Unshare are new namespaces the constructor creates after joining a
	// user namespace by path (CloneFlags is then 0), so that they belong
	// to it; with CLONE_NEWPID the constructor also forks (see package
	// nsenter) and the init is that child.
	Unshare uintptr
	// NewTime makes the init's nsenter constructor unshare a time
	// namespace and write the offsets (see package nsenter): offsets can
	// only be set while no process is in the namespace, so
	// clone(CLONE_NEWTIME) cannot be used.
	NewTime bool
}

// ResolveCloneFlags decides what is cloned, what is unshared later and what
// is joined by path.
func ResolveCloneFlags(c *Conf) NSPlan {
	var plan NSPlan
	for _, ns := range c.Namespaces {
		if ns.Path != "" {
			switch ns.Type {
			case NSUser, NSMount, NSTime:
				plan.Enter = append(plan.Enter, ns)
			default:
				plan.Join = append(plan.Join, ns)
			}
			continue
		}
		switch ns.Type {
		case NSCgroup:
			plan.UnshareCgroup = true
		case NSTime:
			plan.NewTime = true
		default:
			plan.CloneFlags |= nsCloneFlag[ns.Type]
		}
	}
	if c.NamespacePath(NSUser) != "" {
		plan.Unshare, plan.CloneFlags = plan.CloneFlags, 0
	}
	return plan
}

// ForksInConstructor reports whether the init is the constructor's fork
// child (a joined user namespace with a new pid namespace).
func (p NSPlan) ForksInConstructor() bool {
	return p.Unshare&unix.CLONE_NEWPID != 0
}

// forkResult is what a fork on a dedicated thread hands back.
type forkResult struct {
	pid   int
	pidfd int
	err   error
}

// forkInNamespaces runs fork on a locked OS thread that first joins the
// plan's namespaces by path. The thread is never unlocked: its namespaces
// no longer match the rest of the process, so Go must discard it when the
// goroutine exits.
func forkInNamespaces(plan NSPlan, fork func() (int, int, error)) (int, int, error) {
	if len(plan.Join) == 0 {
		return fork()
	}
	ch := make(chan forkResult, 1)
	go func() {
		runtime.LockOSThread()
		if err := joinNamespaces(plan.Join); err != nil {
			ch <- forkResult{err: err}
			return
		}
		pid, pidfd, err := fork()
		ch <- forkResult{pid, pidfd, err}
	}()
	r := <-ch
	return r.pid, r.pidfd, r.err
}

// joinNamespaces opens every path first (all paths are host paths), then
// enters them, so that entering one cannot change how another resolves.
func joinNamespaces(join []Namespace) error {
	fds := make([]int, 0, len(join))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, ns := range join {
		fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", ns.Type, ns.Path, err)
		}
		fds = append(fds, fd)
	}
	for i, ns := range join {
		if err := unix.Setns(fds[i], int(nsCloneFlag[ns.Type])); err != nil {
			return fmt.Errorf("join %s namespace %s: %w", ns.Type, ns.Path, err)
		}
	}
	return nil
}

// nsenterEnv is the _LXCRUN_NSENTER value for the init: the namespaces it
// joins by path (a user namespace first), the ones it then unshares, a new
// time namespace with its offsets, and the fork into a new pid namespace
// (syncFd receives the child's pid).
func nsenterEnv(plan NSPlan, offsets []TimeOffset, syncFd int) string {
	var b strings.Builder
	for _, ns := range plan.Enter {
		if ns.Type == NSUser {
			fmt.Fprintf(&b, "user %s\n", ns.Path)
		}
	}
	for _, ns := range plan.Enter {
		switch ns.Type {
		case NSMount:
			fmt.Fprintf(&b, "mnt %s\n", ns.Path)
		case NSTime:
			fmt.Fprintf(&b, "time %s\n", ns.Path)
		}
	}
	if plan.Unshare != 0 {
		fmt.Fprintf(&b, "unshare %x\n", plan.Unshare)
	}
	if plan.NewTime {
		b.WriteString("newtime ")
		for i, o := range offsets {
			if i > 0 {
				b.WriteByte('|')
			}
			fmt.Fprintf(&b, "%s %d %d", o.Clock, o.Secs, o.Nsecs)
		}
		b.WriteByte('\n')
	}
	if plan.ForksInConstructor() {
		fmt.Fprintf(&b, "fork %d\n", syncFd)
	}
	return b.String()
}

// idMappings converts Conf maps for syscall.SysProcAttr.
func idMappings(maps []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(maps))
	for _, m := range maps {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// nsInode returns the inode of /proc/<pid>/ns/<name>, used to tell whether
// the container shares a namespace with the host.
func nsInode(pid int, name string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+name, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
