package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	gort "runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// metric is one row of the table.
type metric struct {
	Key     string
	Title   string
	Unit    string
	samples map[string][]float64
	errs    map[string]string
	na      map[string]string
}

func (b *bench) def(key, title, unit string) string {
	if _, ok := b.byKey[key]; !ok {
		m := &metric{Key: key, Title: title, Unit: unit,
			samples: map[string][]float64{}, errs: map[string]string{}, na: map[string]string{}}
		b.byKey[key] = m
		b.metrics = append(b.metrics, m)
	}
	return key
}

func (m *metric) add(rt string, v float64) { m.samples[rt] = append(m.samples[rt], round3(v)) }

func (m *metric) fail(rt string, err error) {
	if _, ok := m.errs[rt]; !ok {
		m.errs[rt] = err.Error()
	}
}

func (m *metric) notApplicable(rt, why string) { m.na[rt] = why }

func (b *bench) failed() bool {
	for _, m := range b.metrics {
		if len(m.errs) > 0 {
			return true
		}
	}
	return false
}

// stats summarises the samples of one runtime.
type stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P25    float64 `json:"p25"`
	P75    float64 `json:"p75"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// quantile interpolates linearly between closest ranks of sorted xs.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	lo := int(pos)
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	frac := pos - float64(lo)
	return xs[lo]*(1-frac) + xs[lo+1]*frac
}

func summarise(xs []float64) *stats {
	if len(xs) == 0 {
		return nil
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return &stats{N: len(s), Median: round3(quantile(s, 0.5)), P25: round3(quantile(s, 0.25)),
		P75: round3(quantile(s, 0.75)), Min: round3(s[0]), Max: round3(s[len(s)-1])}
}

// round3 keeps three decimals (a microsecond for ms values): results.json is
// meant to be diffed.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// JSON layout of results.json (schema 1).
type jsonResults struct {
	Schema  int                   `json:"schema"`
	Meta    jsonMeta              `json:"meta"`
	Metrics []jsonMetric          `json:"metrics"`
	Inits   map[string][]jsonInit `json:"inits_top,omitempty"`
}

type jsonMeta struct {
	Date      string     `json:"date"`
	Kernel    string     `json:"kernel"`
	CPUs      int        `json:"cpus"`
	Runs      int        `json:"runs"`
	Warmup    int        `json:"warmup"`
	Conc      int        `json:"concurrent"`
	ConcRuns  int        `json:"concurrent_runs"`
	Runtimes  []*runtime `json:"runtimes"`
	Notes     []string   `json:"notes"`
	DurationS float64    `json:"duration_s"`
}

type jsonMetric struct {
	Key    string             `json:"key"`
	Title  string             `json:"title"`
	Unit   string             `json:"unit"`
	Values map[string]*stats  `json:"values"`
	Errors map[string]string  `json:"errors,omitempty"`
	NA     map[string]string  `json:"not_applicable,omitempty"`
	Ratios map[string]float64 `json:"ratios,omitempty"` // "lxcrun/crun": median ratio
}

type jsonInit struct {
	Pkg     string  `json:"pkg"`
	ClockMS float64 `json:"clock_ms"`
	Bytes   float64 `json:"bytes"`
	Allocs  float64 `json:"allocs"`
}

// topInits returns the packages of rt's traces by median clock, descending.
func (b *bench) topInits(rt string) []jsonInit {
	per := map[string][]initPkg{}
	var order []string
	for _, t := range b.inits[rt] {
		for _, p := range t {
			if _, ok := per[p.name]; !ok {
				order = append(order, p.name)
			}
			per[p.name] = append(per[p.name], p)
		}
	}
	var out []jsonInit
	for _, name := range order {
		var c, by, al []float64
		for _, p := range per[name] {
			c, by, al = append(c, p.clock), append(by, p.bytes), append(al, p.allocs)
		}
		out = append(out, jsonInit{Pkg: name, ClockMS: summarise(c).Median, Bytes: summarise(by).Median, Allocs: summarise(al).Median})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ClockMS > out[j].ClockMS })
	return out
}

func (b *bench) names() []string {
	var n []string
	for _, rt := range b.rts {
		n = append(n, rt.Name)
	}
	return n
}

func has(names []string, want string) bool {
	for _, n := range names {
		if n == want {
			return true
		}
	}
	return false
}

func format(v float64, unit string) string {
	switch unit {
	case "count":
		return fmt.Sprintf("%.0f", v)
	case "KiB":
		return fmt.Sprintf("%.0f", v)
	case "MiB":
		return fmt.Sprintf("%.2f", v)
	}
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// report prints the table and writes results.txt, results.json, samples.json.
func (b *bench) report() error {
	names := b.names()
	ratioOf := []string{}
	if has(names, "lxcrun") {
		for _, o := range []string{"crun", "runc"} {
			if has(names, o) {
				ratioOf = append(ratioOf, o)
			}
		}
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	kernel := unix.ByteSliceToString(uts.Release[:])

	res := jsonResults{Schema: 1, Inits: map[string][]jsonInit{}}
	res.Meta = jsonMeta{
		Date: b.started.UTC().Format(time.RFC3339), Kernel: kernel, CPUs: gort.NumCPU(),
		Runs: b.cfg.runs, Warmup: b.cfg.warmup, Conc: b.cfg.conc, ConcRuns: b.cfg.concRuns,
		Runtimes: b.rts, Notes: b.notes, DurationS: math.Round(time.Since(b.started).Seconds()),
	}
	samples := map[string]map[string][]float64{}

	var sb strings.Builder
	fmt.Fprintf(&sb, "# lxcrun start-up benchmark (make bench)\n")
	fmt.Fprintf(&sb, "# kernel %s, %d CPUs\n", kernel, gort.NumCPU())
	for _, n := range b.notes {
		fmt.Fprintf(&sb, "# %s\n", n)
	}
	fmt.Fprintf(&sb, "# medians of %d interleaved samples after %d warm-up rounds (concurrent: %d rounds); ratios are of medians\n\n",
		b.cfg.runs, b.cfg.warmup, b.cfg.concRuns)

	header := []string{"metric", "unit"}
	header = append(header, names...)
	for _, o := range ratioOf {
		header = append(header, "lxcrun/"+o)
	}
	rows := [][]string{header}
	iqr := [][]string{append([]string{"metric", "unit"}, names...)}
	for _, m := range b.metrics {
		jm := jsonMetric{Key: m.Key, Title: m.Title, Unit: m.Unit, Values: map[string]*stats{}, Ratios: map[string]float64{}}
		if len(m.errs) > 0 {
			jm.Errors = m.errs
		}
		if len(m.na) > 0 {
			jm.NA = m.na
		}
		row := []string{m.Title, m.Unit}
		irow := []string{m.Title, m.Unit}
		for _, n := range names {
			s := summarise(m.samples[n])
			switch {
			case m.errs[n] != "":
				row, irow = append(row, "FAIL"), append(irow, "FAIL")
			case m.na[n] != "":
				row, irow = append(row, "n/a"), append(irow, "n/a")
			case s == nil:
				row, irow = append(row, "-"), append(irow, "-")
			default:
				jm.Values[n] = s
				row = append(row, format(s.Median, m.Unit))
				irow = append(irow, format(s.P25, m.Unit)+".."+format(s.P75, m.Unit))
			}
		}
		for _, o := range ratioOf {
			a, c := jm.Values["lxcrun"], jm.Values[o]
			if a == nil || c == nil || c.Median == 0 {
				row = append(row, "-")
				continue
			}
			r := a.Median / c.Median
			jm.Ratios["lxcrun/"+o] = round3(r)
			row = append(row, fmt.Sprintf("%.2fx", r))
		}
		if len(jm.Ratios) == 0 {
			jm.Ratios = nil
		}
		rows = append(rows, row)
		iqr = append(iqr, irow)
		res.Metrics = append(res.Metrics, jm)
		samples[m.Key] = m.samples
	}
	writeTable(&sb, rows)

	for _, m := range b.metrics {
		for _, n := range names {
			if e := m.errs[n]; e != "" {
				fmt.Fprintf(&sb, "FAIL %s %s: %s\n", n, m.Key, e)
			}
		}
	}

	fmt.Fprintf(&sb, "\n## spread: p25..p75\n\n")
	writeTable(&sb, iqr)

	for _, rt := range b.rts {
		if !rt.goBin || len(b.inits[rt.Name]) == 0 {
			continue
		}
		top := b.topInits(rt.Name)
		res.Inits[rt.Name] = top
		k := 12
		if len(top) < k {
			k = len(top)
		}
		fmt.Fprintf(&sb, "\n## %s: costliest package inits (median of %d starts; %d packages)\n\n", rt.Name, len(b.inits[rt.Name]), len(top))
		irows := [][]string{{"package", "clock ms", "bytes", "allocs"}}
		for _, p := range top[:k] {
			irows = append(irows, []string{p.Pkg, fmt.Sprintf("%.3f", p.ClockMS), fmt.Sprintf("%.0f", p.Bytes), fmt.Sprintf("%.0f", p.Allocs)})
		}
		writeTable(&sb, irows)
	}

	text := sb.String()
	fmt.Print("\n" + text)
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.out, "results.txt"), []byte(text), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.out, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	data, err = json.MarshalIndent(samples, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.out, "samples.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s/results.txt, results.json, samples.json (%.0fs)\n", b.cfg.out, time.Since(b.started).Seconds())
	return nil
}

// writeTable writes rows with the first column left-aligned and the others
// right-aligned.
func writeTable(sb *strings.Builder, rows [][]string) {
	width := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			if len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	for ri, r := range rows {
		var line strings.Builder
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&line, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(&line, "  %*s", width[i], c)
			}
		}
		sb.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		if ri == 0 {
			total := 0
			for i := range r {
				total += width[i] + 2
			}
			sb.WriteString(strings.Repeat("-", total-2) + "\n")
		}
	}
}
