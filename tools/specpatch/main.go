// Command specpatch edits an OCI config.json in place: it sets
// process.terminal and/or process.args and leaves every other field as it was.
//
//	specpatch [-terminal=false] [-args '["sh","-c","echo hi"]'] [FILE]
//
// FILE defaults to config.json in the current directory. Only the flags
// given on the command line are applied. The file is rewritten atomically
// (temporary file + rename) with its original permissions.
//
// The Makefile uses it to turn `lxcrun spec` output into the demo bundle.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// patch is what the command line asked for; nil fields are left alone.
type patch struct {
	Terminal *bool
	Args     []string
}

// apply returns config (a JSON object) with p applied. Unknown fields are
// kept; the output is indented with tabs like runc's `spec`.
func apply(config []byte, p patch) ([]byte, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(config))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if doc == nil {
		return nil, errors.New("parse config: not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("parse config: trailing data after the JSON object")
	}

	process := map[string]json.RawMessage{}
	if raw, ok := doc["process"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &process); err != nil {
			return nil, fmt.Errorf("parse config: process: %w", err)
		}
	}
	if p.Terminal != nil {
		process["terminal"], _ = json.Marshal(*p.Terminal)
	}
	if p.Args != nil {
		if len(p.Args) == 0 {
			return nil, errors.New("process.args: must not be empty")
		}
		var err error
		if process["args"], err = json.Marshal(p.Args); err != nil {
			return nil, err
		}
	}
	var err error
	if doc["process"], err = json.Marshal(process); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// parseArgs decodes the -args flag value, a JSON array of strings.
func parseArgs(s string) ([]string, error) {
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		return nil, fmt.Errorf("-args: want a JSON array of strings: %w", err)
	}
	if args == nil {
		return nil, errors.New("-args: want a JSON array of strings, got null")
	}
	return args, nil
}

// writeFileAtomic replaces path with data, keeping path's permission bits.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func run(argv []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("specpatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: specpatch [-terminal=BOOL] [-args JSON-ARRAY] [FILE (default config.json)]")
		fs.PrintDefaults()
	}
	terminal := fs.Bool("terminal", false, "set process.terminal")
	argsJSON := fs.String("args", "", `set process.args, a JSON array, e.g. '["sh","-c","echo hi"]'`)
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("at most one FILE")
	}
	file := "config.json"
	if fs.NArg() == 1 {
		file = fs.Arg(0)
	}

	var p patch
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "terminal":
			p.Terminal = terminal
		case "args":
			if p.Args, err = parseArgs(*argsJSON); err != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}

	in, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, err := apply(in, p)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return writeFileAtomic(file, out)
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "specpatch:", err)
		os.Exit(1)
	}
}
