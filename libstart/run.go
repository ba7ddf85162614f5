package libstart

import (
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// RunOpts are the options of run.
type RunOpts struct {
	CreateOpts
	Detach bool
	Keep   bool
	// Monitor (with Detach) leaves a monitor as the init's parent.
	Monitor bool
}

// Run is `run`: create and start. Detached, it returns once the process
// runs. In the foreground it forwards signals to the init, relays the
// terminal when the process has one, waits for the init and returns its
// exit code (128+N when killed by signal N), then deletes the container.
func Run(opts RunOpts) (int, error) {
	if opts.Detach {
		if opts.Monitor {
			if err := CreateMonitored(opts.CreateOpts); err != nil {
				return 0, err
			}
		} else {
			h, err := Create(opts.CreateOpts)
			if err != nil {
				return 0, err
			}
			h.Release()
		}
		return 0, Start(opts.Root, opts.ID)
	}
	// Orphans of a container without its own pid namespace come to us.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigc := notifySignals()

	var tty *terminal
	// config.json is read once, here: Create takes the decoded spec. A
	// config that does not load is left to Create, to report as create does.
	if spec, err := LoadSpec(opts.Bundle); err == nil {
		opts.Spec = spec
	}
	if opts.ConsoleSocket == "" {
		if opts.Spec != nil && opts.Spec.Process != nil && opts.Spec.Process.Terminal {
			pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return 0, fmt.Errorf("console socketpair: %w", err)
			}
			opts.ConsoleFile = os.NewFile(uintptr(pair[1]), "console-child")
			tty = &terminal{recv: os.NewFile(uintptr(pair[0]), "console")}
			defer tty.recv.Close()
		}
	}
	h, err := Create(opts.CreateOpts)
	if opts.ConsoleFile != nil {
		opts.ConsoleFile.Close()
	}
	if err != nil {
		return 0, err
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			h.Container.Close()
			_ = Delete(opts.Root, opts.ID, true)
			return 0, err
		}
		defer tty.restore()
	}
	h.Release()
	if err := Start(opts.Root, opts.ID); err != nil {
		_ = Delete(opts.Root, opts.ID, true)
		return 0, err
	}
	code, ws := forwardAndWait(h.Pid, sigc, tty)
	if tty != nil {
		tty.drain()
	}
	if opts.Keep {
		_ = recordExit(opts.Root, opts.ID, newExitRecord(ws, h.oomKilled()))
	} else {
		if err := Delete(opts.Root, opts.ID, true); err != nil {
			return code, err
		}
	}
	return code, nil
}

// forwardedSignals are the signals run and exec relay to the process (plus
// SIGCHLD to reap it and SIGWINCH to resize its terminal). A fixed list,
// not signal.Notify for all 64: each registration is a round trip with
// Go's signal handling that, for all of them, cost a millisecond or two
// per invocation. Real-time signals are not forwarded.
var forwardedSignals = []os.Signal{
	unix.SIGCHLD, unix.SIGWINCH,
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGPWR,
	unix.SIGVTALRM, unix.SIGPROF, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGIO, unix.SIGSYS,
}

// notifySignals registers the forwarded signals. It is never undone: the
// caller exits once the process has.
func notifySignals() chan os.Signal {
	sigc := make(chan os.Signal, 64)
	signal.Notify(sigc, forwardedSignals...)
	return sigc
}

// forwardAndWait relays signals to the init until it exits and reaps every
// child (we are a subreaper), returning the init's exit code and status.
func forwardAndWait(pid int, sigc chan os.Signal, tty *terminal) (int, unix.WaitStatus) {
	for sig := range sigc {
		switch sig {
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if err != nil || wpid <= 0 {
					break
				}
				if wpid == pid {
					return exitCode(ws), ws
				}
			}
		case unix.SIGWINCH:
			if tty != nil {
				tty.resize()
			}
		case unix.SIGURG:
			// Go's own preemption signal.
		default:
			_ = unix.Kill(pid, sig.(unix.Signal))
		}
	}
	return 255, 0
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
