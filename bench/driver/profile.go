package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// `driver profile` (bench/bench.sh profile): where the time of one `run true`
// goes, per runtime. Writes bench/out/profile/:
//
//	timeline.txt    per-phase medians from kernel sched tracepoints (perf,
//	                system-wide, low overhead): runtime start -> container
//	                side forked -> container execve(true) -> true exits ->
//	                runtime exits, and CPU per side (sched_stat_runtime)
//	perf-stat-RT.txt      perf stat -r N (task-clock, faults, switches)
//	strace-c-RT.txt       strace -f -c of one run (syscall counts/time)
//	strace-tt-RT.txt      strace -f -tt -T of one run (full timeline)
//	perf-report-RT.txt    perf record -g cpu-clock of N runs (symbols need
//	                      an unstripped binary: PROFILE_LXCRUN_BIN)
func (b *bench) profile() error {
	if err := b.prepare(); err != nil {
		return err
	}
	dir := filepath.Join(b.cfg.out, "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.note("load average at start: %s", loadavg())
	n := b.cfg.runs
	perf := b.cfg.perf
	steps := []struct {
		name string
		fn   func() error
	}{
		{"timeline (perf sched tracepoints)", func() error { return b.profTimeline(perf, n, dir) }},
		{"perf stat", func() error { return b.profPerfStat(perf, n, dir) }},
		{"strace -c / -tt", func() error { return b.profStrace(dir) }},
		{"perf record", func() error { return b.profPerfRecord(perf, n, dir) }},
	}
	for _, s := range steps {
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "profile: %s ...", s.name)
		if err := s.fn(); err != nil {
			fmt.Fprintf(os.Stderr, " failed: %v\n", err)
			continue
		}
		fmt.Fprintf(os.Stderr, " %.1fs\n", time.Since(t0).Seconds())
	}
	fmt.Printf("profile: wrote %s\n", dir)
	return nil
}

// profRun makes a fresh `run true` bundle (netns variant) for rt.
func (b *bench) profRun(rt *runtime) (id string, argv []string, err error) {
	id = b.newID(rt, "p")
	dir, err := b.writeBundle(id, vTrueNet)
	if err != nil {
		return "", nil, err
	}
	return id, rt.argv("run", "--bundle", dir, id), nil
}

// --- timeline ------------------------------------------------------------

type schedEv struct {
	comm       string
	tgid, tid  int
	t          float64 // seconds
	event      string
	child      int    // fork: child tid
	filename   string // exec
	groupDead  bool   // exit
	runtimeNS  int64  // stat_runtime
	subjectTid int    // stat_runtime: pid= field
}

var (
	perfLineRE = regexp.MustCompile(`^\s*(.*?)\s+(\d+)/(\d+)\s+(?:\[\d+\]\s+)?([0-9]+\.[0-9]+):\s+(\w+:\w+):\s*(.*)$`)
	kvRE       = regexp.MustCompile(`(\w+)=(\S+)`)
)

func parsePerfScript(text string) []schedEv {
	var evs []schedEv
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := perfLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ev := schedEv{comm: m[1], event: strings.TrimPrefix(m[5], "sched:")}
		ev.tgid, _ = strconv.Atoi(m[2])
		ev.tid, _ = strconv.Atoi(m[3])
		ev.t, _ = strconv.ParseFloat(m[4], 64)
		kv := map[string]string{}
		for _, p := range kvRE.FindAllStringSubmatch(m[6], -1) {
			kv[p[1]] = p[2]
		}
		switch ev.event {
		case "sched_process_fork":
			ev.child, _ = strconv.Atoi(kv["child_pid"])
		case "sched_process_exec":
			ev.filename = kv["filename"]
		case "sched_process_exit":
			ev.groupDead = kv["group_dead"] == "true"
		case "sched_stat_runtime":
			ev.runtimeNS, _ = strconv.ParseInt(kv["runtime"], 10, 64)
			ev.subjectTid, _ = strconv.Atoi(kv["pid"])
		}
		evs = append(evs, ev)
	}
	return evs
}

// phases of one `run true`, in ms.
type phases struct {
	parentPre   float64 // runtime execve -> first container-side process forked
	initSetup   float64 // that fork -> execve of the container's true
	container   float64 // true execve -> true exit
	teardown    float64 // true exit -> runtime exit
	total       float64
	cpuParent   float64 // CPU of the runtime's own threads
	cpuInit     float64 // CPU of every other process before true's execve
	cpuTrue     float64
	procs       int // processes (thread groups) seen, the runtime included
	threads     int // tasks seen
	runtimeExec int // execve calls before true's
}

// analyse finds the run rooted at pid in the events.
func analyse(evs []schedEv, root int, truePath string) (*phases, error) {
	tracked := map[int]bool{root: true}
	parentOf := map[int]int{}
	forkAt := map[int]float64{}
	tgidOf := map[int]int{root: root}
	var tStart, tTrueExec, tTrueExit, tEnd float64
	trueTid := 0
	execs := 0
	for _, ev := range evs {
		if !tracked[ev.tid] {
			continue
		}
		tgidOf[ev.tid] = ev.tgid
		switch ev.event {
		case "sched_process_fork":
			tracked[ev.child] = true
			parentOf[ev.child] = ev.tid
			forkAt[ev.child] = ev.t
		case "sched_process_exec":
			if ev.tid == root && tStart == 0 {
				tStart = ev.t
			}
			if trueTid == 0 && strings.HasSuffix(ev.filename, truePath) {
				trueTid, tTrueExec = ev.tid, ev.t
			} else if trueTid == 0 {
				execs++
			}
		case "sched_process_exit":
			if ev.tid == trueTid && tTrueExit == 0 {
				tTrueExit = ev.t
			}
			if ev.tgid == root && ev.groupDead {
				tEnd = ev.t
			}
		}
	}
	if tStart == 0 || trueTid == 0 || tTrueExit == 0 || tEnd == 0 {
		return nil, fmt.Errorf("pid %d: incomplete trace (start %v, true %d, exit %v, end %v)", root, tStart, trueTid, tTrueExit, tEnd)
	}
	// The first container-side process: walk up from true to the child
	// of a runtime thread.
	c := trueTid
	for parentOf[c] != 0 && tgidOf[parentOf[c]] != root {
		c = parentOf[c]
	}
	p := &phases{
		parentPre:   (forkAt[c] - tStart) * 1000,
		initSetup:   (tTrueExec - forkAt[c]) * 1000,
		container:   (tTrueExit - tTrueExec) * 1000,
		teardown:    (tEnd - tTrueExit) * 1000,
		total:       (tEnd - tStart) * 1000,
		runtimeExec: execs,
	}
	groups := map[int]bool{}
	for tid := range tracked {
		if g, ok := tgidOf[tid]; ok {
			groups[g] = true
		}
	}
	p.procs, p.threads = len(groups), len(tracked)
	for _, ev := range evs {
		if ev.event != "sched_stat_runtime" || !tracked[ev.subjectTid] {
			continue
		}
		ms := float64(ev.runtimeNS) / 1e6
		switch {
		case tgidOf[ev.subjectTid] == root:
			p.cpuParent += ms
		case ev.subjectTid == trueTid && ev.t >= tTrueExec:
			p.cpuTrue += ms
		default:
			p.cpuInit += ms
		}
	}
	return p, nil
}

func (b *bench) profTimeline(perf string, n int, dir string) error {
	data := filepath.Join(b.work, "sched.data")
	rec, err := b.r.spawn(b.logDir(), b.env, []string{perf, "record", "-q", "-a", "-o", data,
		"-e", "sched:sched_process_fork,sched:sched_process_exec,sched:sched_process_exit,sched:sched_stat_runtime"}, false)
	if err != nil {
		return err
	}
	time.Sleep(1500 * time.Millisecond) // perf has no readiness signal; let it open its buffers
	roots := map[string][]int{}
	var runErr error
	for i := 0; i < n+1 && runErr == nil; i++ {
		for k := range b.rts {
			rt := b.rts[(i+k)%len(b.rts)]
			id, argv, err := b.profRun(rt)
			if err != nil {
				runErr = err
				break
			}
			p, err := b.r.spawn(b.logDir(), b.env, argv, false)
			if err != nil {
				runErr = err
				break
			}
			res := b.r.wait(p, time.Minute)
			b.forget(rt, id)
			if err := res.err(); err != nil {
				runErr = err
				break
			}
			if i > 0 { // round 0 is the warm-up
				roots[rt.Name] = append(roots[rt.Name], p.pid)
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	_ = unix.Kill(rec.pid, unix.SIGINT)
	if res := b.r.wait(rec, time.Minute); res.code != 0 && res.code != 130 {
		return fmt.Errorf("perf record: %v", res.err())
	}
	if runErr != nil {
		return runErr
	}
	script, err := b.runOnce(nil, []string{perf, "script", "-i", data, "-F", "comm,pid,tid,time,event,trace"}, true)
	if err != nil {
		return fmt.Errorf("perf script: %w", err)
	}
	evs := parsePerfScript(script.output)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })

	var sb strings.Builder
	fmt.Fprintf(&sb, "# `run true` (netns) phases: medians over %d runs per runtime, from sched tracepoints\n", n)
	fmt.Fprintf(&sb, "# parent pre-fork: runtime execve -> first container-side process forked\n")
	fmt.Fprintf(&sb, "# init setup: that fork -> execve(true) in the container (re-exec, Go boot, namespaces, mounts...)\n")
	fmt.Fprintf(&sb, "# teardown: true exits -> runtime exits (reap, cgroup/state removal)\n")
	fmt.Fprintf(&sb, "# CPU: sched_stat_runtime of the runtime's threads / of every other process before execve(true)\n\n")
	rows := [][]string{{"phase (ms)"}}
	for _, rt := range b.rts {
		rows[0] = append(rows[0], rt.Name)
	}
	type col struct{ vals map[string][]float64 }
	cols := map[string]*col{}
	names := []string{"parent pre-fork", "init setup", "container (true)", "teardown", "total wall",
		"CPU runtime parent", "CPU container side", "CPU true", "processes", "tasks (threads)", "execve before true"}
	for _, rt := range b.rts {
		c := &col{vals: map[string][]float64{}}
		cols[rt.Name] = c
		for _, pid := range roots[rt.Name] {
			p, err := analyse(evs, pid, "/bin/true")
			if err != nil {
				fmt.Fprintf(&sb, "# %s: %v\n", rt.Name, err)
				continue
			}
			for i, v := range []float64{p.parentPre, p.initSetup, p.container, p.teardown, p.total,
				p.cpuParent, p.cpuInit, p.cpuTrue, float64(p.procs), float64(p.threads), float64(p.runtimeExec)} {
				c.vals[names[i]] = append(c.vals[names[i]], v)
			}
		}
	}
	for _, name := range names {
		row := []string{name}
		for _, rt := range b.rts {
			s := summarise(cols[rt.Name].vals[name])
			if s == nil {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%.2f", s.Median))
		}
		rows = append(rows, row)
	}
	writeTable(&sb, rows)
	fmt.Print("\n" + sb.String())
	return os.WriteFile(filepath.Join(dir, "timeline.txt"), []byte(sb.String()), 0o644)
}

// --- perf stat, strace, perf record ---------------------------------------

func (b *bench) profPerfStat(perf string, n int, dir string) error {
	for _, rt := range b.rts {
		id, argv, err := b.profRun(rt)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, "perf-stat-"+rt.Name+".txt")
		args := append([]string{perf, "stat", "-o", out, "-r", strconv.Itoa(n),
			"-e", "task-clock,page-faults,context-switches,cpu-migrations", "--"}, argv...)
		_, err = b.runOnce(nil, args, false)
		b.forget(rt, id)
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) profStrace(dir string) error {
	for _, rt := range b.rts {
		for _, mode := range []struct {
			name string
			args []string
		}{
			{"strace-c", []string{"-f", "-c", "-S", "time"}},
			{"strace-tt", []string{"-f", "-tt", "-T", "-s", "96"}},
		} {
			id, argv, err := b.profRun(rt)
			if err != nil {
				return err
			}
			out := filepath.Join(dir, mode.name+"-"+rt.Name+".txt")
			args := append(append([]string{b.cfg.strace, "-o", out}, mode.args...), argv...)
			_, err = b.runOnce(nil, args, false)
			b.forget(rt, id)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *bench) profPerfRecord(perf string, n int, dir string) error {
	for _, rt := range b.rts {
		data := filepath.Join(b.work, "cpu-"+rt.Name+".data")
		// One shell loop of n runs under one perf record (children
		// inherit the counters); the same id is reused run after run.
		id, argv, err := b.profRun(rt)
		if err != nil {
			return err
		}
		script := fmt.Sprintf("for i in $(seq %d); do %s >/dev/null 2>&1 || exit 1; done", n, shellJoin(argv))
		_, err = b.runOnce(nil, []string{perf, "record", "-q", "-g", "-e", "cpu-clock", "-F", "20000",
			"-o", data, "--", "/bin/sh", "-c", script}, false)
		b.forget(rt, id)
		if err != nil {
			return err
		}
		rep, err := b.runOnce(nil, []string{perf, "report", "-i", data, "--stdio", "--no-children",
			"--sort", "comm,dso,sym", "--percent-limit", "0.7", "-g", "none"}, true)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "perf-report-"+rt.Name+".txt"), []byte(rep.output), 0o644); err != nil {
			return err
		}
		rep, err = b.runOnce(nil, []string{perf, "report", "-i", data, "--stdio", "--no-children",
			"--sort", "comm,dso", "-g", "none"}, true)
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, "perf-report-dso-"+rt.Name+".txt"), []byte(rep.output), 0o644)
		}
	}
	return nil
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
