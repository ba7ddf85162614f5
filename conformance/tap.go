// Package conformance is lxcrun's OCI runtime conformance harness: it builds the
// opencontainers/runtime-tools v0.9.0 validation suite from the Go module proxy
// (pinned module graph in testdata/), runs every validation program against the
// runtime named by $LXCRUN_BIN and checks the results against expected.txt.
//
// This file holds the TAP scoring, which follows the counting rules of the team's
// oci-validation script exactly (so numbers from both are comparable):
//
//   - only top-level "ok"/"not ok" lines count (the nested TAP that runtimetest
//     prints ends up indented inside YAML blocks and is ignored); "ok ... # SKIP"
//     counts as passed, "not ok ... # TODO" counts as passed;
//   - plans "1..K" are summed over all TAP streams a program prints; if fewer
//     results than planned appeared, the missing ones count as failed;
//   - a program that exits non-zero, times out or bails out is "aborted": unless
//     that already produced a missing-plan failure, one synthetic failed assertion
//     is added, so a crash can never look like a pass;
//   - "diagnostic-only" programs (hook tests, *_fail tests) print no ok/not ok at
//     all: they count as ONE assertion, passed when the program exited 0 without
//     printing any top-level YAML block, failed otherwise;
//   - a program is "fully passing" when it has no failed assertion and did not abort.
package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// TAPCounts is what ParseTAP finds in one program's standard output.
type TAPCounts struct {
	Pass int  // top-level "ok" lines plus "not ok ... # TODO" lines
	Fail int  // top-level "not ok" lines without a TODO directive
	Skip int  // "ok" lines with a SKIP directive (included in Pass)
	Todo int  // "not ok" lines with a TODO directive (included in Pass)
	Plan int  // sum of all "1..K" plans; -1 when no plan was printed
	Bail bool // a "Bail out!" line was seen
	YAML int  // top-level YAML blocks ("  ---" lines)
}

var (
	reYAMLStart = regexp.MustCompile(`^  ---[ \t]*$`)
	reOK        = regexp.MustCompile(`^ok( |$)`)
	reNotOK     = regexp.MustCompile(`^not ok( |$)`)
	reSkip      = regexp.MustCompile(`#[ \t]*[Ss][Kk][Ii][Pp]`)
	reTodo      = regexp.MustCompile(`#[ \t]*[Tt][Oo][Dd][Oo]`)
	rePlan      = regexp.MustCompile(`^1\.\.([0-9]+)`)
	reBail      = regexp.MustCompile(`^Bail out!`)
)

// readLines calls fn for every line of r (without the trailing "\n"; a final line
// without a newline is still a line). Lines may be arbitrarily long: runtimetest's
// whole output can sit in a single JSON string.
func readLines(r io.Reader, fn func(line string)) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			fn(strings.TrimSuffix(line, "\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ParseTAP counts the top-level TAP lines of one program's output.
func ParseTAP(r io.Reader) (TAPCounts, error) {
	c := TAPCounts{Plan: -1}
	err := readLines(r, func(line string) {
		switch {
		case reYAMLStart.MatchString(line):
			c.YAML++
		case reOK.MatchString(line):
			c.Pass++
			if reSkip.MatchString(line) {
				c.Skip++
			}
		case reNotOK.MatchString(line):
			if reTodo.MatchString(line) {
				c.Pass++
				c.Todo++
			} else {
				c.Fail++
			}
		case rePlan.MatchString(line):
			// a program may print several TAP streams (e.g. linux_cgroups_cpus)
			n, err := strconv.Atoi(rePlan.FindStringSubmatch(line)[1])
			if err != nil {
				n = 0 // absurdly long number; awk would not do better
			}
			if c.Plan < 0 {
				c.Plan = 0
			}
			c.Plan += n
		case reBail.MatchString(line):
			c.Bail = true
		}
	})
	return c, err
}

// ParseTAPString is ParseTAP for in-memory output.
func ParseTAPString(s string) TAPCounts {
	c, _ := ParseTAP(strings.NewReader(s)) // a strings.Reader never fails
	return c
}

// Exit describes how a validation program ended.
type Exit struct {
	Code        int  // exit status; 128+N when killed by signal N
	TimedOut    bool // killed by the harness's per-program timeout (or an interrupt)
	Interrupted bool // killed because the run was interrupted
}

// Score is the verdict for one program.
type Score struct {
	OK       int      // assertions passed
	Failed   int      // assertions failed (including missing planned ones and synthetic ones)
	Total    int      // OK + Failed
	Skipped  int      // of OK, how many were SKIPs
	Todo     int      // of OK, how many were TODOs
	Missing  int      // planned but never reported
	Aborted  bool     // non-zero exit, timeout or bail out
	DiagOnly bool     // program printed no ok/not ok and no plan count: scored as one assertion
	Notes    []string // human-readable remarks, in the style of oci-validation's '# name: ...' lines
}

// FullyPassing reports whether the program passed every assertion and did not abort.
func (s Score) FullyPassing() bool { return s.Failed == 0 && !s.Aborted }

// String renders "ok/total".
func (s Score) String() string { return fmt.Sprintf("%d/%d", s.OK, s.Total) }

// ScoreProgram applies the counting rules to one program's TAP counts and exit.
// timeout is only used in the note of a timed-out program.
func ScoreProgram(c TAPCounts, e Exit, timeout string) Score {
	s := Score{Skipped: c.Skip, Todo: c.Todo}
	pass, fail := c.Pass, c.Fail
	ran := pass + fail
	total := ran
	if c.Plan > ran {
		s.Missing = c.Plan - ran
		total = c.Plan
	}
	fail += s.Missing
	if e.Interrupted {
		s.Aborted = true
		s.Notes = append(s.Notes, "interrupted")
	} else if e.TimedOut {
		s.Aborted = true
		s.Notes = append(s.Notes, "timed out after "+timeout)
	} else if e.Code != 0 {
		s.Aborted = true
		s.Notes = append(s.Notes, fmt.Sprintf("exit %d", e.Code))
	}
	if c.Bail {
		s.Aborted = true
		s.Notes = append(s.Notes, "bail out")
	}
	if s.Missing > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d planned assertion(s) missing", s.Missing))
	}
	switch {
	case ran == 0 && s.Missing == 0:
		// diagnostic-only program: one implicit assertion
		s.DiagOnly = true
		total = 1
		switch {
		case s.Aborted:
			fail = 1
			s.Notes = append(s.Notes, "no assertions, counted 1 failure")
		case c.YAML > 0:
			fail = 1
			s.Notes = append(s.Notes, "diagnostic-only: error diagnostic, counted 1 failure")
		default:
			fail = 0
			s.Notes = append(s.Notes, "diagnostic-only: clean, counted 1 pass")
		}
	case s.Aborted && s.Missing == 0:
		fail++
		total++
		s.Notes = append(s.Notes, "+1 synthetic failure")
	}
	if c.Skip > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d skipped", c.Skip))
	}
	if c.Todo > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d todo", c.Todo))
	}
	s.Total = total
	s.Failed = fail
	s.OK = total - fail
	return s
}

// FailureDetails extracts, for a human, why a program failed: every top-level
// "not ok" line, the "error" (and "stderr") fields of the top-level YAML diagnostics
// that follow a "not ok" line or come before any result (diagnostic-only programs),
// and the "not ok" lines of nested TAP (runtimetest's output, which the suite embeds
// in a YAML "stdout" field). At most max lines are returned, each cut to width.
func FailureDetails(tap []byte, max, width int) []string {
	var out []string
	add := func(s string) {
		s = strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`)
		if s == "" {
			return
		}
		if width > 0 && len(s) > width {
			s = s[:width] + "..."
		}
		if len(out) < max {
			out = append(out, s)
		}
	}
	var block []string
	inBlock := false
	lastFailed, anyResult := false, false
	flushBlock := func() {
		inBlock = false
		var diag map[string]any
		if err := json.Unmarshal([]byte(strings.Join(block, "\n")), &diag); err != nil {
			return
		}
		if lastFailed || !anyResult {
			for _, key := range []string{"error", "stderr"} {
				if v, ok := diag[key].(string); ok && strings.TrimSpace(v) != "" {
					add(key + ": " + v)
				}
			}
		}
		if v, ok := diag["stdout"].(string); ok {
			_ = readLines(strings.NewReader(v), func(line string) {
				if reNotOK.MatchString(line) && !reTodo.MatchString(line) {
					add("inside: " + line)
				}
			})
		}
	}
	_ = readLines(bytes.NewReader(tap), func(line string) {
		switch {
		case inBlock && strings.TrimRight(line, " \t") == "  ...":
			flushBlock()
		case inBlock:
			block = append(block, strings.TrimPrefix(line, "  "))
		case reYAMLStart.MatchString(line):
			inBlock, block = true, block[:0]
		case reOK.MatchString(line):
			anyResult, lastFailed = true, false
		case reNotOK.MatchString(line):
			anyResult, lastFailed = true, !reTodo.MatchString(line)
			if lastFailed {
				add(line)
			}
		case reBail.MatchString(line):
			add(line)
		}
	})
	return out
}
