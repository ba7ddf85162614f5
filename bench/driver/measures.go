package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// 7: binary size, and with the shared libraries it loads (crun is dynamic).
func (b *bench) benchSize() error {
	ks := b.def("size.bin", "binary size", "MiB")
	kl := b.def("size.withlibs", "binary + shared libraries (ldd)", "MiB")
	for _, rt := range b.rts {
		st, err := os.Stat(rt.Bin)
		if err != nil {
			return err
		}
		b.byKey[ks].add(rt.Name, float64(st.Size())/(1<<20))
		total := st.Size()
		if res, err := b.runOnce(nil, []string{"/usr/bin/ldd", rt.Bin}, true); err == nil {
			for _, lib := range lddPaths(res.output) {
				if st, err := os.Stat(lib); err == nil {
					total += st.Size()
				}
			}
		}
		b.byKey[kl].add(rt.Name, float64(total)/(1<<20))
	}
	return nil
}

// lddPaths returns the files of ldd's output ("x => /path (0x..)" and the
// interpreter "/lib64/ld-linux... (0x..)").
func lddPaths(out string) []string {
	var paths []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			paths = append(paths, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			paths = append(paths, f[0])
		}
	}
	return paths
}

// Process counts of one `run true` under strace -f: how many execve, how
// many new processes and how many threads. Deterministic shape, not a timing.
func (b *bench) benchStrace() error {
	ke := b.def("strace.execve", "run true: execve calls", "count")
	kp := b.def("strace.procs", "run true: processes forked", "count")
	kt := b.def("strace.threads", "run true: threads created", "count")
	keys := []string{ke, kp, kt}
	if _, err := os.Stat(b.cfg.strace); err != nil {
		for _, rt := range b.rts {
			for _, k := range keys {
				b.byKey[k].notApplicable(rt.Name, "no strace")
			}
		}
		return nil
	}
	b.rounds(b.rts, 0, 3, keys, func(rt *runtime, _ int) (map[string]float64, error) {
		id := b.newID(rt, "t")
		dir, err := b.writeBundle(id, vTrueNet)
		if err != nil {
			return nil, err
		}
		trace := filepath.Join(b.logDir(), id+".strace")
		argv := append([]string{b.cfg.strace, "-f", "-qq", "-o", trace,
			"-e", "trace=execve,execveat,clone,clone3,fork,vfork"}, rt.argv("run", "--bundle", dir, id)...)
		if _, err := b.runOnce(nil, argv, false); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(trace)
		if err != nil {
			return nil, err
		}
		os.Remove(trace)
		b.r.takeOrphans()
		b.forget(rt, id)
		c := countStrace(string(data))
		return map[string]float64{ke: float64(c.execve), kp: float64(c.procs), kt: float64(c.threads)}, nil
	})
	return nil
}

type straceCounts struct{ execve, procs, threads int }

var retRE = regexp.MustCompile(`= (-?[0-9]+)`)

// countStrace counts successful execve and clone-family calls in strace -f
// output, where a call may be split into "<unfinished ...>" and
// "<... clone resumed>" lines.
func countStrace(out string) straceCounts {
	var c straceCounts
	pending := map[string]string{} // pid -> flags text of an unfinished clone
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, " ", 2)
		if len(f) != 2 {
			continue
		}
		pid, rest := f[0], strings.TrimSpace(f[1])
		call := ""
		for _, name := range []string{"execveat", "execve", "clone3", "clone", "vfork", "fork"} {
			if strings.HasPrefix(rest, name+"(") || strings.HasPrefix(rest, "<... "+name+" resumed>") {
				call = name
				break
			}
		}
		if call == "" {
			continue
		}
		text := rest
		if strings.HasSuffix(rest, "<unfinished ...>") {
			pending[pid] = rest
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			text = pending[pid] + rest
			delete(pending, pid)
		}
		m := retRE.FindAllStringSubmatch(text, -1)
		if m == nil {
			continue
		}
		ret, _ := strconv.Atoi(m[len(m)-1][1])
		switch {
		case strings.HasPrefix(call, "execve"):
			if ret == 0 {
				c.execve++
			}
		default:
			if ret > 0 {
				if strings.Contains(text, "CLONE_THREAD") {
					c.threads++
				} else {
					c.procs++
				}
			}
		}
	}
	return c
}

// checkLeftovers records what the runtimes left behind: state in their root,
// container cgroups, mounts.
func (b *bench) checkLeftovers() {
	for _, rt := range b.rts {
		ents, _ := os.ReadDir(rt.root)
		var left []string
		for _, e := range ents {
			left = append(left, e.Name())
		}
		if len(left) > 0 {
			b.note("LEFTOVER %s state in --root: %s", rt.Name, strings.Join(left, " "))
		}
	}
	if cg := b.leftoverCgroups(); len(cg) > 0 {
		b.note("LEFTOVER cgroups (%d): %s", len(cg), strings.Join(cg, " "))
	}
	if m := b.leftoverMounts(); len(m) > 0 {
		b.note("LEFTOVER mounts: %s", strings.Join(m, " "))
	}
}

// 6: peak RSS of one invocation, as /usr/bin/time -v reports it ("Maximum
// resident set size"). Not from the driver's own wait4: Go forks with
// CLONE_VM|CLONE_VFORK, and the kernel folds the parent's (the driver's)
// high-water RSS into the child's ru_maxrss at execve; GNU time fork()s.
func (b *bench) benchRSS() error {
	kRun := b.def("rss.run", "run true: max RSS", "KiB")
	kCreate := b.def("rss.create", "create: max RSS", "KiB")
	kExec := b.def("rss.exec", "exec true: max RSS", "KiB")
	kState := b.def("rss.state", "state (running container): max RSS", "KiB")
	kUnknown := b.def("rss.state_unknown", "state of an unknown id: max RSS", "KiB")
	keys := []string{kRun, kCreate, kExec, kState, kUnknown}
	if _, err := os.Stat(b.cfg.timeBin); err != nil {
		for _, rt := range b.rts {
			for _, k := range keys {
				b.byKey[k].notApplicable(rt.Name, "no "+b.cfg.timeBin)
			}
		}
		return nil
	}
	ctr := map[string]string{}
	defer func() {
		for _, rt := range b.rts {
			if id := ctr[rt.Name]; id != "" {
				b.forceDelete(rt, []string{id})
			}
		}
	}()
	b.rounds(b.rts, 1, b.cfg.rssRuns, keys, func(rt *runtime, _ int) (map[string]float64, error) {
		if ctr[rt.Name] == "" {
			id, err := b.startDetached(rt, vSleepNet)
			if err != nil {
				return nil, err
			}
			ctr[rt.Name] = id
		}
		out := map[string]float64{}
		id := b.newID(rt, "m")
		dir, err := b.writeBundle(id, vTrueNet)
		if err != nil {
			return nil, err
		}
		if out[kRun], err = b.timeRSS(rt, 0, "run", "--bundle", dir, id); err != nil {
			return nil, err
		}
		b.forget(rt, id)
		id = b.newID(rt, "m")
		if dir, err = b.writeBundle(id, vTrueNet); err != nil {
			return nil, err
		}
		out[kCreate], err = b.timeRSS(rt, 0, "create", "--bundle", dir, id)
		b.forceDelete(rt, []string{id})
		if err != nil {
			return nil, err
		}
		if out[kExec], err = b.timeRSS(rt, 0, "exec", ctr[rt.Name], "true"); err != nil {
			return nil, err
		}
		if out[kState], err = b.timeRSS(rt, 0, "state", ctr[rt.Name]); err != nil {
			return nil, err
		}
		if out[kUnknown], err = b.timeRSS(rt, 1, "state", b.cgParent+"-nonexistent"); err != nil {
			return nil, err
		}
		b.r.takeOrphans()
		return out, nil
	})
	return nil
}

// timeRSS runs one runtime invocation under /usr/bin/time and returns its
// max RSS in KiB; the invocation must exit with want.
func (b *bench) timeRSS(rt *runtime, want int, args ...string) (float64, error) {
	f, err := os.CreateTemp(b.logDir(), "rss-*")
	if err != nil {
		return 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	argv := append([]string{b.cfg.timeBin, "-f", "%M", "-o", f.Name()}, rt.argv(args...)...)
	p, err := b.r.spawn(b.logDir(), b.env, argv, false)
	if err != nil {
		return 0, err
	}
	res := b.r.wait(p, 2*time.Minute)
	if res.code != want {
		return 0, fmt.Errorf("%s %s: exit %d, want %d: %s", rt.Name, strings.Join(args, " "), res.code, want, strings.TrimSpace(res.output))
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return 0, err
	}
	// GNU time puts "Command exited with non-zero status N" first.
	lines := strings.Fields(strings.TrimSpace(string(data)))
	if len(lines) == 0 {
		return 0, fmt.Errorf("%s: empty %s output", rt.Name, b.cfg.timeBin)
	}
	kib, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %s output %q", rt.Name, b.cfg.timeBin, data)
	}
	return kib, nil
}
