// The Go runtime (1.25+) keeps cgroup cpu.cfs_quota_us/cpu.max fds open for
// container-aware GOMAXPROCS; they would show up in `fds` as false leaks.
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command ctrhelper checks things from inside a container. The integration
// tests copy it into their busybox rootfs as /bin/ctrhelper and run it as the
// container process (or through exec). It is built static with CGO_ENABLED=0.
//
// Every subcommand prints to stdout and exits 0, unless the check itself could
// not be done (exit 1, message on stderr) or the command line is wrong (exit 2).
// Multi-value answers are printed one "key=value" per line.
//
//	status          /proc/self/status lines Cap*, NoNewPrivs, Uid, Gid, Groups, Seccomp* as-is
//	caps            CapInh=, CapPrm=, CapEff=, CapBnd=, CapAmb= (hex, from status)
//	fds             open fds, "N -> target" per line (the helper's own fds are not listed)
//	cwd             the kernel's getcwd(2) answer, raw (may start with "(unreachable)")
//	env             the environment, one VAR=value per line
//	umask           the umask in octal, e.g. 0022
//	rlimit NAME     "soft hard" for NAME (nofile, nproc, core, RLIMIT_NOFILE, ...);
//	                infinity is printed as "unlimited"
//	hostname        hostname= and domainname= from uname(2)
//	pid             pid= and ppid=
//	stat [-L] PATH  type=, mode= (octal, with suid/sgid/sticky), uid=, gid=, size=,
//	                and rdev=MAJOR:MINOR for devices, target= for symlinks (lstat unless -L)
//	mounts          /proc/self/mountinfo as-is
//	write PATH      open PATH for writing (O_WRONLY|O_CREAT; a directory: create and
//	                remove a file in it); prints "ok" or the errno name (EROFS, EACCES...);
//	                exits 0 either way
//	sleep SECONDS   sleep (fractions allowed)
//	exit N          exit with status N
//	signal-self SIG reset SIG to its default action and send it to itself
//	                (name like TERM/SIGTERM or a number); prints "survived SIG" and exits
//	                0 if the process is still alive afterwards (ignored by default, e.g. CHLD;
//	                and any signal when it runs as PID 1 of a pid namespace, whose default
//	                actions the kernel does not apply: run it under `sh -c '...; true'` then)
//	tty             stdin=, stdout=, stderr= (true/false: is it a terminal) and
//	                ttyname= (readlink /proc/self/fd/0)
//
// The Go runtime raises its soft RLIMIT_NOFILE at start-up. `rlimit nofile`
// undoes that: it reads the limit of a child stopped right after execve (the
// Go runtime restores the original limit in children), and falls back to the
// current value with a warning on stderr if that is not possible.
//
// The helper opens files with raw syscalls and disables the Go runtime's
// cgroup-aware GOMAXPROCS, so that `fds` lists only what the container was
// given. (If stdin/stdout/stderr are non-blocking, the Go runtime adds them to
// its poller, and an epoll fd and an eventfd will be listed too.)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// usageError is a wrong command line: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

type command struct {
	nargs int // exact number of arguments; -1: checked by the command
	usage string
	run   func(args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"status":      {0, "status", cmdStatus},
		"caps":        {0, "caps", cmdCaps},
		"fds":         {0, "fds", cmdFds},
		"cwd":         {0, "cwd", cmdCwd},
		"env":         {0, "env", cmdEnv},
		"umask":       {0, "umask", cmdUmask},
		"rlimit":      {1, "rlimit NAME", cmdRlimit},
		"hostname":    {0, "hostname", cmdHostname},
		"pid":         {0, "pid", cmdPid},
		"stat":        {-1, "stat [-L] PATH", cmdStat},
		"mounts":      {0, "mounts", cmdMounts},
		"write":       {1, "write PATH", cmdWrite},
		"sleep":       {1, "sleep SECONDS", cmdSleep},
		"exit":        {1, "exit N", cmdExit},
		"signal-self": {1, "signal-self SIG", cmdSignalSelf},
		"tty":         {0, "tty", cmdTty},
	}
}

func usage() string {
	var names []string
	for _, c := range commands {
		names = append(names, "  ctrhelper "+c.usage)
	}
	sort.Strings(names)
	return "usage:\n" + strings.Join(names, "\n")
}

var out = bufio.NewWriter(os.Stdout)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage())
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Println(usage())
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "ctrhelper: unknown command %q\n%s\n", name, usage())
		os.Exit(2)
	}
	var err error
	if c.nargs >= 0 && len(args) != c.nargs {
		err = usageError("usage: ctrhelper " + c.usage)
	} else {
		err = c.run(args)
	}
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ctrhelper %s: %v\n", name, err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// readFileRaw reads a whole file with raw syscalls. os.Open would register
// the fd with the Go netpoller, creating an epoll fd and an eventfd that
// would then show up in `fds`.
func readFileRaw(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var data []byte
	buf := make([]byte, 64*1024)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = append(data, buf[:n]...)
	}
}

func statusLines(match func(key string) bool) ([]string, error) {
	data, err := readFileRaw("/proc/self/status")
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		key, _, ok := strings.Cut(line, ":")
		if ok && match(key) {
			lines = append(lines, line)
		}
	}
	return lines, nil
}

func cmdStatus([]string) error {
	lines, err := statusLines(func(k string) bool {
		switch k {
		case "NoNewPrivs", "Uid", "Gid", "Groups":
			return true
		}
		return strings.HasPrefix(k, "Cap") || strings.HasPrefix(k, "Seccomp")
	})
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return nil
}

func cmdCaps([]string) error {
	lines, err := statusLines(func(k string) bool { return strings.HasPrefix(k, "Cap") })
	if err != nil {
		return err
	}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		fmt.Fprintf(out, "%s=%s\n", k, strings.TrimSpace(v))
	}
	return nil
}

func cmdFds([]string) error {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/proc/self/fd", Err: err}
	}
	var names []string
	buf := make([]byte, 16*1024)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(dir)
			return &os.PathError{Op: "getdents", Path: "/proc/self/fd", Err: err}
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	unix.Close(dir)

	var fds []int
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == dir {
			continue
		}
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if errors.Is(err, unix.ENOENT) {
			continue // closed meanwhile (by the Go runtime)
		}
		if err != nil {
			target = "? (" + errnoName(err) + ")"
		}
		fmt.Fprintf(out, "%d -> %s\n", fd, target)
	}
	return nil
}

func cmdCwd([]string) error {
	buf := make([]byte, unix.PathMax+1)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("getcwd: %w", err)
	}
	// n counts the terminating NUL.
	fmt.Fprintln(out, string(bytes.TrimRight(buf[:n], "\x00")))
	return nil
}

func cmdEnv([]string) error {
	for _, kv := range os.Environ() {
		fmt.Fprintln(out, kv)
	}
	return nil
}

func cmdUmask([]string) error {
	old := unix.Umask(0)
	unix.Umask(old)
	fmt.Fprintf(out, "%04o\n", old)
	return nil
}

var rlimits = map[string]int{
	"as":         unix.RLIMIT_AS,
	"core":       unix.RLIMIT_CORE,
	"cpu":        unix.RLIMIT_CPU,
	"data":       unix.RLIMIT_DATA,
	"fsize":      unix.RLIMIT_FSIZE,
	"locks":      unix.RLIMIT_LOCKS,
	"memlock":    unix.RLIMIT_MEMLOCK,
	"msgqueue":   unix.RLIMIT_MSGQUEUE,
	"nice":       unix.RLIMIT_NICE,
	"nofile":     unix.RLIMIT_NOFILE,
	"nproc":      unix.RLIMIT_NPROC,
	"rss":        unix.RLIMIT_RSS,
	"rtprio":     unix.RLIMIT_RTPRIO,
	"rttime":     unix.RLIMIT_RTTIME,
	"sigpending": unix.RLIMIT_SIGPENDING,
	"stack":      unix.RLIMIT_STACK,
}

func cmdRlimit(args []string) error {
	name := strings.TrimPrefix(strings.ToLower(args[0]), "rlimit_")
	res, ok := rlimits[name]
	if !ok {
		return usageError(fmt.Sprintf("unknown rlimit %q", args[0]))
	}
	var lim unix.Rlimit
	if err := unix.Prlimit(0, res, nil, &lim); err != nil {
		return fmt.Errorf("prlimit: %w", err)
	}
	// The Go runtime sets soft nofile to hard-1 at start-up when it was lower.
	if res == unix.RLIMIT_NOFILE && lim.Max != unix.RLIM_INFINITY && lim.Max > 0 && lim.Cur == lim.Max-1 {
		orig, err := childNofile()
		if err != nil {
			fmt.Fprintf(os.Stderr, "ctrhelper rlimit: warning: cannot undo the Go runtime's nofile raise (%v); soft limit may be wrong\n", err)
		} else {
			lim = orig
		}
	}
	fmt.Fprintf(out, "%s %s\n", rlimString(lim.Cur), rlimString(lim.Max))
	return nil
}

func rlimString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// childNofile returns the RLIMIT_NOFILE a child of ours starts with: the
// limit this process had before the Go runtime raised it. The child is
// traced so it stops right after execve, before any of its code runs.
func childNofile() (unix.Rlimit, error) {
	var lim unix.Rlimit
	runtime.LockOSThread() // ptrace: the tracer is this thread
	defer runtime.UnlockOSThread()
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"ctrhelper", "exit", "0"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{Ptrace: true},
	})
	if err != nil {
		return lim, fmt.Errorf("start traced child: %w", err)
	}
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
	}()
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return lim, fmt.Errorf("wait traced child: %w", err)
	}
	if !ws.Stopped() {
		return lim, fmt.Errorf("traced child did not stop (status %#x)", uint32(ws))
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		return lim, fmt.Errorf("prlimit child: %w", err)
	}
	return lim, nil
}

func cmdHostname([]string) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	fmt.Fprintf(out, "hostname=%s\ndomainname=%s\n", unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]))
	return nil
}

func cmdPid([]string) error {
	fmt.Fprintf(out, "pid=%d\nppid=%d\n", unix.Getpid(), unix.Getppid())
	return nil
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "unknown"
}

func cmdStat(args []string) error {
	follow := false
	if len(args) == 2 && args[0] == "-L" {
		follow, args = true, args[1:]
	}
	if len(args) != 1 {
		return usageError("usage: ctrhelper stat [-L] PATH")
	}
	path := args[0]
	var st unix.Stat_t
	var err error
	if follow {
		err = unix.Stat(path, &st)
	} else {
		err = unix.Lstat(path, &st)
	}
	if err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	typ := fileType(st.Mode)
	fmt.Fprintf(out, "type=%s\nmode=%04o\nuid=%d\ngid=%d\nsize=%d\n", typ, st.Mode&07777, st.Uid, st.Gid, st.Size)
	if typ == "char" || typ == "block" {
		fmt.Fprintf(out, "rdev=%d:%d\n", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
	}
	if typ == "symlink" {
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "target=%s\n", target)
	}
	return nil
}

func cmdMounts([]string) error {
	data, err := readFileRaw("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	_, err = out.Write(data)
	return err
}

func errnoName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
		return "errno " + strconv.Itoa(int(errno))
	}
	return err.Error()
}

func cmdWrite(args []string) error {
	path := args[0]
	var st unix.Stat_t
	if unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		name := fmt.Sprintf("%s/.ctrhelper-write-%d", strings.TrimRight(path, "/"), unix.Getpid())
		fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err != nil {
			fmt.Fprintln(out, errnoName(err))
			return nil
		}
		unix.Close(fd)
		unix.Unlink(name)
		fmt.Fprintln(out, "ok")
		return nil
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOCTTY, 0o644)
	if err != nil {
		fmt.Fprintln(out, errnoName(err))
		return nil
	}
	unix.Close(fd)
	fmt.Fprintln(out, "ok")
	return nil
}

func cmdSleep(args []string) error {
	secs, err := strconv.ParseFloat(args[0], 64)
	if err != nil || secs < 0 {
		return usageError(fmt.Sprintf("bad SECONDS %q", args[0]))
	}
	time.Sleep(time.Duration(secs * float64(time.Second)))
	return nil
}

func cmdExit(args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || n > 255 {
		return usageError(fmt.Sprintf("bad exit status %q (0-255)", args[0]))
	}
	os.Exit(n)
	return nil
}

func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, usageError(fmt.Sprintf("bad signal number %d", n))
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, usageError(fmt.Sprintf("unknown signal %q", s))
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on Linux.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

func cmdSignalSelf(args []string) error {
	sig, err := parseSignal(args[0])
	if err != nil {
		return err
	}
	out.Flush()
	if sig != unix.SIGKILL && sig != unix.SIGSTOP {
		// Undo the Go runtime's handler so the kernel's default action applies
		// (a Go program would otherwise exit 2 on SIGQUIT and friends).
		act := kernelSigaction{handler: 0 /* SIG_DFL */}
		if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); errno != 0 {
			return fmt.Errorf("rt_sigaction(%v): %w", sig, errno)
		}
	}
	runtime.LockOSThread()
	// Unblock it on this thread, then send it to this thread.
	var set unix.Sigset_t
	set.Val[(int(sig)-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	if err := unix.Tgkill(unix.Getpid(), unix.Gettid(), sig); err != nil {
		return fmt.Errorf("tgkill: %w", err)
	}
	if sig == unix.SIGSTOP {
		// Continued: report as survived like any non-fatal signal.
		time.Sleep(10 * time.Millisecond)
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(out, "survived %s\n", unix.SignalName(sig))
	return nil
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func cmdTty([]string) error {
	fmt.Fprintf(out, "stdin=%t\nstdout=%t\nstderr=%t\n", isTerminal(0), isTerminal(1), isTerminal(2))
	name, err := os.Readlink("/proc/self/fd/0")
	if err != nil {
		name = "? (" + errnoName(err) + ")"
	}
	fmt.Fprintf(out, "ttyname=%s\n", name)
	return nil
}
