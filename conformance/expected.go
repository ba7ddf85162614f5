package conformance

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Expectation is one line of expected.txt.
type Expectation struct {
	Program   string
	AllowFail bool // false: the program must fully pass
	// MaxFail, when > 0, caps the failed assertions of an allow-fail
	// program ("allow-fail:N"): it may fail only the way its reason says.
	MaxFail int
	Reason  string // why it may fail (allow-fail only)
	Line    int
}

// ParseExpected reads expected.txt: one "<program> pass",
// "<program> allow-fail <reason>" or "<program> allow-fail:N <reason>" (at
// most N failed assertions) per line; blank lines and '#' comments are
// ignored.
func ParseExpected(r io.Reader) (map[string]Expectation, error) {
	exp := map[string]Expectation{}
	n := 0
	var errs []string
	err := readLines(r, func(line string) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			return
		}
		f := strings.Fields(line)
		e := Expectation{Program: f[0], Line: n}
		if len(f) >= 2 && strings.HasPrefix(f[1], "allow-fail:") {
			max, err := strconv.Atoi(strings.TrimPrefix(f[1], "allow-fail:"))
			if err != nil || max <= 0 {
				errs = append(errs, fmt.Sprintf("line %d: bad failure cap in %q", n, f[1]))
				return
			}
			e.MaxFail = max
			f[1] = "allow-fail"
		}
		switch {
		case len(f) == 2 && f[1] == "pass":
		case len(f) >= 3 && f[1] == "allow-fail":
			e.AllowFail = true
			e.Reason = strings.Join(f[2:], " ")
		case len(f) == 2 && f[1] == "allow-fail":
			errs = append(errs, fmt.Sprintf("line %d: allow-fail needs a reason", n))
			return
		default:
			errs = append(errs, fmt.Sprintf("line %d: want '<program> pass' or '<program> allow-fail <reason>', got %q", n, line))
			return
		}
		if prev, dup := exp[e.Program]; dup {
			errs = append(errs, fmt.Sprintf("line %d: %s already listed on line %d", n, e.Program, prev.Line))
			return
		}
		exp[e.Program] = e
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("expected.txt: %s", strings.Join(errs, "; "))
	}
	return exp, nil
}

// CheckCoverage compares the expectation list with the suite's programs: every
// program must be listed, and nothing else.
func CheckCoverage(exp map[string]Expectation, programs []string) error {
	have := map[string]bool{}
	var unlisted, unknown []string
	for _, p := range programs {
		have[p] = true
		if _, ok := exp[p]; !ok {
			unlisted = append(unlisted, p)
		}
	}
	for p := range exp {
		if !have[p] {
			unknown = append(unknown, p)
		}
	}
	sort.Strings(unknown)
	var msgs []string
	if len(unlisted) > 0 {
		msgs = append(msgs, "programs missing from expected.txt: "+strings.Join(unlisted, " "))
	}
	if len(unknown) > 0 {
		msgs = append(msgs, "expected.txt lists programs the suite does not have: "+strings.Join(unknown, " "))
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}
