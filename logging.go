package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/lxcrun/lxcrun/libstart"
	"github.com/urfave/cli/v2"
)

// logger is runc's logging contract: --log FILE (default stderr) and
// --log-format text|json, one JSON object per line with level, msg and time.
// containerd shows the last "level":"error" msg to its user.
type logger struct {
	out    *os.File
	json   bool
	debug  bool
	stderr bool // out is stderr: errors are not printed twice
}

var log = &logger{out: os.Stderr, stderr: true}

func setupLogging(c *cli.Context) error {
	switch f := c.String("log-format"); f {
	case "text", "":
	case "json":
		log.json = true
	default:
		return fmt.Errorf("invalid log-format: %s", f)
	}
	log.debug = c.Bool("debug")
	if path := c.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		log.out, log.stderr = f, false
	}
	libstart.SetWarn(func(format string, args ...any) { log.write("warning", fmt.Sprintf(format, args...)) })
	if log.debug {
		libstart.SetDebug(func(format string, args ...any) { log.write("debug", fmt.Sprintf(format, args...)) })
	}
	return nil
}

func (l *logger) write(level, msg string) {
	if l.json {
		line, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, time.Now().Format(time.RFC3339Nano)})
		fmt.Fprintf(l.out, "%s\n", line)
		return
	}
	fmt.Fprintf(l.out, "time=%q level=%s msg=%q\n", time.Now().Format(time.RFC3339Nano), level, msg)
}

// logError records a fatal error in the log and, when the log is a file,
// also on stderr, as runc does.
func logError(msg string) {
	if log.stderr && !log.json {
		fmt.Fprintln(os.Stderr, msg)
		return
	}
	log.write("error", msg)
	if !log.stderr {
		fmt.Fprintln(os.Stderr, msg)
	}
}
