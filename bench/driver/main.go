// Command driver is `make bench`: a side-by-side start-up benchmark of
// lxcrun, runc and crun on identical bundles.
//
// It is a child subreaper that spawns every runtime invocation itself and
// reaps every process with wait4, so wall time, CPU time (user+sys of the
// runtime and all its descendants, container inits included) and max RSS are
// exact and need no external timer. Samples are interleaved (one sample per
// runtime per round, the order rotating every round) after warm-up rounds,
// and medians are reported. See bench/README.md.
//
// `driver profile` instead writes a profile of `run true` per runtime to
// $BENCH_OUT/profile (see profile.go).
//
// Environment (all optional):
//
//	BENCH_RUNS=20        samples per runtime for every timed metric
//	BENCH_WARMUP=3       discarded rounds before the samples
//	BENCH_CONC=50        containers created concurrently
//	BENCH_CONC_RUNS=5    rounds of the concurrent benchmark
//	BENCH_RSS_RUNS=5     rounds of the max-RSS measurements
//	BENCH_RUNTIMES=lxcrun,runc,crun  (also NAME=PATH, e.g. old=/tmp/lxcrun.old)
//	BENCH_ONLY=          a subset of: run,lifecycle,exec,startup,concurrent,rss,size,strace
//	BENCH_OUT=bench/out  where results.txt, results.json, samples.json go
//	BENCH_TMPFS=1        put bundles and state roots on a private tmpfs
//	LXCRUN_BIN=./lxcrun  RUNC_BIN=/usr/sbin/runc  CRUN_BIN=/usr/bin/crun
//	BUSYBOX=/bin/busybox STRACE=/usr/bin/strace TIME=/usr/bin/time PERF=/usr/bin/perf
package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	runs, warmup, conc, concRuns int
	rssRuns                      int
	runtimes                     []string
	only                         []string
	out                          string
	tmpfs                        bool
	lxcrunBin, runcBin, crunBin  string
	busybox, strace, timeBin     string
	perf                         string
}

func envInt(name string, def, min int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		fatalf("%s=%q: want an integer >= %d", name, v, min)
	}
	return n
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func loadConfig() config {
	c := config{
		runs:      envInt("BENCH_RUNS", 20, 1),
		warmup:    envInt("BENCH_WARMUP", 3, 0),
		conc:      envInt("BENCH_CONC", 50, 1),
		concRuns:  envInt("BENCH_CONC_RUNS", 5, 1),
		rssRuns:   envInt("BENCH_RSS_RUNS", 5, 1),
		runtimes:  strings.Split(envStr("BENCH_RUNTIMES", "lxcrun,runc,crun"), ","),
		out:       envStr("BENCH_OUT", "bench/out"),
		only:      splitList(os.Getenv("BENCH_ONLY")),
		tmpfs:     envStr("BENCH_TMPFS", "1") != "0",
		lxcrunBin: envStr("LXCRUN_BIN", "./lxcrun"),
		runcBin:   envStr("RUNC_BIN", "/usr/sbin/runc"),
		crunBin:   envStr("CRUN_BIN", "/usr/bin/crun"),
		busybox:   envStr("BUSYBOX", "/bin/busybox"),
		strace:    envStr("STRACE", "/usr/bin/strace"),
		timeBin:   envStr("TIME", "/usr/bin/time"),
		perf:      envStr("PERF", "/usr/bin/perf"),
	}
	return c
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// bench is one run of the benchmark.
type bench struct {
	cfg  config
	r    *reaper
	rts  []*runtime
	env  []string // environment of every runtime invocation
	work string   // private work dir (tmpfs): bundles, roots, logs, rootfs

	rootfs       string
	specTemplate []byte
	cgParent     string // cgroupsPath parent, "lxcbench-<pid>"

	madeWork, mountedWork          bool
	mountedHugetlb, madeHugetlbDir bool

	mu  sync.Mutex
	ids map[string]map[string]bool // runtime -> container ids created
	seq int

	metrics []*metric
	byKey   map[string]*metric
	notes   []string
	inits   map[string][]initTrace // runtime -> traces (one per sample)

	cleanOnce sync.Once
	started   time.Time
}

func main() {
	cfg := loadConfig()
	if os.Geteuid() != 0 {
		fatalf("needs root (sudo make bench)")
	}
	r, err := newReaper()
	if err != nil {
		fatalf("%v", err)
	}
	b := &bench{
		cfg:      cfg,
		r:        r,
		env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"},
		cgParent: fmt.Sprintf("lxcbench-%d", os.Getpid()),
		ids:      map[string]map[string]bool{},
		byKey:    map[string]*metric{},
		inits:    map[string][]initTrace{},
		started:  time.Now(),
	}
	for i, name := range cfg.runtimes {
		rt := &runtime{Name: name}
		switch name {
		case "lxcrun":
			rt.Bin, rt.short = cfg.lxcrunBin, "lx"
		case "runc":
			rt.Bin, rt.short = cfg.runcBin, "rc"
		case "crun":
			rt.Bin, rt.short = cfg.crunBin, "cr"
		default:
			// NAME=PATH: any other runc-compatible binary, e.g. an older
			// lxcrun to compare a change against.
			n, path, ok := strings.Cut(name, "=")
			if !ok || n == "" || path == "" || strings.ContainsAny(n, "/ ") {
				fatalf("BENCH_RUNTIMES: %q is not lxcrun, runc, crun or NAME=PATH", name)
			}
			rt.Name, rt.Bin, rt.short = n, path, fmt.Sprintf("x%d", i)
		}
		abs, err := filepath.Abs(rt.Bin)
		if err != nil {
			fatalf("%v", err)
		}
		rt.Bin = abs
		if st, err := os.Stat(rt.Bin); err != nil || st.Mode()&0o111 == 0 {
			fatalf("%s: %s is not an executable", name, rt.Bin)
		}
		rt.goBin = isGoBinary(rt.Bin)
		b.ids[rt.Name] = map[string]bool{}
		b.rts = append(b.rts, rt)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping and cleaning up\n", s)
		b.cleanup()
		os.Exit(130)
	}()

	if len(os.Args) > 1 && os.Args[1] == "profile" {
		err = b.profile()
	} else {
		err = b.main()
	}
	b.cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if b.failed() {
		fmt.Fprintln(os.Stderr, "bench: some benchmarks FAILED (see the table)")
		os.Exit(1)
	}
}

func (b *bench) main() error {
	if err := b.prepare(); err != nil {
		return err
	}
	load := loadavg()
	b.note("load average at start: %s", load)
	if f := strings.Fields(load); len(f) > 0 {
		if l, _ := strconv.ParseFloat(f[0], 64); l > 1 {
			fmt.Fprintf(os.Stderr, "bench: warning: load average %s: something else is running, timings will be noisy\n", f[0])
		}
	}
	for _, rt := range b.rts {
		res, err := b.runOnce(nil, []string{rt.Bin, "--version"}, true)
		if err != nil {
			return fmt.Errorf("%s --version: %w", rt.Name, err)
		}
		// "X version V" and, where printed, "commit: C".
		lines := strings.Split(strings.TrimSpace(res.output), "\n")
		rt.Version = strings.TrimSpace(lines[0])
		if len(lines) > 1 && strings.HasPrefix(lines[1], "commit:") {
			rt.Version += ", " + strings.TrimSpace(lines[1])
		}
		b.note("%-6s %s: %s", rt.Name, rt.Bin, rt.Version)
	}
	b.note("namespaces: %s; the no-netns variant: %s", b.namespaceTypes(vTrueNet), b.namespaceTypes(vTrueNoNet))
	b.note("runs %d, warm-up %d, concurrent %d x %d rounds, tmpfs %v", b.cfg.runs, b.cfg.warmup, b.cfg.conc, b.cfg.concRuns, b.cfg.tmpfs)

	steps := []struct {
		key, name string
		fn        func() error
	}{
		{"run", "run true", b.benchRun},
		{"lifecycle", "create+start+delete", b.benchLifecycle},
		{"exec", "exec true / state", b.benchExec},
		{"startup", "start-up (state of unknown id, inittrace)", b.benchStartup},
		{"concurrent", "concurrent create/delete", b.benchConcurrent},
		{"rss", "max RSS (/usr/bin/time)", b.benchRSS},
		{"size", "binary size", b.benchSize},
		{"strace", "process counts (strace)", b.benchStrace},
	}
	for _, s := range steps {
		if len(b.cfg.only) > 0 && !has(b.cfg.only, s.key) {
			continue
		}
		b.ensureHugetlb(s.name)
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s ...", s.name)
		if err := s.fn(); err != nil {
			fmt.Fprintln(os.Stderr)
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(os.Stderr, " %.1fs\n", time.Since(t0).Seconds())
		// Let asynchronous kernel work (netns teardown, RCU) settle
		// before the next group.
		time.Sleep(500 * time.Millisecond)
	}
	b.checkLeftovers()
	b.note("load average at end: %s", loadavg())
	return b.report()
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bench) logDir() string { return filepath.Join(b.work, "logs") }

// newID returns a fresh container id for rt and remembers it for cleanup.
func (b *bench) newID(rt *runtime, tag string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	id := fmt.Sprintf("%s-%s-%s%d", b.cgParent, rt.short, tag, b.seq)
	b.ids[rt.Name][id] = true
	return id
}

func (b *bench) forget(rt *runtime, id string) {
	b.mu.Lock()
	delete(b.ids[rt.Name], id)
	b.mu.Unlock()
	os.RemoveAll(filepath.Join(b.work, "bundles", id))
}

// runOnce runs argv to completion (env nil: the default environment) and
// fails on a non-zero exit unless allowFail. Output is kept in res.output
// when keepOutput or on failure.
func (b *bench) runOnce(env, argv []string, keepOutput bool) (*result, error) {
	if env == nil {
		env = b.env
	}
	p, err := b.r.spawn(b.logDir(), env, argv, keepOutput)
	if err != nil {
		return nil, err
	}
	res := b.r.wait(p, 2*time.Minute)
	if keepOutput && res.output == "" {
		data, _ := os.ReadFile(p.out.Name())
		res.output = string(data)
		os.Remove(p.out.Name())
	}
	return res, res.err()
}

// invoke runs one timed runtime invocation.
func (b *bench) invoke(rt *runtime, args ...string) *result {
	p, err := b.r.spawn(b.logDir(), b.env, rt.argv(args...), false)
	if err != nil {
		return &result{argv: rt.argv(args...), code: -1, output: err.Error()}
	}
	return b.r.wait(p, 2*time.Minute)
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// isGoBinary reports whether path is an ELF file built by the Go toolchain
// (it has a .go.buildinfo section, stripped or not).
func isGoBinary(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Section(".go.buildinfo") != nil
}
