package main

import (
	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "suspend all processes of a container (cgroup freezer)",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		return libstart.Pause(c.String("root"), id)
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "resume all processes of a paused container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		return libstart.Resume(c.String("root"), id)
	},
}
