package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sampleFn takes one sample of a group for rt and returns its values by
// metric key.
type sampleFn func(rt *runtime, round int) (map[string]float64, error)

// rounds runs warmup+runs rounds over rts; each round takes one sample per
// runtime, starting with a different runtime every round. A runtime whose
// sample fails is marked failed for every metric in keys and sampled no more.
func (b *bench) rounds(rts []*runtime, warmup, runs int, keys []string, fn sampleFn) {
	failed := map[string]bool{}
	for i := 0; i < warmup+runs; i++ {
		for k := range rts {
			rt := rts[(i+k)%len(rts)]
			if failed[rt.Name] {
				continue
			}
			vals, err := fn(rt, i)
			if err != nil {
				if errors.Is(err, errStopping) {
					return
				}
				failed[rt.Name] = true
				for _, key := range keys {
					b.byKey[key].fail(rt.Name, err)
				}
				fmt.Fprintf(os.Stderr, "\nbench: %s FAILED: %v\n", rt.Name, err)
				continue
			}
			if i < warmup {
				continue
			}
			for key, v := range vals {
				b.byKey[key].add(rt.Name, v)
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func label(v variant) string {
	if v.netns {
		return "netns"
	}
	return "no netns"
}

// 1, 4: `run` of true, with and without a network namespace.
func (b *bench) benchRun() error {
	for _, v := range []variant{vTrueNet, vTrueNoNet} {
		v := v
		kw := b.def("run."+v.name+".wall", "run true ("+label(v)+"): wall", "ms")
		kc := b.def("run."+v.name+".cpu", "run true ("+label(v)+"): CPU user+sys", "ms")
		b.rounds(b.rts, b.cfg.warmup, b.cfg.runs, []string{kw, kc}, func(rt *runtime, _ int) (map[string]float64, error) {
			id := b.newID(rt, "r")
			dir, err := b.writeBundle(id, v)
			if err != nil {
				return nil, err
			}
			b.r.takeOrphans()
			res := b.invoke(rt, "run", "--bundle", dir, id)
			ocpu, _ := b.r.takeOrphans()
			if err := res.err(); err != nil {
				return nil, err
			}
			b.forget(rt, id)
			return map[string]float64{kw: ms(res.wall), kc: ms(res.cpu + ocpu)}, nil
		})
	}
	return nil
}

// 2: create + start + (container exits) + delete.
func (b *bench) benchLifecycle() error {
	kw := b.def("lifecycle.wall", "create+start+delete: wall", "ms")
	kc := b.def("lifecycle.cpu", "create+start+delete: CPU user+sys", "ms")
	kcr := b.def("lifecycle.create.wall", "  create: wall", "ms")
	kst := b.def("lifecycle.start.wall", "  start: wall", "ms")
	kde := b.def("lifecycle.delete.wall", "  delete (stopped): wall", "ms")
	keys := []string{kw, kc, kcr, kst, kde}
	b.rounds(b.rts, b.cfg.warmup, b.cfg.runs, keys, func(rt *runtime, _ int) (map[string]float64, error) {
		id := b.newID(rt, "l")
		dir, err := b.writeBundle(id, vTrueNet)
		if err != nil {
			return nil, err
		}
		pidFile := filepath.Join(dir, "pid")
		b.r.takeOrphans()
		c := b.invoke(rt, "create", "--bundle", dir, "--pid-file", pidFile, id)
		if err := c.err(); err != nil {
			return nil, err
		}
		pid, err := readPid(pidFile)
		if err != nil {
			return nil, err
		}
		s := b.invoke(rt, "start", id)
		if err := s.err(); err != nil {
			return nil, err
		}
		if _, err := b.r.waitPid(pid, 30*time.Second); err != nil {
			return nil, fmt.Errorf("%s: container init: %w", rt.Name, err)
		}
		d := b.invoke(rt, "delete", id)
		if err := d.err(); err != nil {
			return nil, err
		}
		ocpu, n := b.r.takeOrphans()
		if n == 0 {
			return nil, fmt.Errorf("%s: the container init (pid %d) was not reaped by the bench", rt.Name, pid)
		}
		b.forget(rt, id)
		return map[string]float64{
			kw:  ms(d.end.Sub(c.start)),
			kc:  ms(c.cpu + s.cpu + d.cpu + ocpu),
			kcr: ms(c.wall),
			kst: ms(s.wall),
			kde: ms(d.wall),
		}, nil
	})
	return nil
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q", path, data)
	}
	return pid, nil
}

// startDetached creates and starts a long-running container (untimed).
func (b *bench) startDetached(rt *runtime, v variant) (string, error) {
	id := b.newID(rt, "s")
	dir, err := b.writeBundle(id, v)
	if err != nil {
		return "", err
	}
	if err := b.invoke(rt, "create", "--bundle", dir, id).err(); err != nil {
		return "", err
	}
	if err := b.invoke(rt, "start", id).err(); err != nil {
		return "", err
	}
	return id, nil
}

// forceDelete removes containers (untimed), concurrently.
func (b *bench) forceDelete(rt *runtime, ids []string) {
	var procs []*proc
	for _, id := range ids {
		if p, err := b.r.spawn(b.logDir(), b.env, rt.argv("delete", "--force", id), false); err == nil {
			procs = append(procs, p)
		}
	}
	for _, p := range procs {
		b.r.wait(p, time.Minute)
	}
	for _, id := range ids {
		if !b.live(rt, id) {
			b.forget(rt, id)
		}
	}
	b.r.takeOrphans()
}

// 3, 4, 6: `exec true` into a running container (sleep 1000), with and
// without a network namespace; `state` of the running container.
func (b *bench) benchExec() error {
	for _, v := range []variant{vSleepNet, vSleepNoNet} {
		v := v
		kw := b.def("exec."+v.name+".wall", "exec true ("+label(v)+"): wall", "ms")
		kc := b.def("exec."+v.name+".cpu", "exec true ("+label(v)+"): CPU user+sys", "ms")
		keys := []string{kw, kc}
		ctr := map[string]string{}
		for _, rt := range b.rts {
			id, err := b.startDetached(rt, v)
			if err != nil {
				for _, k := range keys {
					b.byKey[k].fail(rt.Name, err)
				}
				continue
			}
			ctr[rt.Name] = id
		}
		var rts []*runtime
		for _, rt := range b.rts {
			if ctr[rt.Name] != "" {
				rts = append(rts, rt)
			}
		}
		b.rounds(rts, b.cfg.warmup, b.cfg.runs, keys, func(rt *runtime, _ int) (map[string]float64, error) {
			b.r.takeOrphans()
			res := b.invoke(rt, "exec", ctr[rt.Name], "true")
			ocpu, _ := b.r.takeOrphans()
			if err := res.err(); err != nil {
				return nil, err
			}
			return map[string]float64{kw: ms(res.wall), kc: ms(res.cpu + ocpu)}, nil
		})
		if v.netns {
			ksw := b.def("state.running.wall", "state (running container): wall", "ms")
			ksc := b.def("state.running.cpu", "state (running container): CPU user+sys", "ms")
			b.rounds(rts, b.cfg.warmup, b.cfg.runs, []string{ksw, ksc}, func(rt *runtime, _ int) (map[string]float64, error) {
				res := b.invoke(rt, "state", ctr[rt.Name])
				if err := res.err(); err != nil {
					return nil, err
				}
				return map[string]float64{ksw: ms(res.wall), ksc: ms(res.cpu)}, nil
			})
		}
		for _, rt := range rts {
			b.forceDelete(rt, []string{ctr[rt.Name]})
		}
	}
	return nil
}

// initTrace is the GODEBUG=inittrace=1 output of one process start.
type initTrace []initPkg

type initPkg struct {
	name          string
	at, clock     float64 // ms since runtime start, ms spent
	bytes, allocs float64
}

var initRE = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

func parseInitTrace(out string) initTrace {
	var t initTrace
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := initRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		p := initPkg{name: m[1]}
		p.at, _ = strconv.ParseFloat(m[2], 64)
		p.clock, _ = strconv.ParseFloat(m[3], 64)
		p.bytes, _ = strconv.ParseFloat(m[4], 64)
		p.allocs, _ = strconv.ParseFloat(m[5], 64)
		t = append(t, p)
	}
	return t
}

// 8 and process start-up: `state` of an unknown id (a failing read-only verb:
// boot, parse flags, look in the root, exit 1) and GODEBUG=inittrace=1.
func (b *bench) benchStartup() error {
	kw := b.def("startup.state_unknown.wall", "state of an unknown id: wall", "ms")
	kc := b.def("startup.state_unknown.cpu", "state of an unknown id: CPU user+sys", "ms")
	b.rounds(b.rts, b.cfg.warmup, b.cfg.runs, []string{kw, kc}, func(rt *runtime, _ int) (map[string]float64, error) {
		res := b.invoke(rt, "state", b.cgParent+"-nonexistent")
		if res.code != 1 {
			return nil, fmt.Errorf("%s state of an unknown id: exit %d, want 1: %s", rt.Name, res.code, res.output)
		}
		return map[string]float64{kw: ms(res.wall), kc: ms(res.cpu)}, nil
	})

	kn := b.def("inits.count", "Go package inits (--version)", "count")
	kt := b.def("inits.clock", "Go package inits: total clock", "ms")
	km := b.def("inits.main", "Go runtime start to main (last init end)", "ms")
	kb := b.def("inits.bytes", "Go package inits: bytes allocated", "KiB")
	keys := []string{kn, kt, km, kb}
	var goRts []*runtime
	for _, rt := range b.rts {
		if rt.goBin {
			goRts = append(goRts, rt)
			continue
		}
		for _, k := range keys {
			b.byKey[k].notApplicable(rt.Name, "not a Go binary")
		}
	}
	env := append(append([]string{}, b.env...), "GODEBUG=inittrace=1")
	b.rounds(goRts, b.cfg.warmup, b.cfg.runs, keys, func(rt *runtime, round int) (map[string]float64, error) {
		res, err := b.runOnce(env, []string{rt.Bin, "--version"}, true)
		if err != nil {
			return nil, err
		}
		t := parseInitTrace(res.output)
		if len(t) == 0 {
			return nil, fmt.Errorf("%s: no inittrace output", rt.Name)
		}
		if round >= b.cfg.warmup {
			b.inits[rt.Name] = append(b.inits[rt.Name], t)
		}
		var clock, bytes float64
		for _, p := range t {
			clock += p.clock
			bytes += p.bytes
		}
		last := t[len(t)-1]
		return map[string]float64{kn: float64(len(t)), kt: clock, km: last.at + last.clock, kb: bytes / 1024}, nil
	})
	return nil
}

// 5: BENCH_CONC containers created at once (all must succeed), then deleted
// at once (delete --force of created containers).
func (b *bench) benchConcurrent() error {
	n := b.cfg.conc
	kcw := b.def("conc.create.wall", fmt.Sprintf("%d concurrent creates: total wall", n), "ms")
	kcc := b.def("conc.create.cpu", fmt.Sprintf("%d concurrent creates: CPU user+sys", n), "ms")
	kdw := b.def("conc.delete.wall", fmt.Sprintf("%d concurrent delete --force: total wall", n), "ms")
	kdc := b.def("conc.delete.cpu", fmt.Sprintf("%d concurrent delete --force: CPU user+sys", n), "ms")
	keys := []string{kcw, kcc, kdw, kdc}
	warm := 1
	if b.cfg.warmup == 0 {
		warm = 0
	}
	b.rounds(b.rts, warm, b.cfg.concRuns, keys, func(rt *runtime, _ int) (map[string]float64, error) {
		ids := make([]string, n)
		dirs := make([]string, n)
		for i := range ids {
			ids[i] = b.newID(rt, "c")
			var err error
			if dirs[i], err = b.writeBundle(ids[i], vTrueNet); err != nil {
				return nil, err
			}
		}
		b.r.takeOrphans()
		create, err := b.parallel(rt, ids, func(i int) []string { return []string{"create", "--bundle", dirs[i], ids[i]} })
		if err != nil {
			b.forceDelete(rt, ids)
			return nil, fmt.Errorf("concurrent create: %w", err)
		}
		del, err := b.parallel(rt, ids, func(i int) []string { return []string{"delete", "--force", ids[i]} })
		ocpu, _ := b.r.takeOrphans()
		if err != nil {
			b.forceDelete(rt, ids)
			return nil, fmt.Errorf("concurrent delete: %w", err)
		}
		for _, id := range ids {
			b.forget(rt, id)
		}
		return map[string]float64{
			kcw: ms(create.wall), kcc: ms(create.cpu),
			kdw: ms(del.wall), kdc: ms(del.cpu + ocpu),
		}, nil
	})
	return nil
}

type batch struct{ wall, cpu time.Duration }

// parallel spawns one invocation per id at once and waits for all of them.
// Wall time is from the first fork to the last exit.
func (b *bench) parallel(rt *runtime, ids []string, args func(i int) []string) (batch, error) {
	procs := make([]*proc, 0, len(ids))
	var spawnErr error
	for i := range ids {
		p, err := b.r.spawn(b.logDir(), b.env, rt.argv(args(i)...), false)
		if err != nil {
			spawnErr = err
			break
		}
		procs = append(procs, p)
	}
	var out batch
	var first, last time.Time
	failed := 0
	var firstErr error
	for _, p := range procs {
		res := b.r.wait(p, 2*time.Minute)
		if first.IsZero() || res.start.Before(first) {
			first = res.start
		}
		if res.end.After(last) {
			last = res.end
		}
		out.cpu += res.cpu
		if err := res.err(); err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	out.wall = last.Sub(first)
	if spawnErr != nil {
		return out, spawnErr
	}
	if failed > 0 {
		return out, fmt.Errorf("%d of %d failed; first: %w", failed, len(ids), firstErr)
	}
	return out, nil
}
