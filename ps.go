package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "display the processes running inside a container",
	ArgsUsage: "<container-id> [ps options]",
	Flags: []cli.Flag{
		strFlag(cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"}),
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, -1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		pids, err := libstart.ContainerPids(c.String("root"), id)
		if err != nil {
			return err
		}
		switch c.String("format") {
		case "json":
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
			return psTable(pids, c.Args().Tail())
		}
		return fmt.Errorf("invalid format option %q", c.String("format"))
	},
}

// psTable runs ps(1) with the given options (default -ef) and keeps the
// header and the lines of the container's processes, as runc does.
func psTable(pids []int, args []string) error {
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		return fmt.Errorf("ps: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps output has no PID column")
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	fmt.Println(lines[0])
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
			fmt.Println(l)
		}
	}
	return nil
}
