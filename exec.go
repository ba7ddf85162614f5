package main

import (
	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "execute a new process inside a running container",
	ArgsUsage: "<container-id> <command> [command options]  ||  -p process.json <container-id>",
	Flags: []cli.Flag{
		strFlag(cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"}),
		strFlag(cli.StringFlag{Name: "cwd", Usage: "current working directory in the container"}),
		strSliceFlag(cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"}),
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		strFlag(cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID (format: <uid>[:<gid>])"}),
		strSliceFlag(cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gids"}),
		strFlag(cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to the process.json"}),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		strFlag(cli.StringFlag{Name: "pid-file", Usage: "file to write the process id to"}),
		strFlag(cli.StringFlag{Name: "process-label", Usage: "set the asm process label for the process commonly used with selinux"}),
		strFlag(cli.StringFlag{Name: "apparmor", Usage: "set the apparmor profile for the process"}),
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set the no new privileges value for the process"},
		strSliceFlag(cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability to the bounding set for the process"}),
		uFlag(cli.UintFlag{Name: "preserve-fds", Usage: "pass N additional file descriptors to the container"}),
		strFlag(cli.StringFlag{Name: "cgroup", Usage: "run the process in a sub-cgroup of the container's"}),
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	SkipFlagParsing: false,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, -1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		ct, err := libstart.OpenForExec(c.String("root"), id, c.Bool("ignore-paused"))
		if err != nil {
			return &codedError{code: 255, err: err}
		}
		defer ct.Close()
		proc, err := libstart.BuildExecProcess(&ct.State.Conf.Process, libstart.ExecRequest{
			ProcessFile: c.String("process"), Args: c.Args().Tail(), Env: c.StringSlice("env"),
			Cwd: c.String("cwd"), User: c.String("user"), AdditionalGids: c.StringSlice("additional-gids"),
			Caps: c.StringSlice("cap"), NoNewPrivs: c.Bool("no-new-privs"), Tty: c.Bool("tty"),
			ProcessLabel: c.String("process-label"), AppArmor: c.String("apparmor"),
		})
		if err != nil {
			return err
		}
		code, err := libstart.Exec(ct, libstart.ExecOpts{
			Root: c.String("root"), ID: id, Process: proc, Detach: c.Bool("detach"),
			PidFile: c.String("pid-file"), ConsoleSocket: c.String("console-socket"),
			PreserveFDs: int(c.Uint("preserve-fds")), IgnorePaused: c.Bool("ignore-paused"),
			SubCgroup: c.String("cgroup"),
		})
		if err != nil {
			// runc exits 255 when the process could not be started.
			return &codedError{code: 255, err: err}
		}
		if code != 0 {
			return &exitError{code: code}
		}
		return nil
	},
}
