package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "create a new specification file (config.json)",
	Flags: []cli.Flag{
		strFlag(cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the root of the bundle directory"}),
		&cli.BoolFlag{Name: "rootless", Usage: "generate a configuration for a rootless container"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		spec := libstart.ExampleSpec()
		if c.Bool("rootless") {
			libstart.ToRootless(spec)
		}
		path := filepath.Join(c.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			//lint:ignore ST1005 runc's exact text, which scripts match on
			return errors.New("File config.json exists. Remove it first")
		}
		data, err := json.MarshalIndent(spec, "", "\t")
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o666); err != nil {
			return fmt.Errorf("write config.json: %w", err)
		}
		return nil
	},
}
