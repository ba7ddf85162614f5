package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A trimmed `runc spec` output: enough to check that untouched fields survive.
const specIn = `{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
		"cwd": "/",
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"linux": {"maskedPaths": ["/proc/kcore"], "uidMappings": null}
}`

func boolp(b bool) *bool { return &b }

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	return m
}

func TestApply(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		p            patch
		wantTerminal any // nil: key must be absent
		wantArgs     any
		wantErr      string
	}{
		{
			name:         "no flags changes nothing",
			in:           specIn,
			wantTerminal: true,
			wantArgs:     []any{"sh"},
		},
		{
			name:         "terminal false",
			in:           specIn,
			p:            patch{Terminal: boolp(false)},
			wantTerminal: false,
			wantArgs:     []any{"sh"},
		},
		{
			name:         "args and terminal",
			in:           specIn,
			p:            patch{Terminal: boolp(false), Args: []string{"sh", "-c", "echo hello from lxcrun; uname -n"}},
			wantTerminal: false,
			wantArgs:     []any{"sh", "-c", "echo hello from lxcrun; uname -n"},
		},
		{
			name:         "terminal true again",
			in:           `{"process":{"terminal":false,"args":["true"]}}`,
			p:            patch{Terminal: boolp(true)},
			wantTerminal: true,
			wantArgs:     []any{"true"},
		},
		{
			name:         "missing process is created",
			in:           `{"ociVersion":"1.0.2"}`,
			p:            patch{Args: []string{"/bin/true"}},
			wantTerminal: nil,
			wantArgs:     []any{"/bin/true"},
		},
		{
			name:         "null process is replaced",
			in:           `{"process":null}`,
			p:            patch{Terminal: boolp(false)},
			wantTerminal: false,
			wantArgs:     nil,
		},
		{
			name:         "special characters survive",
			in:           specIn,
			p:            patch{Args: []string{"sh", "-c", `printf '%s\n' "<a&b>" \ ü`}},
			wantTerminal: true,
			wantArgs:     []any{"sh", "-c", `printf '%s\n' "<a&b>" \ ü`},
		},
		{name: "empty args rejected", in: specIn, p: patch{Args: []string{}}, wantErr: "process.args: must not be empty"},
		{name: "not JSON", in: `{"process":`, wantErr: "parse config"},
		{name: "JSON array", in: `[1,2]`, wantErr: "parse config"},
		{name: "JSON null", in: `null`, wantErr: "not a JSON object"},
		{name: "trailing data", in: `{} {}`, wantErr: "trailing data"},
		{name: "process not an object", in: `{"process":"sh"}`, wantErr: "parse config: process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apply([]byte(tc.in), tc.p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, out)
			proc, _ := m["process"].(map[string]any)
			if proc == nil {
				t.Fatalf("no process object in output:\n%s", out)
			}
			if got := proc["terminal"]; !reflect.DeepEqual(got, tc.wantTerminal) {
				t.Errorf("process.terminal = %#v, want %#v", got, tc.wantTerminal)
			}
			if got := proc["args"]; !reflect.DeepEqual(got, tc.wantArgs) {
				t.Errorf("process.args = %#v, want %#v", got, tc.wantArgs)
			}
			// Everything else is unchanged.
			orig := decode(t, []byte(tc.in))
			origProc, _ := orig["process"].(map[string]any)
			for k, v := range origProc {
				if k == "terminal" || k == "args" {
					continue
				}
				if !reflect.DeepEqual(proc[k], v) {
					t.Errorf("process.%s = %#v, want unchanged %#v", k, proc[k], v)
				}
			}
			for k, v := range orig {
				if k == "process" {
					continue
				}
				if !reflect.DeepEqual(m[k], v) {
					t.Errorf("%s = %#v, want unchanged %#v", k, m[k], v)
				}
			}
			if !strings.HasSuffix(string(out), "}\n") {
				t.Errorf("output does not end in a newline")
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: `["sh"]`, want: []string{"sh"}},
		{in: `["sh","-c","echo hello from lxcrun; uname -n"]`, want: []string{"sh", "-c", "echo hello from lxcrun; uname -n"}},
		{in: `[]`, want: []string{}},
		{in: `null`, wantErr: true},
		{in: `sh -c true`, wantErr: true},
		{in: `"sh"`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: ``, wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseArgs(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseArgs(%q) err = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseArgs(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestRunRewritesFileInPlace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(specIn), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"-terminal=false", "-args", `["sh","-c","echo hi"]`, file}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	proc := decode(t, b)["process"].(map[string]any)
	if proc["terminal"] != false || !reflect.DeepEqual(proc["args"], []any{"sh", "-c", "echo hi"}) {
		t.Errorf("process = %v", proc)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600 kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	// Bad input leaves the file untouched.
	if err := run([]string{"-args", "not-json", file}, io.Discard); err == nil {
		t.Error("bad -args accepted")
	}
	if err := run([]string{"-terminal=false", filepath.Join(dir, "missing.json")}, io.Discard); err == nil {
		t.Error("missing file accepted")
	}
	if err := run([]string{"a", "b"}, io.Discard); err == nil {
		t.Error("two files accepted")
	}
	b2, _ := os.ReadFile(file)
	if string(b2) != string(b) {
		t.Error("file changed by a failed run")
	}
}
