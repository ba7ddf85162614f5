package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "display container events: resource statistics and OOM notifications",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "display the container's statistics once, then exit"},
		durFlag(cli.DurationFlag{Name: "interval", Value: 5e9, Usage: "interval between statistics events"}),
		&cli.BoolFlag{Name: "lifecycle", Usage: "print a state event for every status change until the container is deleted"},
	},
	Action: func(c *cli.Context) error {
		id, err := oneID(c)
		if err != nil {
			return err
		}
		if c.Bool("lifecycle") {
			enc := json.NewEncoder(os.Stdout)
			return libstart.Lifecycle(c.String("root"), id, func(ev libstart.LifecycleEvent) error { return enc.Encode(ev) })
		}
		if c.Bool("stats") {
			st, err := libstart.ContainerStats(c.String("root"), id)
			if err != nil {
				return err
			}
			line, err := libstart.FormatStatsEvent(id, st)
			if err != nil {
				return err
			}
			fmt.Printf("%s\n", line)
			return nil
		}
		if c.Duration("interval") <= 0 {
			return fmt.Errorf("duration interval must be greater than 0")
		}
		return libstart.StreamEvents(c.String("root"), id, c.Duration("interval"), os.Stdout)
	},
}
