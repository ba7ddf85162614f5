package main

import (
	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	strFlag(cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the root of the bundle directory"}),
	strFlag(cli.StringFlag{Name: "pid-file", Usage: "file to write the container init's pid to"}),
	strFlag(cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master of a terminal container"}),
	&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root to jail the process inside the rootfs"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring for the container"},
	uFlag(cli.UintFlag{Name: "preserve-fds", Usage: "pass N additional file descriptors (3 .. 3+N-1) to the container"}),
	&cli.BoolFlag{Name: "monitor", Usage: "keep a monitor as the init's parent that records its exit status (not for shims: they reap the init)"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		opts, err := createOpts(c)
		if err != nil {
			return err
		}
		if c.Bool("monitor") {
			return libstart.CreateMonitored(opts)
		}
		h, err := libstart.Create(opts)
		if err != nil {
			return err
		}
		h.Release()
		return nil
	},
}

func createOpts(c *cli.Context) (libstart.CreateOpts, error) {
	id, err := containerID(c)
	if err != nil {
		return libstart.CreateOpts{}, err
	}
	return libstart.CreateOpts{
		Root:          c.String("root"),
		ID:            id,
		Bundle:        c.String("bundle"),
		PidFile:       c.String("pid-file"),
		ConsoleSocket: c.String("console-socket"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   int(c.Uint("preserve-fds")),
		SystemdCgroup: c.Bool("systemd-cgroup"),
	}, nil
}
