// Go 1.25+ reads the cgroup CPU limit at start-up and keeps two cgroup files
// open in every process; lxcrun sets GOMAXPROCS itself where it matters, so
// neither the read nor the open fds (which would reach the init) are wanted.
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command lxcrun is an OCI container runtime with runc's command line and
// LXC's start lifecycle inside.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/lxcrun/lxcrun/libstart/nsenter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// Set at link time by the Makefile.
var (
	version   = "0.1.0-dev"
	gitCommit = "unknown"
)

func main() {
	// The container init is dispatched before any CLI parsing: it must
	// start fast and must not depend on flags.
	// One P: lxcrun does no parallel work, and idle Ps spinning for work
	// cost CPU on every invocation (the containerd shim even passes
	// GOMAXPROCS=4 to its runtime). The runtime already started with one
	// (see nsenter.RestoreEnv); the call covers an empty environment.
	nsenter.RestoreEnv()
	runtime.GOMAXPROCS(1)
	if len(os.Args) > 1 && os.Args[1] == "init" {
		os.Exit(libstart.InitMain())
	}
	if len(os.Args) == 3 && os.Args[1] == "monitor" {
		os.Exit(libstart.MonitorMain(os.Args[2]))
	}
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		os.Exit(fatal(err))
	}
}

func newApp() *cli.App {
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Printf("lxcrun version %s\ncommit: %s\nspec: %s\n", version, gitCommit, specs.Version)
	}
	return &cli.App{
		Name:                 "lxcrun",
		Usage:                "OCI container runtime (runc-compatible, LXC's start lifecycle)",
		Version:              version,
		EnableBashCompletion: false,
		Flags: []cli.Flag{
			strFlag(cli.StringFlag{Name: "root", Value: "/run/lxcrun", Usage: "root directory for storage of container state"}),
			strFlag(cli.StringFlag{Name: "log", Usage: "set the log file to write lxcrun logs to (default is stderr)"}),
			strFlag(cli.StringFlag{Name: "log-format", Value: "text", Usage: "set the log format ('text' or 'json')"}),
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use systemd to manage cgroups (cgroupsPath is slice:prefix:name)"},
			strFlag(cli.StringFlag{Name: "criu", Hidden: true, Usage: "ignored (runc compatibility)"}),
			strFlag(cli.StringFlag{Name: "rootless", Value: "auto", Hidden: true, Usage: "ignored (runc compatibility)"}),
		},
		Before: setupLogging,
		Commands: []*cli.Command{
			createCommand, startCommand, stateCommand, killCommand, deleteCommand,
			runCommand, listCommand, specCommand, featuresCommand,
			pauseCommand, resumeCommand, psCommand, execCommand, updateCommand, eventsCommand, waitCommand,
		},
		CommandNotFound: func(c *cli.Context, cmd string) {
			fmt.Fprintf(os.Stderr, "lxcrun: no such command %q\n", cmd)
			os.Exit(1)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// checkArgs enforces a verb's positional argument count with runc's message.
func checkArgs(c *cli.Context, min, max int) error {
	n := c.NArg()
	switch {
	case min == max && n != min:
		return fmt.Errorf("%q requires exactly %d argument(s)", c.Command.Name, min)
	case n < min:
		return fmt.Errorf("%q requires a minimum of %d argument(s)", c.Command.Name, min)
	case max >= 0 && n > max:
		return fmt.Errorf("%q requires a maximum of %d argument(s)", c.Command.Name, max)
	}
	return nil
}

// oneID is the argument check of the verbs that take exactly one container
// id: the count, then the id itself.
func oneID(c *cli.Context) (string, error) {
	if err := checkArgs(c, 1, 1); err != nil {
		return "", err
	}
	return containerID(c)
}

// containerID returns the first argument, validated.
func containerID(c *cli.Context) (string, error) {
	id := c.Args().First()
	if err := libstart.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// exitError carries an exit code without an error message (run's status).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// codedError is an error with its own exit code (exec: 255).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// fatal logs err once and returns the process exit code.
func fatal(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	code := 1
	var ce *codedError
	if errors.As(err, &ce) {
		code = ce.code
	}
	logError(strings.TrimSpace(err.Error()))
	return code
}
