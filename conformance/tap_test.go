package conformance

import (
	"reflect"
	"strings"
	"testing"
)

// yamlBlock renders a diagnostic the way tap-go (JSON flavour) prints it.
func yamlBlock(body ...string) string {
	return "  ---\n  {\n" + strings.Join(body, "\n") + "\n  }\n  ...\n"
}

func TestParseTAP(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want TAPCounts
	}{
		{"empty", "", TAPCounts{Plan: -1}},
		{"header only", "TAP version 13\n", TAPCounts{Plan: -1}},
		{"plain", "TAP version 13\nok 1 - a\nok 2 - b\nnot ok 3 - c\n1..3\n",
			TAPCounts{Pass: 2, Fail: 1, Plan: 3}},
		{"plan first", "TAP version 13\n1..2\nok 1 - a\nok 2 - b\n",
			TAPCounts{Pass: 2, Plan: 2}},
		{"no trailing newline", "ok 1 - a\n1..1", TAPCounts{Pass: 1, Plan: 1}},
		{"bare ok and not ok", "ok\nnot ok\n", TAPCounts{Pass: 1, Fail: 1, Plan: -1}},
		{"skip counts as pass", "ok 1 # SKIP no cgroup\nok 2 # skip lower case\nok 3 #skip\n1..3\n",
			TAPCounts{Pass: 3, Skip: 3, Plan: 3}},
		{"todo counts as pass", "not ok 1 # TODO later\nnot ok 2 #todo\nok 3 # TODO done early\n1..3\n",
			TAPCounts{Pass: 3, Todo: 2, Plan: 3}},
		{"skip on not ok is a failure", "not ok 1 # SKIP but failed\n", TAPCounts{Fail: 1, Plan: -1}},
		{"words that merely start like ok", "okay 1\nnot okay 2\nok1\n", TAPCounts{Plan: -1}},
		{"indented results are nested and ignored",
			"ok 1 - outer\n" + yamlBlock(`    "stdout": "x"`) + "    ok 1 - inner\n    not ok 2 - inner\n  not ok 3\n1..1\n",
			TAPCounts{Pass: 1, Plan: 1, YAML: 1}},
		{"plans of several streams are summed",
			"TAP version 13\nok 1\n1..1\nTAP version 13\nok 1\nok 2\n1..2\n",
			TAPCounts{Pass: 3, Plan: 3}},
		{"plan with trailing text", "1..4 # a comment\nok 1\n", TAPCounts{Pass: 1, Plan: 4}},
		{"autoplan of zero", "TAP version 13\n1..0\n", TAPCounts{Plan: 0}},
		{"bail out", "ok 1\nBail out! no runtime\n", TAPCounts{Pass: 1, Plan: -1, Bail: true}},
		{"indented bail out is not a bail out", "  Bail out! nested\n", TAPCounts{Plan: -1}},
		{"yaml blocks counted",
			"TAP version 13\n" + yamlBlock(`    "error": "boom"`) + yamlBlock(`    "error": "bang"`) + "1..0\n",
			TAPCounts{Plan: 0, YAML: 2}},
		{"yaml marker needs exactly two spaces", "   ---\n---\n  --- x\n  ---  \t\n",
			TAPCounts{Plan: -1, YAML: 1}},
		{"comments ignored", "# ok 1\n# not ok 2\n# 1..5\nok 1\n", TAPCounts{Pass: 1, Plan: -1}},
		{"CRLF lines still count results", "ok 1\r\nnot ok 2\r\n", TAPCounts{Pass: 1, Fail: 1, Plan: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseTAPString(tt.in)
			if got != tt.want {
				t.Errorf("ParseTAP(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTAPLongLine(t *testing.T) {
	// runtimetest's whole output sits in one JSON string: far beyond bufio.Scanner's limit
	long := `    "stdout": "` + strings.Repeat("x", 1<<20) + `"`
	in := "ok 1\n" + yamlBlock(long) + "not ok 2\n1..2\n"
	want := TAPCounts{Pass: 1, Fail: 1, Plan: 2, YAML: 1}
	if got := ParseTAPString(in); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestScoreProgram(t *testing.T) {
	type verdict struct {
		ok, failed, total int
		aborted, diagOnly bool
		full              bool
	}
	tests := []struct {
		name      string
		tap       string
		exit      Exit
		want      verdict
		wantNotes []string
	}{
		{"all pass", "ok 1\nok 2\n1..2\n", Exit{}, verdict{2, 0, 2, false, false, true}, nil},
		{"one failure", "ok 1\nnot ok 2\n1..2\n", Exit{}, verdict{1, 1, 2, false, false, false}, nil},
		{"skips and todos pass", "ok 1 # SKIP x\nnot ok 2 # TODO y\n1..2\n", Exit{},
			verdict{2, 0, 2, false, false, true}, []string{"1 skipped", "1 todo"}},
		{"missing planned items fail", "1..5\nok 1\nok 2\n", Exit{},
			verdict{2, 3, 5, false, false, false}, []string{"3 planned assertion(s) missing"}},
		{"fewer planned than ran: plan ignored", "ok 1\nok 2\nok 3\n1..2\n", Exit{},
			verdict{3, 0, 3, false, false, true}, nil},
		{"crash after results adds a synthetic failure", "ok 1\nok 2\n", Exit{Code: 2},
			verdict{2, 1, 3, true, false, false}, []string{"exit 2", "+1 synthetic failure"}},
		{"crash with missing plan items: no synthetic failure", "1..3\nok 1\n", Exit{Code: 1},
			verdict{1, 2, 3, true, false, false}, []string{"exit 1", "2 planned assertion(s) missing"}},
		{"all ok but non-zero exit", "ok 1\n1..1\n", Exit{Code: 1},
			verdict{1, 1, 2, true, false, false}, []string{"exit 1", "+1 synthetic failure"}},
		{"timeout", "ok 1\n", Exit{Code: 124, TimedOut: true},
			verdict{1, 1, 2, true, false, false}, []string{"timed out after 120s", "+1 synthetic failure"}},
		{"interrupted", "ok 1\n", Exit{Code: 124, TimedOut: true, Interrupted: true},
			verdict{1, 1, 2, true, false, false}, []string{"interrupted", "+1 synthetic failure"}},
		{"killed by signal", "ok 1\n1..1\n", Exit{Code: 137},
			verdict{1, 1, 2, true, false, false}, []string{"exit 137", "+1 synthetic failure"}},
		{"bail out with exit 0", "ok 1\nBail out! gone\n", Exit{},
			verdict{1, 1, 2, true, false, false}, []string{"bail out", "+1 synthetic failure"}},
		{"diagnostic-only clean", "TAP version 13\n1..0\n", Exit{},
			verdict{1, 0, 1, false, true, true}, []string{"diagnostic-only: clean, counted 1 pass"}},
		{"diagnostic-only with no output at all", "", Exit{},
			verdict{1, 0, 1, false, true, true}, []string{"diagnostic-only: clean, counted 1 pass"}},
		{"diagnostic-only with error block", "TAP version 13\n" + yamlBlock(`    "error": "hooks out of order"`) + "1..0\n", Exit{},
			verdict{0, 1, 1, false, true, false}, []string{"diagnostic-only: error diagnostic, counted 1 failure"}},
		{"diagnostic-only aborted", "TAP version 13\n", Exit{Code: 1},
			verdict{0, 1, 1, true, true, false}, []string{"exit 1", "no assertions, counted 1 failure"}},
		{"diagnostic-only aborted with yaml", yamlBlock(`    "error": "x"`), Exit{Code: 1},
			verdict{0, 1, 1, true, true, false}, []string{"exit 1", "no assertions, counted 1 failure"}},
		{"diagnostic-only timed out", "", Exit{Code: 124, TimedOut: true},
			verdict{0, 1, 1, true, true, false}, []string{"timed out after 120s", "no assertions, counted 1 failure"}},
		{"nested failures do not count", "ok 1\n" + yamlBlock(`    "stdout": "not ok 1 - inner"`) + "    not ok 1 - inner\n1..1\n", Exit{},
			verdict{1, 0, 1, false, false, true}, nil},
		{"yaml blocks beside results do not matter", "ok 1\n" + yamlBlock(`    "error": "x"`) + "1..1\n", Exit{},
			verdict{1, 0, 1, false, false, true}, nil},
		{"two streams, second one short", "1..1\nok 1\n1..3\nok 1\n", Exit{},
			verdict{2, 2, 4, false, false, false}, []string{"2 planned assertion(s) missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ScoreProgram(ParseTAPString(tt.tap), tt.exit, "120s")
			got := verdict{s.OK, s.Failed, s.Total, s.Aborted, s.DiagOnly, s.FullyPassing()}
			if got != tt.want {
				t.Errorf("score = %+v, want %+v (notes %q)", got, tt.want, s.Notes)
			}
			if s.OK+s.Failed != s.Total {
				t.Errorf("ok %d + failed %d != total %d", s.OK, s.Failed, s.Total)
			}
			if tt.wantNotes != nil && !reflect.DeepEqual(s.Notes, tt.wantNotes) {
				t.Errorf("notes = %q, want %q", s.Notes, tt.wantNotes)
			}
		})
	}
}

func TestFailureDetails(t *testing.T) {
	in := "TAP version 13\n" +
		"ok 1 - fine\n" +
		yamlBlock(`    "reference": "r"`) +
		yamlBlock(`    "stdout": "TAP version 13\nok 1 - hostname\nnot ok 2 - rlimit RLIMIT_NOFILE soft\nnot ok 3 # TODO later\n1..3\n",`,
			`    "stderr": ""`) +
		"ok 2 - an expected error\n" +
		yamlBlock(`    "error": "exit status 1 (expected: not shown)"`) +
		"not ok 2 - create with '--pid-file' option works\n" +
		yamlBlock(`    "error": "exit status 1",`, `    "stderr": "no such container\n"`) +
		"not ok 3 # TODO ignored\n" +
		"1..3\n"
	got := FailureDetails([]byte(in), 10, 0)
	want := []string{
		"inside: not ok 2 - rlimit RLIMIT_NOFILE soft",
		"not ok 2 - create with '--pid-file' option works",
		"error: exit status 1",
		`stderr: no such container`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FailureDetails:\n got %q\nwant %q", got, want)
	}
	if got := FailureDetails([]byte(in), 2, 10); len(got) != 2 || got[0] != "inside: no..." {
		t.Errorf("limits not applied: %q", got)
	}
	diagOnly := "TAP version 13\n" + yamlBlock(`    "error": "hooks out of order"`) + "1..0\n"
	if got := FailureDetails([]byte(diagOnly), 5, 0); !reflect.DeepEqual(got, []string{"error: hooks out of order"}) {
		t.Errorf("diagnostic-only: %q", got)
	}
}
