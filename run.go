package main

import (
	"fmt"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and exit with its status",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the container's process"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
	}, createFlags...),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		opts, err := createOpts(c)
		if err != nil {
			return err
		}
		if c.Bool("monitor") && !c.Bool("detach") {
			return fmt.Errorf("--monitor needs --detach: a foreground run records the exit itself")
		}
		code, err := libstart.Run(libstart.RunOpts{CreateOpts: opts, Detach: c.Bool("detach"), Keep: c.Bool("keep"), Monitor: c.Bool("monitor")})
		if err != nil {
			return err
		}
		if code != 0 {
			return &exitError{code: code}
		}
		return nil
	},
}
