package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The limits of withLimits, as the v1 files show them.
const (
	limMemory = 256 << 20
	limSwap   = 512 << 20 // memory+swap
	limShares = 512
	limQuota  = 30000
	limPeriod = 100000
	limCpus   = "0"
	limPids   = 100
)

// haveSwapAccounting reports whether memory.memsw.* exist (swapaccount).
func haveSwapAccounting() bool {
	_, err := os.Stat(filepath.Join(cgroupV1Root, "memory", "memory.memsw.limit_in_bytes"))
	return err == nil
}

// withLimits sets memory (and memory+swap where accounted), cpu, cpuset and
// pids limits.
func withLimits(s *specs.Spec) {
	r := s.Linux.Resources
	r.Memory = &specs.LinuxMemory{Limit: int64p(limMemory)}
	if haveSwapAccounting() {
		r.Memory.Swap = int64p(limSwap)
	}
	r.CPU = &specs.LinuxCPU{Shares: uint64p(limShares), Quota: int64p(limQuota), Period: uint64p(limPeriod), Cpus: limCpus}
	r.Pids = &specs.LinuxPids{Limit: int64p(limPids)}
}

// checkLimits checks withLimits' values from the host.
func checkLimits(t *testing.T, id string) {
	t.Helper()
	cgWant(t, id, "memory", "memory.limit_in_bytes", strconv.Itoa(limMemory))
	if haveSwapAccounting() {
		cgWant(t, id, "memory", "memory.memsw.limit_in_bytes", strconv.Itoa(limSwap))
	}
	cgWant(t, id, "cpu", "cpu.shares", strconv.Itoa(limShares))
	cgWant(t, id, "cpu", "cpu.cfs_quota_us", strconv.Itoa(limQuota))
	cgWant(t, id, "cpu", "cpu.cfs_period_us", strconv.Itoa(limPeriod))
	cgWant(t, id, "cpuset", "cpuset.cpus", limCpus)
	cgWant(t, id, "pids", "pids.max", strconv.Itoa(limPids))
}

// TestCgroupLimits: linux.resources are visible from the host in
// /sys/fs/cgroup/<controller>/lxcrun-it/<id>, and the init is in every one
// of those cgroups. blkio is not tested: this kernel has no blkio.weight
// (CFQ is gone).
func TestCgroupLimits(t *testing.T) {
	requireV1(t, "memory", "cpu", "cpuset", "pids")
	t.Parallel()
	c := runningCtr(t, withLimits)
	checkLimits(t, c.id)
	pid := c.initPid()
	for _, ctrl := range []string{"memory", "cpu", "cpuset", "pids", "freezer", "devices"} {
		if !haveV1Controller(ctrl) {
			continue
		}
		if got, want := procCgroup(pid, ctrl), "/"+cgroupParent+"/"+c.id; got != want {
			t.Errorf("init's %s cgroup is %q, want %q", ctrl, got, want)
		}
	}
	// the pids limit is enforced: 100 processes at most
	res := c.exec(c.id, "sh", "-c", "i=0; while [ $i -lt 120 ]; do sleep 30 </dev/null >/dev/null 2>&1 & i=$((i+1)); done 2>/dev/null; echo started")
	if n, _ := strconv.Atoi(cgRead(t, "pids", c.id, "pids.current")); n > limPids {
		t.Errorf("pids.current %d > pids.max %d", n, limPids)
	}
	ev := strings.Fields(cgRead(t, "pids", c.id, "pids.events"))
	if len(ev) != 2 || ev[0] != "max" || ev[1] == "0" {
		t.Errorf("no fork was refused by pids.max (pids.events %q); exec: %s", ev, res)
	}
}

// updateCase is one way of calling update.
type updateCase struct {
	name string
	// args after "update" and before the id; "@FILE" is replaced by the
	// path of a file holding payload
	args    []string
	payload string // the JSON resources (a file, or stdin with "-")
	stdin   bool
	want    map[string]string // "ctrl/file" -> value
}

// TestCgroupUpdate: update through --resources (stdin, =FILE, FILE) and
// through flags changes the files; unset and zero-valued fields leave the
// rest alone.
func TestCgroupUpdate(t *testing.T) {
	requireV1(t, "memory", "cpu", "cpuset", "pids")
	t.Parallel()
	swap := haveSwapAccounting()
	// Docker's update payload: zero means "not set".
	docker := `{"memory":{"limit":134217728,"reservation":0,"swap":268435456,"kernel":0},"cpu":{"shares":0,"quota":50000,"period":100000},"pids":{"limit":200},"blockIO":{"weight":0}}`
	if !swap {
		docker = `{"memory":{"limit":134217728,"reservation":0,"kernel":0},"cpu":{"shares":0,"quota":50000,"period":100000},"pids":{"limit":200},"blockIO":{"weight":0}}`
	}
	dockerWant := map[string]string{
		"memory/memory.limit_in_bytes": "134217728",
		"cpu/cpu.cfs_quota_us":         "50000",
		"cpu/cpu.cfs_period_us":        "100000",
		"pids/pids.max":                "200",
		// unchanged
		"cpu/cpu.shares":                     strconv.Itoa(limShares),
		"cpuset/cpuset.cpus":                 limCpus,
		"memory/memory.memsw.limit_in_bytes": "268435456",
	}
	if !swap {
		delete(dockerWant, "memory/memory.memsw.limit_in_bytes")
	}
	small := `{"memory":{"limit":209715200},"cpu":{"quota":40000},"pids":{"limit":150}}`
	smallWant := map[string]string{
		"memory/memory.limit_in_bytes": "209715200",
		"cpu/cpu.cfs_quota_us":         "40000",
		"pids/pids.max":                "150",
		"cpu/cpu.shares":               strconv.Itoa(limShares),
		"cpu/cpu.cfs_period_us":        strconv.Itoa(limPeriod),
	}
	cases := []updateCase{
		{name: "stdin", args: []string{"--resources", "-"}, payload: docker, stdin: true, want: dockerWant},
		{name: "resources_eq_file", args: []string{"--resources=@FILE"}, payload: docker, want: dockerWant},
		{name: "resources_file", args: []string{"--resources", "@FILE"}, payload: small, want: smallWant},
		{name: "r_file", args: []string{"-r", "@FILE"}, payload: small, want: smallWant},
		{
			name: "flags",
			args: []string{"--memory", "128m", "--cpu-quota", "20000", "--pids-limit", "200"},
			want: map[string]string{
				"memory/memory.limit_in_bytes": "134217728",
				"cpu/cpu.cfs_quota_us":         "20000",
				"pids/pids.max":                "200",
				"cpu/cpu.shares":               strconv.Itoa(limShares),
				"cpu/cpu.cfs_period_us":        strconv.Itoa(limPeriod),
			},
		},
		{
			name: "flags_shares_period",
			args: []string{"--cpu-share", "256", "--cpu-period", "50000", "--cpu-quota", "25000"},
			want: map[string]string{
				"cpu/cpu.shares":               "256",
				"cpu/cpu.cfs_period_us":        "50000",
				"cpu/cpu.cfs_quota_us":         "25000",
				"memory/memory.limit_in_bytes": strconv.Itoa(limMemory),
			},
		},
		{
			name: "pids_unlimited",
			args: []string{"--pids-limit", "-1"},
			want: map[string]string{"pids/pids.max": "max"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := runningCtr(t, withLimits)
			args := []string{"update"}
			for _, a := range tc.args {
				if strings.Contains(a, "@FILE") {
					a = strings.ReplaceAll(a, "@FILE", writeTempFile(t, "resources.json", tc.payload))
				}
				args = append(args, a)
			}
			cmd := c.cmd(append(args, c.id)...)
			if tc.stdin {
				cmd.Stdin = strings.NewReader(tc.payload)
			}
			runCmd(t, cmd).mustSucceed(t)
			for k, want := range tc.want {
				ctrl, file, _ := strings.Cut(k, "/")
				cgWant(t, c.id, ctrl, file, want)
			}
			if st := c.mustState(); st.Status != specs.StateRunning {
				t.Errorf("container after update: %+v", st)
			}
		})
	}
	t.Run("cri_devices_payload", func(t *testing.T) {
		t.Parallel()
		// CRI's UpdateContainerResources passes the whole linux.resources,
		// device rules included; they must not replace the container's.
		c := runningCtr(t, withLimits)
		var before string
		if haveV1Controller("devices") {
			before = cgRead(t, "devices", c.id, "devices.list")
		}
		payload := `{"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":201326592},"cpu":{"shares":1024,"quota":60000,"period":100000,"cpus":"","mems":""},"pids":{"limit":300}}`
		cmd := c.cmd("update", "--resources", "-", c.id)
		cmd.Stdin = strings.NewReader(payload)
		runCmd(t, cmd).mustSucceed(t)
		cgWant(t, c.id, "memory", "memory.limit_in_bytes", "201326592")
		cgWant(t, c.id, "cpu", "cpu.shares", "1024")
		cgWant(t, c.id, "cpu", "cpu.cfs_quota_us", "60000")
		cgWant(t, c.id, "pids", "pids.max", "300")
		cgWant(t, c.id, "cpuset", "cpuset.cpus", limCpus)
		if haveV1Controller("devices") {
			if after := cgRead(t, "devices", c.id, "devices.list"); after != before {
				t.Errorf("update changed devices.list:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		}
		res := c.exec(c.id, "sh", "-c", "echo x > /dev/null && cat /dev/null && head -c 4 /dev/zero | wc -c && echo devices-ok").mustSucceed(t)
		if !strings.Contains(res.Stdout, "devices-ok") {
			t.Errorf("/dev/null or /dev/zero broken after the CRI update: %s", res)
		}
		// a new process (not just the running ones) can open them too
		c.exec(c.id, "sh", "-c", ": > /dev/null").mustSucceed(t)
	})
	t.Run("bad_payload", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t, withLimits)
		cmd := c.cmd("update", "--resources", "-", c.id)
		cmd.Stdin = strings.NewReader("{not json")
		runCmd(t, cmd).mustFail(t)
		checkLimits(t, c.id)
	})
}

// TestCgroupPause: pause freezes the cgroup (state "paused", freezer.state
// FROZEN) and resume thaws it; a paused container can be killed and force-
// deleted without leaving anything (the cleanup checks).
func TestCgroupPause(t *testing.T) {
	requireV1(t, "freezer")
	t.Parallel()
	t.Run("pause_resume", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		c.rt("pause", c.id).mustSucceed(t)
		if st := c.mustState(); st.Status != statePaused {
			t.Fatalf("after pause: status %q, want paused", st.Status)
		}
		cgWant(t, c.id, "freezer", "freezer.state", "FROZEN")
		// the init is frozen (D or S state with the freezer), not running
		c.exec(c.id, "true").mustFail(t, "paused")
		// pausing a paused container is an error in runc 1.1.5 ("container not running")
		c.rt("pause", c.id).mustFail(t)
		c.rt("resume", c.id).mustSucceed(t)
		if st := c.mustState(); st.Status != specs.StateRunning {
			t.Fatalf("after resume: status %q, want running", st.Status)
		}
		cgWant(t, c.id, "freezer", "freezer.state", "THAWED")
		c.exec(c.id, "true").mustSucceed(t)
		// resuming a running container is an error ("container not paused")
		c.rt("resume", c.id).mustFail(t, "not paused")
	})
	t.Run("delete_force_paused", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		// an exec'd process too, so that more than the init is frozen
		c.exec("-d", c.id, "sleep", "1000").mustSucceed(t)
		c.rt("pause", c.id).mustSucceed(t)
		c.rt("delete", "--force", c.id).mustSucceed(t)
		checkNothingLeft(t, c)
		c.rt("state", c.id).mustFail(t, "does not exist")
	})
	t.Run("kill_paused", func(t *testing.T) {
		t.Parallel()
		c := runningCtr(t)
		c.rt("pause", c.id).mustSucceed(t)
		c.rt("kill", c.id, "KILL").mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		if !waitGone(c.pids[0]) {
			t.Fatalf("init %d of the paused container survived kill KILL", c.pids[0])
		}
		c.rt("delete", c.id).mustSucceed(t)
		checkNothingLeft(t, c)
	})
	t.Run("pause_stopped_fails", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("exit 0"))
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		c.rt("pause", c.id).mustFail(t)
		c.rt("resume", c.id).mustFail(t)
	})
}

// TestCgroupEventsStats: `events --stats ID` prints one stats object with
// the cgroup's cpu, memory (limit included) and pids figures.
func TestCgroupEventsStats(t *testing.T) {
	requireV1(t, "memory", "pids", "cpuacct")
	t.Parallel()
	c := runningCtr(t, withLimits)
	res := c.rt("events", "--stats", c.id).mustSucceed(t)
	dec := json.NewDecoder(strings.NewReader(res.Stdout))
	dec.UseNumber()
	var ev struct {
		Type string                     `json:"type"`
		ID   string                     `json:"id"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("events --stats did not print a JSON object: %v\n%s", err, res)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		t.Errorf("events --stats printed more than one JSON value: %s", res)
	}
	if ev.Type != "stats" || ev.ID != c.id {
		t.Errorf("events --stats: type %q id %q, want \"stats\" and %q", ev.Type, ev.ID, c.id)
	}
	for _, k := range []string{"cpu", "memory", "pids"} {
		if len(ev.Data[k]) == 0 {
			t.Errorf("events --stats: no data.%s: %s", k, res.Stdout)
		}
	}
	var mem struct {
		Usage struct {
			Limit json.Number `json:"limit"`
			Usage json.Number `json:"usage"`
		} `json:"usage"`
	}
	var pids struct {
		Current json.Number `json:"current"`
		Limit   json.Number `json:"limit"`
	}
	var cpu struct {
		Usage struct {
			Total json.Number `json:"total"`
		} `json:"usage"`
	}
	decodeNum := func(raw json.RawMessage, v any) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Errorf("events --stats: %v in %s", err, raw)
		}
	}
	decodeNum(ev.Data["memory"], &mem)
	decodeNum(ev.Data["pids"], &pids)
	decodeNum(ev.Data["cpu"], &cpu)
	if mem.Usage.Limit.String() != strconv.Itoa(limMemory) {
		t.Errorf("data.memory.usage.limit = %q, want %d", mem.Usage.Limit, limMemory)
	}
	if n, err := mem.Usage.Usage.Int64(); err != nil || n <= 0 {
		t.Errorf("data.memory.usage.usage = %q, want > 0", mem.Usage.Usage)
	}
	if n, err := pids.Current.Int64(); err != nil || n < 1 {
		t.Errorf("data.pids.current = %q, want >= 1", pids.Current)
	}
	if pids.Limit.String() != strconv.Itoa(limPids) {
		t.Errorf("data.pids.limit = %q, want %d", pids.Limit, limPids)
	}
	if n, err := cpu.Usage.Total.Int64(); err != nil || n <= 0 {
		t.Errorf("data.cpu.usage.total = %q, want > 0", cpu.Usage.Total)
	}
	t.Run("stopped", func(t *testing.T) {
		c := newCtr(t, withSh("exit 0"))
		c.create().mustSucceed(t)
		c.start().mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		// runc 1.1.5: "container with id ... is not running"
		c.rt("events", "--stats", c.id).mustFail(t, "not running")
	})
}

// TestCgroupPs: ps lists the container's processes by host pid, as JSON
// or through ps(1) with its options.
func TestCgroupPs(t *testing.T) {
	t.Parallel()
	c := runningCtr(t)
	pid := c.initPid()
	c.exec("-d", c.id, "sleep", "999").mustSucceed(t)
	var execPid int
	if !waitFor(func() bool {
		for _, p := range cgroupProcs(c.id) {
			if p != pid {
				execPid = p
				return true
			}
		}
		return false
	}) {
		t.Fatal("exec'd process not in the cgroup")
	}
	c.pids = append(c.pids, execPid)
	t.Run("json", func(t *testing.T) {
		res := c.rt("ps", "--format", "json", c.id).mustSucceed(t)
		var pids []int
		if err := json.Unmarshal([]byte(res.Stdout), &pids); err != nil {
			t.Fatalf("ps --format json is not a JSON array of pids: %v\n%s", err, res)
		}
		if !hasPid(pids, pid) || !hasPid(pids, execPid) {
			t.Errorf("ps --format json: %v, want init %d and exec'd %d", pids, pid, execPid)
		}
		res = c.rt("ps", "-f", "json", c.id).mustSucceed(t)
		if err := json.Unmarshal([]byte(res.Stdout), &pids); err != nil || !hasPid(pids, pid) {
			t.Errorf("ps -f json: %v %s", err, res)
		}
	})
	t.Run("table", func(t *testing.T) {
		res := c.rt("ps", c.id).mustSucceed(t)
		checkPsTable(t, res, []int{pid, execPid}, "")
	})
	t.Run("ps_options", func(t *testing.T) {
		res := c.rt("ps", c.id, "-o", "pid,comm").mustSucceed(t)
		checkPsTable(t, res, []int{pid, execPid}, "sleep")
		if h := strings.Fields(lineAt(lines(res.Stdout), 0)); len(h) != 2 || h[0] != "PID" || h[1] != "COMMAND" {
			t.Errorf("ps ID -o pid,comm: header %q, want PID COMMAND", h)
		}
	})
	t.Run("ps_options_after_dashdash", func(t *testing.T) {
		res := c.rt("ps", "--", c.id, "-o", "pid,comm").mustSucceed(t)
		checkPsTable(t, res, []int{pid}, "sleep")
	})
	t.Run("stopped", func(t *testing.T) {
		s := newCtr(t, withSh("exit 0"))
		s.create().mustSucceed(t)
		s.start().mustSucceed(t)
		s.waitStatus(specs.StateStopped)
		res := s.rt("ps", "--format", "json", s.id)
		if res.Code == 0 {
			// runc 1.1.5 lists the (empty) cgroup of a stopped container
			var pids []int
			if err := json.Unmarshal([]byte(res.Stdout), &pids); err != nil || len(pids) != 0 {
				t.Errorf("ps of a stopped container: %v %s", err, res)
			}
		}
	})
}

func hasPid(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// checkPsTable requires a header with a PID column and a line per pid
// (with word in it, if given).
func checkPsTable(t *testing.T, res result, pids []int, word string) {
	t.Helper()
	l := lines(res.Stdout)
	if len(l) < 2 {
		t.Fatalf("ps printed no table: %s", res)
	}
	col := -1
	for i, h := range strings.Fields(l[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("ps header %q has no PID column", l[0])
	}
	for _, pid := range pids {
		found := false
		for _, row := range l[1:] {
			f := strings.Fields(row)
			if len(f) > col && f[col] == strconv.Itoa(pid) && (word == "" || strings.Contains(row, word)) {
				found = true
			}
		}
		if !found {
			t.Errorf("ps: no line for pid %d (with %q):\n%s", pid, word, res.Stdout)
		}
	}
}

// TestCgroupKillAll: in a container sharing the host pid namespace, a child
// outlives the init; kill --all reaches it through the cgroup, also once
// the container is stopped, and delete then leaves no cgroup.
func TestCgroupKillAll(t *testing.T) {
	t.Parallel()
	c := newCtr(t, withoutNamespace(specs.PIDNamespace), withSh("sleep 1000 & exec sleep 1001"))
	c.run("--detach").mustSucceed(t)
	initPid := c.initPid()
	var child int
	if !waitFor(func() bool {
		for _, p := range cgroupProcs(c.id) {
			if p != initPid && strings.Contains(readBack(fmt.Sprintf("/proc/%d/cmdline", p)), "1000") {
				child = p
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no child besides the init in the cgroup: %v", cgroupProcs(c.id))
	}
	c.pids = append(c.pids, child)

	// kill the init only
	c.rt("kill", c.id, "KILL").mustSucceed(t)
	c.waitStatus(specs.StateStopped)
	if !waitGone(initPid) {
		t.Fatalf("init %d survived kill KILL", initPid)
	}
	time.Sleep(100 * time.Millisecond)
	if !alive(child) {
		t.Fatalf("the child %d died with the init: the test needs it alive (host pid namespace)", child)
	}
	// kill without --all on a stopped container: "container not running"
	c.rt("kill", c.id, "KILL").mustFail(t, "not running")
	c.rt("kill", "--all", c.id, "KILL").mustSucceed(t)
	if !waitGone(child) {
		t.Fatalf("child %d survived kill --all KILL", child)
	}
	if !waitFor(func() bool { return len(cgroupProcs(c.id)) == 0 }) {
		t.Errorf("processes left in the cgroup after kill --all: %v", cgroupProcs(c.id))
	}
	// kill --all on a container whose cgroup is empty
	c.rt("kill", "--all", c.id, "KILL").mustSucceed(t)
	c.rt("kill", "-a", c.id, "TERM").mustSucceed(t)
	c.rt("delete", c.id).mustSucceed(t)
	if left := cgroupDirs(c.id); len(left) > 0 {
		t.Errorf("delete left cgroups behind: %v", left)
	}
	t.Run("delete_kills_leftovers", func(t *testing.T) {
		// without kill --all, delete of the stopped container kills what
		// is left in its cgroup (runc: destroy signals all processes when
		// the container has no pid namespace of its own)
		c := newCtr(t, withoutNamespace(specs.PIDNamespace), withSh("sleep 1000 & exec sleep 1001"))
		c.run("--detach").mustSucceed(t)
		initPid := c.initPid()
		waitFor(func() bool { return len(cgroupProcs(c.id)) == 2 })
		procs := cgroupProcs(c.id)
		if len(procs) != 2 {
			t.Fatalf("cgroup procs %v, want the init and its child", procs)
		}
		c.pids = append(c.pids, procs...)
		c.rt("kill", c.id, "KILL").mustSucceed(t)
		c.waitStatus(specs.StateStopped)
		waitGone(initPid)
		c.rt("delete", c.id).mustSucceed(t)
		for _, p := range procs {
			if !waitGone(p) {
				t.Errorf("pid %d survived delete of its stopped container", p)
			}
		}
		if left := cgroupDirs(c.id); len(left) > 0 {
			t.Errorf("delete left cgroups behind: %v", left)
		}
	})
	t.Run("kill_all_running", func(t *testing.T) {
		c := newCtr(t, withoutNamespace(specs.PIDNamespace), withSh("sleep 1000 & exec sleep 1001"))
		c.run("--detach").mustSucceed(t)
		waitFor(func() bool { return len(cgroupProcs(c.id)) == 2 })
		procs := cgroupProcs(c.id)
		c.pids = append(c.pids, procs...)
		c.rt("kill", "--all", c.id, "KILL").mustSucceed(t)
		for _, p := range procs {
			if !waitGone(p) {
				t.Errorf("pid %d survived kill --all", p)
			}
		}
		c.waitStatus(specs.StateStopped)
		c.rt("delete", c.id).mustSucceed(t)
	})
}

// hugetlb2MB says whether 2MB huge pages exist on this machine.
func hugetlb2MB(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		t.Skip("no 2MB huge pages on this machine")
	}
}

func withHugepages(n uint64) specOpt {
	return func(s *specs.Spec) {
		s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2097152 * n}}
	}
}

// TestCgroupHugetlbMounted: with the hugetlb v1 hierarchy mounted (the test
// mounts it if absent and unmounts it at the end), a hugepageLimits entry
// is visible from the host next to the memory limit. Not parallel: the
// mount is machine-wide and TestCgroupHugetlbUnmounted undoes it.
func TestCgroupHugetlbMounted(t *testing.T) {
	requireV1(t, "memory")
	hugetlb2MB(t)
	withHugetlbMount(t)
	c := runningCtr(t, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: int64p(limMemory)}
	}, withHugepages(3))
	cgWant(t, c.id, "memory", "memory.limit_in_bytes", strconv.Itoa(limMemory))
	cgWant(t, c.id, "hugetlb", "hugetlb.2MB.limit_in_bytes", strconv.Itoa(3*2097152))
	if got, want := procCgroup(c.initPid(), "hugetlb"), "/"+cgroupParent+"/"+c.id; got != want {
		t.Errorf("init's hugetlb cgroup is %q, want %q", got, want)
	}
	// a plain container (no hugepageLimits) gets its hugetlb cgroup too
	p := runningCtr(t, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: int64p(limMemory)}
	})
	cgWant(t, p.id, "memory", "memory.limit_in_bytes", strconv.Itoa(limMemory))
	if _, err := os.Stat(cgDir("hugetlb", p.id)); err != nil {
		t.Errorf("no hugetlb cgroup for a container without hugepageLimits: %v", err)
	}
}

// TestCgroupHugetlbUnmounted: without the hugetlb v1 hierarchy (the test
// unmounts it if present and mounts it again at the end), containers with
// limits still work; a hugepageLimits request fails with an error naming
// hugetlb and leaves nothing behind. Not parallel (see above).
func TestCgroupHugetlbUnmounted(t *testing.T) {
	requireV1(t, "memory", "cpu", "pids")
	withoutHugetlbMount(t)
	c := runningCtr(t, withLimits)
	checkLimits(t, c.id)
	c.exec(c.id, "true").mustSucceed(t)
	res := c.rt("events", "--stats", c.id).mustSucceed(t)
	if !strings.Contains(res.Stdout, `"type":"stats"`) {
		t.Errorf("events --stats without hugetlb: %s", res)
	}
	c.rt("update", "--memory", "200m", c.id).mustSucceed(t)
	cgWant(t, c.id, "memory", "memory.limit_in_bytes", strconv.Itoa(200<<20))
	c.rt("pause", c.id).mustSucceed(t)
	c.rt("resume", c.id).mustSucceed(t)

	t.Run("hugepageLimits_fails", func(t *testing.T) {
		hugetlb2MB(t)
		h := newCtr(t, func(s *specs.Spec) {
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: int64p(limMemory)}
		}, withHugepages(2))
		// runc 1.1.5: "... cannot set hugetlb limit: container could not join or create cgroup"
		h.run("--detach").mustFail(t, "hugetlb")
		h.rt("state", h.id).mustFail(t, "does not exist")
		checkNothingLeft(t, h)
	})
}

// TestCgroupCreateDeleteCycles: 200 create/delete cycles with memory, pids
// and cpu limits leave no cgroup directory in any hierarchy and no state.
// Sequential (not parallel) and without start: delete kills the created
// container's init.
func TestCgroupCreateDeleteCycles(t *testing.T) {
	requireV1(t, "memory", "cpu", "pids")
	const cycles = 200
	root := filepath.Join(shortTempDir(t), "state")
	bundle := shortTempDir(t)
	prefix := fmt.Sprintf("itcyc%d-", os.Getpid())
	live := map[string]bool{}
	runcLeaks := 0
	t.Cleanup(func() {
		for id := range live {
			rt(t, "--root", root, "delete", "--force", id)
		}
	})
	start := time.Now()
	for i := 0; i < cycles; i++ {
		id := fmt.Sprintf("%s%d", prefix, i)
		s := defaultSpec()
		withLimits(s)
		s.Linux.CgroupsPath = "/" + cgroupParent + "/" + id
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		live[id] = true
		res := rt(t, "--root", root, "create", "--bundle", bundle, id)
		if res.Code != 0 {
			t.Fatalf("cycle %d: %s", i, res)
		}
		if i == 0 {
			checkLimits(t, id)
		}
		del := rt(t, "--root", root, "delete", id)
		if del.Code != 0 {
			t.Fatalf("cycle %d: %s", i, del)
		}
		delete(live, id)
		if left := cgroupDirs(id); len(left) > 0 {
			if !isRunc() {
				t.Fatalf("cycle %d: delete left cgroups behind: %v\n%s", i, left, del)
			}
			// runc 1.1.5 bug, seen once in a few hundred cycles on a
			// loaded machine: rmdir gets EBUSY while the killed init is
			// still going away, runc gives up after ~150ms of retries,
			// logs "Failed to remove cgroup" and still exits 0, leaving
			// the (empty) directories for good. lxcrun must not.
			runcLeaks++
			t.Logf("cycle %d: runc 1.1.5 left %d cgroup directories (known runc bug); removing them: %s", i, len(left), del.Stderr)
			waitFor(func() bool {
				for _, d := range cgroupDirs(id) {
					syscall.Rmdir(d)
				}
				return len(cgroupDirs(id)) == 0
			})
		}
	}
	t.Logf("%d create/delete cycles in %v", cycles, time.Since(start).Round(time.Millisecond))
	if runcLeaks > 0 {
		t.Logf("runc leaked the cgroups of %d of %d deleted containers", runcLeaks, cycles)
	}
	var left []string
	for _, pat := range []string{
		cgroupV1Root + "/*/" + cgroupParent + "/" + prefix + "*",
		cgroupV1Root + "/" + cgroupParent + "/" + prefix + "*",
	} {
		m, _ := filepath.Glob(pat)
		left = append(left, m...)
	}
	if len(left) > 0 {
		t.Errorf("cgroup directories left after %d cycles: %v", cycles, left)
	}
	var names []string
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		// lxcrun's cache of compiled seccomp filters is not container
		// state; a name with '#' is never a container id.
		if e.Name() != "#seccomp" {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		t.Errorf("state left in --root after %d cycles: %v", cycles, names)
	}
	if procs := procsOf(prefix, bundle); len(procs) > 0 {
		t.Errorf("processes left after %d cycles: %v", cycles, procs)
	}
}
