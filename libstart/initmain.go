package libstart

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/lxcrun/lxcrun/libstart/nsenter"
	"golang.org/x/sys/unix"
)

// initFDs are the descriptors the parent hands to the init (see clone).
type initFDs struct {
	sync    *os.File
	park    *os.File
	console *os.File // nil without a terminal
}

func parseInitEnv(v string) (initFDs, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 3 {
		return initFDs{}, fmt.Errorf("bad %s=%q", envInit, v)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < -1 {
			return initFDs{}, fmt.Errorf("bad %s=%q", envInit, v)
		}
		n[i] = x
	}
	fds := initFDs{sync: os.NewFile(uintptr(n[0]), "sync"), park: os.NewFile(uintptr(n[1]), "park")}
	if n[2] >= 0 {
		fds.console = os.NewFile(uintptr(n[2]), "console")
	}
	for _, f := range []*os.File{fds.sync, fds.park, fds.console} {
		if f != nil {
			unix.CloseOnExec(int(f.Fd()))
		}
	}
	return fds, nil
}

// InitMain is the container init (`lxcrun init`), dispatched by main before
// any CLI parsing. It returns only on failure, with the exit code; on
// success it has become the container process through execve.
func InitMain() int {
	// Everything up to execve happens on this one thread: namespaces,
	// credentials and capabilities set below are per thread.
	runtime.LockOSThread()
	// Executed through /proc/self/fd/N (the sealed binary), the comm would
	// be "N"; name the process for ps and for humans.
	name := "lxcrun:init"
	env := os.Getenv(envExec)
	if env != "" {
		name = "lxcrun:exec"
	}
	if p, err := unix.BytePtrFromString(name); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	}
	if env != "" {
		return execMain(env)
	}
	fds, err := parseInitEnv(os.Getenv(envInit))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lxcrun init:", err)
		return 1
	}
	os.Unsetenv(envInit)
	// Non-dumpable until execve: the container cannot ptrace or open
	// /proc/<pid>/exe of the runtime binary (CVE-2016-9962, CVE-2019-5736).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		sendError(fds.sync, stageErr("init", "prctl(PR_SET_DUMPABLE)", err))
		return 1
	}
	// A constructor failure is reported before anything is read: when it
	// failed before its fork, the parent waits for the fork's pid message
	// and would wait forever for a config request.
	if err := nsenter.Err(); err != nil {
		sendError(fds.sync, stageErr("namespaces", "nsenter", err))
		return 1
	}
	_, body, err := expectMsg(fds.sync, msgConf)
	if err != nil {
		// The parent died or sent garbage: nothing to report to.
		return 1
	}
	var msg initMsg
	if err := decodeJSON(body, &msg); err != nil || msg.Conf == nil {
		sendError(fds.sync, &StageError{Stage: "init", Op: "decode config", Msg: fmt.Sprint(err)})
		return 1
	}
	conn, err := prepareContainer(&msg, fds)
	if err != nil {
		sendError(fds.sync, err)
		return 1
	}
	err = runContainer(&msg, conn)
	sendError(conn, err)
	return 1
}

// prepareContainer is the create half of the init: everything up to ready,
// then the wait for start on the park socket. It returns the accepted start
// connection.
func prepareContainer(msg *initMsg, fds initFDs) (*os.File, error) {
	conf := msg.Conf
	if ResolveCloneFlags(conf).UnshareCgroup {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return nil, stageErr("namespaces", "unshare cgroup namespace", err)
		}
	}
	if !conf.NoNewKeyring {
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + conf.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return nil, stageErr("keyring", "join session keyring", err)
		}
	}
	r := &rootfs{conf: conf, shared: !conf.HasNamespace(NSMount)}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	if conf.hasRuntimeHooks() {
		if err := writeMsg(fds.sync, msgHooks, nil); err != nil {
			return nil, stageErr("hooks", "request runtime hooks", err)
		}
		if _, _, err := expectMsg(fds.sync, msgHooksDone); err != nil {
			return nil, stageErr("hooks", "wait for runtime hooks", err)
		}
	}
	if err := RunHooks("createContainer", conf.Hooks.CreateContainer, hookState(msg, StatusCreated)); err != nil {
		return nil, stageErr("hooks", "createContainer", err)
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	if fds.console != nil {
		if err := setupConsole(fds.console, conf.Process.ConsoleRows, conf.Process.ConsoleCols, true); err != nil {
			return nil, err
		}
		fds.console.Close()
	}
	// Sysctls are written before readonlyPaths makes /proc/sys read-only.
	if err := setupUTS(conf); err != nil {
		return nil, err
	}
	if err := writeSysctls(conf.Sysctl); err != nil {
		return nil, err
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	path, err := prepareProcess(&conf.Process, msg.PreserveFDs, conf.Seccomp, func(fd int) error { return sendSeccompFd(fds.sync, fd) })
	if err != nil {
		return nil, err
	}
	msg.execPath = path
	if err := writeMsg(fds.sync, msgReady, nil); err != nil {
		return nil, stageErr("ready", "report ready", err)
	}
	fds.sync.Close()
	return park(fds.park)
}

// park waits on the park socket for start's connection and its go message.
func park(l *os.File) (*os.File, error) {
	for {
		nfd, _, err := unix.Accept4(int(l.Fd()), unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, stageErr("park", "accept", err)
		}
		conn := os.NewFile(uintptr(nfd), "start-conn")
		if _, _, err := expectMsg(conn, msgGo); err != nil {
			// Not a start (a probe, or a start that died): keep waiting.
			conn.Close()
			continue
		}
		l.Close()
		return conn, nil
	}
}

// runContainer is the start half: startContainer hooks, then the shared
// final setup and execve. It returns only on failure.
func runContainer(msg *initMsg, conn *os.File) error {
	conf := msg.Conf
	if err := RunHooks("startContainer", conf.Hooks.StartContainer, hookState(msg, StatusCreated)); err != nil {
		return stageErr("hooks", "startContainer", err)
	}
	return execProcess(&conf.Process, msg.execPath, conf.Seccomp, func(fd int) error { return sendSeccompFd(conn, fd) })
}

// hookState is the state given to hooks the init runs itself.
func hookState(msg *initMsg, status string) OCIState {
	c := msg.Conf
	s := OCIState{Rootfs: c.Rootfs}
	s.Version = c.OCIVersion
	s.ID = c.ID
	s.Status = statusOf(status)
	s.Pid = msg.Pid
	s.Bundle = c.Bundle
	s.Annotations = c.Annotations
	return s
}

// lookPath resolves the container's executable with the container's PATH,
// with os/exec's messages, which runc uses too and podman maps to 127/126.
func lookPath(p *Process) (string, error) {
	path := ""
	for _, kv := range p.Env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[len("PATH="):]
		}
	}
	if err := os.Setenv("PATH", path); err != nil {
		return "", err
	}
	found, err := exec.LookPath(p.Args[0])
	if errors.Is(err, syscall.EISDIR) {
		// execve says EACCES for a directory; runc's message, which
		// podman maps to exit 126.
		return "", &exec.Error{Name: p.Args[0], Err: syscall.EACCES}
	}
	return found, err
}
