package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list the containers under the root directory",
	Flags: []cli.Flag{
		strFlag(cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"}),
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the container ids"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		states, err := libstart.List(c.String("root"))
		if err != nil {
			return err
		}
		switch {
		case c.Bool("quiet"):
			for _, s := range states {
				fmt.Println(s.ID)
			}
		case c.String("format") == "json":
			if states == nil {
				states = []libstart.OCIState{}
			}
			return json.NewEncoder(os.Stdout).Encode(states)
		case c.String("format") == "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("invalid format option %q", c.String("format"))
		}
		return nil
	},
}
