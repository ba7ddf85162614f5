package main

import (
	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to the container's init process",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to every process of the container"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 2); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		name := c.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := libstart.ParseSignal(name)
		if err != nil {
			return err
		}
		return libstart.Kill(c.String("root"), id, sig, c.Bool("all"))
	},
}
