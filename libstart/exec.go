package libstart

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/lxcrun/lxcrun/libstart/nsenter"
	"github.com/lxcrun/lxcrun/libstart/seccomp"
	"golang.org/x/sys/unix"
)

// ExecOpts are the options of exec once the process is resolved.
type ExecOpts struct {
	Root          string
	ID            string
	Process       *Process
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PreserveFDs   int
	IgnorePaused  bool
	// SubCgroup places the process in a sub-cgroup of the container's.
	SubCgroup string
}

// execMsg is the payload of msgExec.
//
//easyjson:json
type execMsg struct {
	Process     *Process `json:"process"`
	PreserveFDs int      `json:"preserveFds"`
	Console     bool     `json:"console"`
	// Seccomp is the container's filter, which exec'd processes get too.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
}

// The environment of the exec helper: "syncfd,consolefd".
const envExec = "_LXCRUN_EXEC"

// ErrExecStopped is runc's error for exec into a stopped container.
var ErrExecStopped = errors.New("cannot exec in a stopped container")

// OpenForExec opens a container that can take an exec.
func OpenForExec(root, id string, ignorePaused bool) (*Container, error) {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return nil, err
	}
	switch c.Status() {
	case StatusStopped, StatusCreating:
		c.Close()
		return nil, ErrExecStopped
	case StatusPaused:
		if !ignorePaused {
			c.Close()
			return nil, errors.New("cannot exec in a paused container (use --ignore-paused to override)")
		}
	}
	return c, nil
}

// Exec is `exec`: start a process in every namespace and the cgroup of a
// running container, through the same final-setup path as the init. In the
// foreground it returns the process's exit code; with Detach it returns
// once the process runs, leaving it to the caller (a subreaper).
func Exec(c *Container, opts ExecOpts) (int, error) {
	p := opts.Process
	if err := checkConsole(p.Terminal, opts.Detach, opts.ConsoleSocket != ""); err != nil {
		return 0, err
	}
	var sigc chan os.Signal
	if !opts.Detach {
		sigc = notifySignals()
	}
	x := &execer{c: c, opts: opts}
	defer x.close()
	pid, err := x.spawn()
	if err != nil {
		return 255, err
	}
	if opts.PidFile != "" {
		if err := WritePidFile(opts.PidFile, pid); err != nil {
			return 255, err
		}
	}
	if opts.Detach {
		return 0, nil
	}
	code, _ := forwardAndWait(pid, sigc, x.tty)
	if x.tty != nil {
		x.tty.drain()
	}
	return code, nil
}

// execer holds what one exec owns while it starts the process.
type execer struct {
	c       *Container
	opts    ExecOpts
	sync    *os.File
	console *os.File
	tty     *terminal
}

func (x *execer) close() {
	for _, f := range []*os.File{x.sync, x.console} {
		if f != nil {
			f.Close()
		}
	}
	if x.tty != nil {
		x.tty.restore()
		x.tty.recv.Close()
	}
}

// spawn starts the helper, learns the process's pid, places it in the
// cgroup and sends it the process; it returns once the process has exec'd.
func (x *execer) spawn() (int, error) {
	pidfd, err := x.c.openInitPidfd()
	if err != nil {
		return 0, ErrExecStopped
	}
	pidfdFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidfdFile.Close()
	flags, err := nsDiff(x.c.State.Pid)
	if err != nil {
		return 0, err
	}
	sync, child, err := syncPair("exec-sync")
	if err != nil {
		return 0, fmt.Errorf("exec: socketpair: %w", err)
	}
	x.sync = sync
	defer child.Close()
	if err := x.openConsole(); err != nil {
		return 0, err
	}
	files := []uintptr{0, 1, 2}
	for i := 0; i < x.opts.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	syncFd, pidFd := len(files), len(files)+1
	files = append(files, child.Fd(), pidfdFile.Fd())
	consoleFd := -1
	if x.console != nil {
		consoleFd = len(files)
		files = append(files, x.console.Fd())
	}
	env := []string{
		"GOMAXPROCS=1",
		envExec + "=" + strconv.Itoa(syncFd) + "," + strconv.Itoa(consoleFd),
		nsenter.Env + "=" + fmt.Sprintf("pidfd %d %x\nfork %d\n", pidFd, flags, syncFd),
	}
	exe, release, err := sealedArgv0(len(files))
	if err != nil {
		return 0, err
	}
	defer release()
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: &syscall.SysProcAttr{}}
	var hpid int
	err = withOriginalTimerSlack(func() (err error) {
		hpid, err = syscall.ForkExec(exe, []string{"lxcrun", "init"}, attr)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("exec: start helper: %w", err)
	}
	child.Close()
	_, body, err := expectMsg(x.sync, msgPid)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(hpid, &ws, 0, nil)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("exec: helper exited (%s)", describeWait(ws))
		}
		return 0, err
	}
	pid, err := strconv.Atoi(string(body))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("exec: bad pid message %q", body)
	}
	if err := x.place(pid); err != nil {
		x.kill(pid)
		return 0, err
	}
	msg := execMsg{Process: x.opts.Process, PreserveFDs: x.opts.PreserveFDs, Console: x.console != nil, Seccomp: x.c.State.Conf.Seccomp}
	if err := writeMsg(x.sync, msgExec, &msg); err != nil {
		x.kill(pid)
		return 0, err
	}
	if x.tty != nil {
		if err := x.tty.attach(); err != nil {
			x.kill(pid)
			return 0, err
		}
	}
	for {
		_, _, err := expectMsg(x.sync, msgSeccompFd)
		if errors.Is(err, io.EOF) {
			return pid, nil
		}
		if err == nil {
			state := x.c.OCIState(StatusRunning)
			state.Pid = pid
			err = forwardSeccompFd(x.sync, x.c.State.Conf.Seccomp, state)
		}
		if err != nil {
			x.kill(pid)
			return 0, err
		}
	}
}

func (x *execer) kill(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, 0, nil)
}

func (x *execer) openConsole() error {
	if !x.opts.Process.Terminal {
		return nil
	}
	if x.opts.ConsoleSocket != "" {
		f, err := dialUnix(x.opts.ConsoleSocket)
		if err != nil {
			return fmt.Errorf("exec: connect to console socket: %w", err)
		}
		x.console = f
		return nil
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("exec: console socketpair: %w", err)
	}
	x.console = os.NewFile(uintptr(pair[1]), "console-child")
	x.tty = &terminal{recv: os.NewFile(uintptr(pair[0]), "console")}
	return nil
}

// place puts pid into the container's cgroup (or a sub-cgroup) and sets
// the exec process's oom_score_adj, both from the parent, before the
// process runs anything.
func (x *execer) place(pid int) error {
	m, err := x.c.cgroupManager()
	if err != nil {
		return err
	}
	if m != nil {
		if err := m.AddPid(x.opts.SubCgroup, pid); err != nil {
			return err
		}
	}
	if adj := x.opts.Process.OOMScoreAdj; adj != nil {
		return writeOOMScoreAdj(pid, *adj)
	}
	return nil
}

// nsTypes are the namespace kinds exec joins, as named in /proc/<pid>/ns.
var nsTypes = []struct {
	name string
	flag uintptr
}{
	{"user", unix.CLONE_NEWUSER}, {"mnt", unix.CLONE_NEWNS}, {"pid", unix.CLONE_NEWPID},
	{"net", unix.CLONE_NEWNET}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS},
	{"cgroup", unix.CLONE_NEWCGROUP}, {"time", unix.CLONE_NEWTIME},
}

// nsDiff returns the CLONE_NEW* flags of the namespaces pid does not share
// with us: setns(pidfd) with our own user namespace is EINVAL.
func nsDiff(pid int) (uintptr, error) {
	var flags uintptr
	for _, ns := range nsTypes {
		theirs, err := nsInode(pid, ns.name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, fmt.Errorf("exec: namespace %s of the container: %w", ns.name, err)
		}
		ours, err := nsInode(os.Getpid(), ns.name)
		if err != nil || ours != theirs {
			flags |= ns.flag
		}
	}
	return flags, nil
}

// execMain is the exec helper's Go side, in the container's namespaces: it
// receives the process and runs the shared final-setup path.
func execMain(env string) int {
	var syncFd, consoleFd int
	if _, err := fmt.Sscanf(env, "%d,%d", &syncFd, &consoleFd); err != nil {
		fmt.Fprintln(os.Stderr, "lxcrun init: bad", envExec)
		return 255
	}
	sync := os.NewFile(uintptr(syncFd), "exec-sync")
	unix.CloseOnExec(syncFd)
	if err := nsenter.Err(); err != nil {
		sendError(sync, stageErr("namespaces", "nsenter", err))
		return 255
	}
	_, body, err := expectMsg(sync, msgExec)
	if err != nil {
		return 255
	}
	var msg execMsg
	if err := decodeJSON(body, &msg); err != nil || msg.Process == nil {
		sendError(sync, &StageError{Stage: "exec", Op: "decode process", Msg: fmt.Sprint(err)})
		return 255
	}
	if consoleFd >= 0 {
		// A controlling terminal needs a session leader; the helper's
		// clone child is not one yet.
		if _, err := unix.Setsid(); err != nil {
			sendError(sync, stageErr("console", "setsid", err))
			return 255
		}
		console := os.NewFile(uintptr(consoleFd), "console")
		unix.CloseOnExec(consoleFd)
		if err := setupConsole(console, msg.Process.ConsoleRows, msg.Process.ConsoleCols, false); err != nil {
			sendError(sync, err)
			return 255
		}
		console.Close()
	}
	filter := msg.Seccomp
	notify := func(fd int) error { return sendSeccompFd(sync, fd) }
	path, err := prepareProcess(msg.Process, msg.PreserveFDs, filter, notify)
	if err != nil {
		sendError(sync, err)
		return 255
	}
	sendError(sync, execProcess(msg.Process, path, filter, notify))
	return 255
}
