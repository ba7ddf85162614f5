package libstart

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lxcrun/lxcrun/libstart/atomicfile"
	"github.com/lxcrun/lxcrun/libstart/cgroup"
	"github.com/lxcrun/lxcrun/libstart/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CreateOpts are the options of create (and run).
type CreateOpts struct {
	Root          string
	ID            string
	Bundle        string
	PidFile       string
	ConsoleSocket string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	SystemdCgroup bool
	// ConsoleFile, when set, is an already connected console socket (run -t
	// uses a socketpair instead of a path).
	ConsoleFile *os.File
	// Stdio are the init's fds 0, 1, 2 (default: the caller's).
	Stdio [3]*os.File
	// Spec, when set, is the bundle's config.json already decoded (run
	// reads it first to see whether the process wants a terminal).
	Spec *specs.Spec
}

// initMsg is the payload of msgConf: the Conf plus what the init cannot
// know by itself.
//
//easyjson:json
type initMsg struct {
	Conf *Conf `json:"conf"`
	// Pid is the init's pid in the runtime's pid namespace, for hook state.
	Pid         int  `json:"pid"`
	PreserveFDs int  `json:"preserveFds"`
	Console     bool `json:"console"`
	// execPath is the executable the init resolved at create (init only).
	execPath string
}

// The init's well-known environment: which fds are which.
const (
	envInit = "_LXCRUN_INIT"
)

// Create is `create`: LXC's lxc_init and __lxc_start up to READY. On success
// the init is parked on its socket and the handler is returned (run waits
// on it); on failure nothing is left behind.
func Create(opts CreateOpts) (*Handler, error) {
	h, err := initHandler(opts)
	if err != nil {
		return nil, err
	}
	if err := h.spawn(); err != nil {
		h.Abort()
		return nil, err
	}
	if err := h.fini(); err != nil {
		h.Abort()
		return nil, err
	}
	return h, nil
}

// initHandler translates the config and takes the state directory, writing
// a durable "creating" record before any side effect.
func initHandler(opts CreateOpts) (*Handler, error) {
	bundle, err := filepath.Abs(opts.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle path: %w", err)
	}
	opts.Bundle = bundle
	if err := ValidateID(opts.ID); err != nil {
		return nil, err
	}
	spec := opts.Spec
	if spec == nil {
		if spec, err = LoadSpec(bundle); err != nil {
			return nil, err
		}
	}
	conf, err := FromSpec(spec, SpecOptions{ID: opts.ID, Bundle: bundle, NoPivot: opts.NoPivot,
		NoNewKeyring: opts.NoNewKeyring, SystemdCgroup: opts.SystemdCgroup, Root: opts.Root})
	if err != nil {
		return nil, err
	}
	if err := checkConsoleOpts(conf, &opts); err != nil {
		return nil, err
	}
	if _, _, ignored := lsmLabels(&conf.Process, lsmHostIf(&conf.Process)); len(ignored) > 0 {
		debugf("ignored on this host: %s", strings.Join(ignored, "; "))
	}
	if !conf.HasNamespace(NSMount) && (len(conf.Mounts) > 0 || len(conf.MaskedPaths) > 0 || len(conf.ReadonlyPaths) > 0 || conf.RootfsReadonly) {
		warnf("no mount namespace: the container shares the host's mounts, so mounts, maskedPaths, readonlyPaths and root.readonly are not applied (the process is only chrooted)")
	}
	c, err := newContainer(opts.Root, opts.ID)
	if err != nil {
		return nil, err
	}
	h := &Handler{Conf: conf, Container: c, Opts: opts, Plan: ResolveCloneFlags(conf)}
	h.onAbort(func() { _ = c.Remove() })
	cg, err := cgroup.New(cgroup.Config{Path: conf.Cgroup.Path, Systemd: conf.Cgroup.Systemd, Limits: conf.Cgroup.Limits}, nil)
	if err != nil {
		return nil, errors.Join(err, c.Remove())
	}
	h.Cgroup = cg
	// The first record already says where the cgroup will be, so a create
	// killed from here on can be cleaned up by delete --force.
	c.State = State{ID: opts.ID, Status: StatusCreating, Created: time.Now().UTC(), Conf: conf, CgroupPaths: cg.Paths()}
	if err := c.Save(); err != nil {
		return nil, errors.Join(err, c.Remove())
	}
	return h, nil
}

// lsmHostIf detects the host's LSMs only when the process asks for a label.
func lsmHostIf(p *Process) lsmHost {
	if p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return lsmHost{}
	}
	return detectLSM()
}

func checkConsoleOpts(conf *Conf, opts *CreateOpts) error {
	// create always detaches; run in the foreground passes its own
	// console as ConsoleFile.
	return checkConsole(conf.Process.Terminal, true, opts.ConsoleSocket != "" || opts.ConsoleFile != nil)
}

// checkConsole applies runc's two rules, with runc's messages: a terminal
// for a detached process needs a console socket, and a console socket needs
// a terminal.
func checkConsole(terminal, detached, haveConsole bool) error {
	if terminal && detached && !haveConsole {
		return errors.New("cannot allocate tty if runc will detach without setting console socket")
	}
	if !terminal && haveConsole {
		return errors.New("cannot use console socket if runc will not detach or allocate tty")
	}
	return nil
}

// spawn prepares the cgroup and the sockets, clones the init and runs the
// staged sync until the init reports ready.
func (h *Handler) spawn() error {
	cg := h.Cgroup
	h.onAbort(func() { _ = cg.Destroy() })
	if err := h.openSockets(); err != nil {
		return err
	}
	if err := h.clone(); err != nil {
		return err
	}
	h.onAbort(h.killInit)
	if err := cg.Apply(h.Pid); err != nil {
		return err
	}
	// The init is still blocked reading its config: limits are in force
	// before it does anything.
	if err := cg.Set(h.Conf.Cgroup.Limits, true); err != nil {
		return err
	}
	if err := h.setOOMScoreAdj(); err != nil {
		return err
	}
	st, err := ReadProcStat(h.Pid)
	if err != nil {
		return fmt.Errorf("read init start time: %w", err)
	}
	h.StartTime = st.StartTime
	h.Container.State.Pid, h.Container.State.PidStartTime = h.Pid, h.StartTime
	if err := h.Container.Save(); err != nil {
		return err
	}
	return h.syncInit()
}

// openSockets makes the sync socketpair, binds the park socket in the state
// directory and connects to the console socket.
func (h *Handler) openSockets() error {
	syncSock, childSync, err := syncPair("sync")
	if err != nil {
		return fmt.Errorf("sync socketpair: %w", err)
	}
	h.syncSock = syncSock
	h.onAbort(func() { childSync.Close() })
	h.childSync = childSync

	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("park socket: %w", err)
	}
	h.listener = os.NewFile(uintptr(lfd), "park")
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: h.Container.ParkSocketPath()}); err != nil {
		return fmt.Errorf("bind park socket: %w", err)
	}
	if err := unix.Listen(lfd, 16); err != nil {
		return fmt.Errorf("listen on park socket: %w", err)
	}
	switch {
	case h.Opts.ConsoleFile != nil:
		h.consoleConn = h.Opts.ConsoleFile
	case h.Opts.ConsoleSocket != "":
		f, err := dialUnix(h.Opts.ConsoleSocket)
		if err != nil {
			return fmt.Errorf("connect to console socket: %w", err)
		}
		h.consoleConn = f
	}
	return nil
}

// clone starts the init: a re-exec of the runtime binary in the new
// namespaces, with stdio, the preserved fds, the sync socket, the park
// socket and the console connection, in that order.
func (h *Handler) clone() error {
	files := []uintptr{stdFd(h.Opts.Stdio[0], 0), stdFd(h.Opts.Stdio[1], 1), stdFd(h.Opts.Stdio[2], 2)}
	for i := 0; i < h.Opts.PreserveFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	syncFd := len(files)
	files = append(files, h.childSync.Fd(), h.listener.Fd())
	consoleFd := -1
	if h.consoleConn != nil {
		consoleFd = len(files)
		files = append(files, h.consoleConn.Fd())
	}
	env := []string{
		"GOMAXPROCS=1",
		envInit + "=" + strconv.Itoa(syncFd) + "," + strconv.Itoa(syncFd+1) + "," + strconv.Itoa(consoleFd),
	}
	if len(h.Plan.Enter) > 0 || h.Plan.NewTime || h.Plan.Unshare != 0 {
		env = append(env, nsenter.Env+"="+nsenterEnv(h.Plan, h.Conf.TimeOffsets, syncFd))
	}
	pidfd := -1
	sys := &syscall.SysProcAttr{
		Cloneflags: h.Plan.CloneFlags,
		Setsid:     true,
		PidFD:      &pidfd,
	}
	if h.Plan.CloneFlags&unix.CLONE_NEWUSER != 0 {
		sys.UidMappings = idMappings(h.Conf.UIDMappings)
		sys.GidMappings = idMappings(h.Conf.GIDMappings)
		sys.GidMappingsEnableSetgroups = true
		// Become root of the new user namespace before the re-exec, so
		// the init keeps its capabilities there across execve.
		sys.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	exe, release, err := sealedArgv0(len(files))
	if err != nil {
		return err
	}
	defer release()
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: sys}
	pid, fd, err := forkInNamespaces(h.Plan, func() (int, int, error) {
		var pid int
		err := withOriginalTimerSlack(func() (err error) {
			pid, err = syscall.ForkExec(exe, []string{"lxcrun", "init"}, attr)
			return err
		})
		return pid, pidfd, err
	})
	if err != nil {
		return &StageError{Stage: "clone", Op: "start container init", Msg: err.Error(), Errno: errnoOf(err)}
	}
	h.Pid, h.PidFD = pid, fd
	h.childSync.Close()
	h.childSync = nil
	if h.Plan.ForksInConstructor() {
		return h.adoptForkedInit()
	}
	return nil
}

// adoptForkedInit handles a joined user namespace with a new pid
// namespace: the process we started forked the real init (CLONE_PARENT, so
// it is our child too), reported its pid and exited.
func (h *Handler) adoptForkedInit() error {
	_, body, err := expectMsg(h.syncSock, msgPid)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(h.Pid, &ws, 0, nil)
	unix.Close(h.PidFD)
	h.Pid, h.PidFD = 0, -1
	if err != nil {
		var se *StageError
		if errors.As(err, &se) {
			return se
		}
		return fmt.Errorf("container init exited before it was ready (%s)", describeWait(ws))
	}
	pid, err := strconv.Atoi(string(body))
	if err != nil || pid <= 0 {
		return fmt.Errorf("bad pid message %q", body)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	h.Pid, h.PidFD = pid, fd
	return nil
}

func stdFd(f *os.File, def uintptr) uintptr {
	if f != nil {
		return f.Fd()
	}
	return def
}

// errnoOf is the errno inside err, 0 if none, as StageError carries it.
func errnoOf(err error) uint64 {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return uint64(errno)
	}
	return 0
}

// setOOMScoreAdj writes the init's oom_score_adj from the parent, which is
// root in the host user namespace (the init may not be, nor dumpable).
func (h *Handler) setOOMScoreAdj() error {
	adj := h.Conf.Process.OOMScoreAdj
	if adj == nil {
		return nil
	}
	return writeOOMScoreAdj(h.Pid, *adj)
}

// writeOOMScoreAdj sets pid's oom_score_adj through the host's /proc.
func writeOOMScoreAdj(pid, adj int) error {
	path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
	if err := os.WriteFile(path, []byte(strconv.Itoa(adj)), 0); err != nil {
		return &StageError{Stage: "oom_score_adj", Op: "write " + path, Msg: err.Error(), Errno: errnoOf(err)}
	}
	return nil
}

// syncInit sends the config and serves the init until it is ready.
func (h *Handler) syncInit() error {
	msg := initMsg{Conf: h.Conf, Pid: h.Pid, PreserveFDs: h.Opts.PreserveFDs, Console: h.consoleConn != nil}
	if err := writeMsg(h.syncSock, msgConf, &msg); err != nil {
		// The init may have exited after reporting why: read that first.
		if _, _, rerr := expectMsg(h.syncSock); rerr != nil {
			return h.initDied(rerr)
		}
		return h.initDied(err)
	}
	want := []msgType{msgReady, msgSeccompFd}
	if h.Conf.hasRuntimeHooks() {
		want = []msgType{msgHooks}
	}
	for {
		t, _, err := expectMsg(h.syncSock, want...)
		if err != nil {
			return h.initDied(err)
		}
		if t == msgReady {
			return nil
		}
		if t == msgSeccompFd {
			state := h.Container.OCIState(StatusCreating)
			state.Pid = h.Pid
			if err := forwardSeccompFd(h.syncSock, h.Conf.Seccomp, state); err != nil {
				return err
			}
			continue
		}
		// msgHooks: the mounts are made, pivot_root has not happened.
		// runc (and the conformance suite) give these hooks "created".
		state := h.Container.OCIState(StatusCreated)
		state.Pid = h.Pid
		if err := RunHooks("prestart", h.Conf.Hooks.Prestart, state); err != nil {
			return err
		}
		if err := RunHooks("createRuntime", h.Conf.Hooks.CreateRuntime, state); err != nil {
			return err
		}
		if err := writeMsg(h.syncSock, msgHooksDone, nil); err != nil {
			return h.initDied(err)
		}
		want = []msgType{msgReady, msgSeccompFd}
	}
}

// initDied turns a sync failure into an error: the init's own StageError if
// it sent one, otherwise how it ended.
func (h *Handler) initDied(err error) error {
	var se *StageError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		var ws unix.WaitStatus
		if _, werr := unix.Wait4(h.Pid, &ws, 0, nil); werr == nil {
			h.Pid = 0
			return fmt.Errorf("container init exited before it was ready (%s)", describeWait(ws))
		}
		return errors.New("container init exited before it was ready")
	}
	return fmt.Errorf("sync with container init: %w", err)
}

func describeWait(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d", ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// fini finishes create: the pid file and the "created" record.
func (h *Handler) fini() error {
	h.closeFDs()
	if h.Opts.PidFile != "" {
		if err := WritePidFile(h.Opts.PidFile, h.Pid); err != nil {
			return err
		}
	}
	h.Container.State.Status = StatusCreated
	if err := h.Container.Save(); err != nil {
		return err
	}
	h.cleanups = nil
	return nil
}

// Release hands the container over: the state lock is dropped. The pidfd
// stays open for callers that wait on the init.
func (h *Handler) Release() {
	h.Container.Close()
}

// WritePidFile writes pid as digits with no newline (go-runc parses it with
// strconv.Atoi and no trim), atomically via rename.
func WritePidFile(path string, pid int) error {
	if err := atomicfile.Write(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

func (c *Conf) hasRuntimeHooks() bool {
	return len(c.Hooks.Prestart) > 0 || len(c.Hooks.CreateRuntime) > 0
}
