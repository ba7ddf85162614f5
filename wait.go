package main

import (
	"fmt"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var waitCommand = &cli.Command{
	Name:      "wait",
	Usage:     "wait until a container reaches one of the given states (LXC's lxc-wait)",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringSliceFlag{Name: "state", Aliases: []string{"s"}, Value: cli.NewStringSlice(libstart.StatusStopped),
			Usage: "state to wait for: created, running, paused or stopped (repeatable)"},
		durFlag(cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "give up after this long (default: wait forever)"}),
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		want := c.StringSlice("state")
		for _, s := range want {
			switch s {
			case libstart.StatusCreated, libstart.StatusRunning, libstart.StatusPaused, libstart.StatusStopped:
			default:
				return fmt.Errorf("invalid state %q: want created, running, paused or stopped", s)
			}
		}
		_, err = libstart.WaitFor(c.String("root"), id, want, c.Duration("timeout"))
		return err
	},
}
