package libstart

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateID(t *testing.T) {
	valid := []string{"abc", "a-b_c.d+e", strings.Repeat("0123456789abcdef", 4), "A", "...", "-x", strings.Repeat("a", 1024)}
	for _, id := range valid {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	invalid := []string{"", ".", "..", "../x", "a/b", "/abs", "a b", "a\nb", "a:b", "é", "a\x00b", strings.Repeat("a", 1025)}
	for _, id := range invalid {
		err := ValidateID(id)
		if err == nil {
			t.Errorf("ValidateID(%.40q) = nil, want error", id)
			continue
		}
		if id != "" && !strings.Contains(err.Error(), "invalid container id format") {
			t.Errorf("ValidateID(%.40q) = %q", id, err)
		}
	}
}

// selfStart is the start time of the test process, what a live init's
// record would hold.
func selfStart(t *testing.T) uint64 {
	t.Helper()
	st, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return st.StartTime
}

// canLock reports whether LOCK_EX|LOCK_NB on dir succeeds from a new open
// file description (what another lxcrun process would see).
func canLock(t *testing.T, dir string) bool {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil
}

func TestContainerRoundTrip(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root") // created by newContainer
	c, err := newContainer(root, "ctr1")
	if err != nil {
		t.Fatalf("newContainer: %v", err)
	}
	if c.Dir != filepath.Join(root, "ctr1") || c.ID != "ctr1" || c.Root != root {
		t.Errorf("container = %+v", c)
	}
	if canLock(t, c.Dir) {
		t.Error("newContainer does not hold the lock")
	}
	bundle := newBundle(t)
	conf, err := FromSpec(baseSpec(), SpecOptions{ID: "ctr1", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	want := State{
		ID:           "ctr1",
		Status:       StatusCreated,
		Pid:          os.Getpid(),
		PidStartTime: selfStart(t),
		Created:      time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		CgroupPaths:  map[string]string{"": "/sys/fs/cgroup/ctr1"},
		Conf:         conf,
	}
	c.State = want
	if err := c.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// Two saves in a row leave one file.
	if err := c.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != stateFile {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("state dir holds %v after Save, want only %s", names, stateFile)
	}
	c.Close()
	if !canLock(t, filepath.Join(root, "ctr1")) {
		t.Error("Close does not release the lock")
	}

	if _, err := newContainer(root, "ctr1"); !errors.Is(err, ErrExist) {
		t.Errorf("second newContainer: %v, want ErrExist", err)
	}

	got, err := OpenContainer(root, "ctr1", false)
	if err != nil {
		t.Fatalf("OpenContainer: %v", err)
	}
	defer got.Close()
	if !reflect.DeepEqual(got.State, want) {
		t.Errorf("loaded state differs:\n got %+v\nwant %+v", got.State, want)
	}
	if !canLock(t, got.Dir) {
		t.Error("OpenContainer(lock=false) holds the lock")
	}

	locked, err := OpenContainer(root, "ctr1", true)
	if err != nil {
		t.Fatalf("OpenContainer(lock): %v", err)
	}
	if canLock(t, locked.Dir) {
		t.Error("OpenContainer(lock=true) does not hold the lock")
	}
	// An update is seen by the next reader.
	locked.State.Status = StatusRunning
	if err := locked.Save(); err != nil {
		t.Fatal(err)
	}
	locked.Close()
	again, err := OpenContainer(root, "ctr1", false)
	if err != nil {
		t.Fatal(err)
	}
	if again.State.Status != StatusRunning {
		t.Errorf("status after update = %q", again.State.Status)
	}
	if err := again.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "ctr1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir after Remove: %v", err)
	}
	if _, err := OpenContainer(root, "ctr1", false); !errors.Is(err, ErrNotExist) {
		t.Errorf("OpenContainer after Remove: %v", err)
	}
}

func TestOpenContainerErrors(t *testing.T) {
	root := t.TempDir()
	write := func(id, content string) {
		t.Helper()
		dir := filepath.Join(root, id)
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("corrupt", `{"id":"corrupt","status":`)
	write("other", `{"id":"someone-else","status":"running"}`)
	write("wrongtype", `{"id":"wrongtype","pid":"12"}`)
	if err := os.WriteFile(filepath.Join(root, "afile"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id      string
		is      error
		msg     string
		msgAlso string
	}{
		{"unknown", ErrNotExist, "does not exist", ""},
		{"corrupt", nil, "corrupt", "corrupt"},
		{"wrongtype", nil, "corrupt", "wrongtype"},
		{"other", nil, "someone-else", "other"},
		{"../x", nil, "invalid container id", ""},
		{"", nil, "empty", ""},
		{"afile", nil, "open state directory", ""},
	}
	for _, tt := range tests {
		for _, lock := range []bool{false, true} {
			c, err := OpenContainer(root, tt.id, lock)
			if err == nil {
				c.Close()
				t.Errorf("OpenContainer(%q, %v) succeeded", tt.id, lock)
				continue
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("OpenContainer(%q): %v, want %v", tt.id, err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), tt.msgAlso) {
				t.Errorf("OpenContainer(%q): %q, want it to contain %q and %q", tt.id, err, tt.msg, tt.msgAlso)
			}
		}
		// A failed open leaves the lock free.
		if dir := filepath.Join(root, tt.id); tt.id == "corrupt" && !canLock(t, dir) {
			t.Errorf("failed OpenContainer(%q) left the lock held", tt.id)
		}
	}
	if _, err := newContainer(root, "a/b"); err == nil {
		t.Error("newContainer with an invalid id succeeded")
	}
	if _, err := os.Stat(filepath.Join(root, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Error("newContainer with an invalid id created something")
	}
}

// TestOpenWithoutStateFile: a create that died before writing state.json
// left an empty directory, which reads as a "creating" record.
func TestOpenWithoutStateFile(t *testing.T) {
	root := t.TempDir()
	c, err := newContainer(root, "early")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, err := OpenContainer(root, "early", false)
	if err != nil {
		t.Fatalf("OpenContainer: %v", err)
	}
	defer got.Close()
	if got.State.ID != "early" || got.State.Status != StatusCreating || got.State.Conf != nil {
		t.Errorf("state = %+v", got.State)
	}
	if st := got.Status(); st != StatusStopped {
		t.Errorf("Status() = %q for a dead create, want stopped", st)
	}
}

func TestStatus(t *testing.T) {
	start := selfStart(t)
	tests := []struct {
		name     string
		recorded string
		pid      int
		start    uint64
		socket   bool // a park socket in the state dir
		heldLock bool // another process holds the lock
		want     string
	}{
		{"created, alive, parked", StatusCreated, os.Getpid(), start, true, false, StatusCreated},
		{"created, alive, not parked", StatusCreated, os.Getpid(), start, false, false, StatusRunning},
		{"running, alive", StatusRunning, os.Getpid(), start, false, false, StatusRunning},
		{"paused, alive", StatusPaused, os.Getpid(), start, false, false, StatusPaused},
		{"paused, alive, parked", StatusPaused, os.Getpid(), start, true, false, StatusPaused},
		{"paused, dead", StatusPaused, os.Getpid(), start + 1, false, false, StatusStopped},
		{"created, wrong start time", StatusCreated, os.Getpid(), start + 1, true, false, StatusStopped},
		{"running, wrong start time", StatusRunning, os.Getpid(), start + 1, false, false, StatusStopped},
		{"created, no pid", StatusCreated, 0, 0, true, false, StatusStopped},
		{"stopped, alive", StatusStopped, os.Getpid(), start, true, false, StatusStopped},
		{"creating, nobody holds the lock", StatusCreating, 0, 0, false, false, StatusStopped},
		{"creating, lock held", StatusCreating, 0, 0, false, true, StatusCreating},
		{"creating with pid, lock held", StatusCreating, os.Getpid(), start, true, true, StatusCreating},
		{"created, lock held", StatusCreated, os.Getpid(), start, true, true, StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			c, err := newContainer(root, "c")
			if err != nil {
				t.Fatal(err)
			}
			c.State = State{ID: "c", Status: tt.recorded, Pid: tt.pid, PidStartTime: tt.start}
			if err := c.Save(); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if tt.socket {
				if err := os.WriteFile(filepath.Join(root, "c", parkSocket), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.heldLock {
				fd, err := unix.Open(filepath.Join(root, "c"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
			}
			got, err := OpenContainer(root, "c", false)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if st := got.Status(); st != tt.want {
				t.Errorf("Status() = %q, want %q", st, tt.want)
			}
		})
	}
}

// TestStatusCreatingUnderOwnLock: a verb that took the lock itself (start,
// delete) and finds a "creating" record knows the creator is gone: it could
// not have the lock otherwise.
func TestStatusCreatingUnderOwnLock(t *testing.T) {
	root := t.TempDir()
	c, err := newContainer(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	c.State = State{ID: "c", Status: StatusCreating}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	locked, err := OpenContainer(root, "c", true)
	if err != nil {
		t.Fatal(err)
	}
	defer locked.Close()
	if st := locked.Status(); st != StatusStopped {
		t.Errorf("Status() under own lock = %q, want stopped", st)
	}
	if err := locked.start(); err == nil || strings.Contains(err.Error(), "still being created") {
		t.Errorf("start of a dead create: %v, want the stopped error", err)
	}
}

func TestParkSocketPath(t *testing.T) {
	root := t.TempDir()
	c, err := newContainer(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.ParkSocketPath()
	if !strings.HasPrefix(p, "/proc/self/fd/") || !strings.HasSuffix(p, "/"+parkSocket) || len(p) >= 108 {
		t.Errorf("ParkSocketPath() = %q", p)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, parkSocket), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(p); err != nil || string(data) != "x" {
		t.Errorf("ParkSocketPath does not reach the state dir: %q %v", data, err)
	}
}

func TestListIDs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"b-1", "a", "bad name", "x:y", ".hidden"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ids, err := ListIDs(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".hidden", "a", "b-1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ListIDs = %q, want %q", ids, want)
	}
	if ids, err := ListIDs(filepath.Join(root, "missing")); err != nil || ids != nil {
		t.Errorf("ListIDs(missing) = %v, %v; want nil, nil", ids, err)
	}
	if _, err := ListIDs(filepath.Join(root, "file")); err == nil {
		t.Error("ListIDs of a file succeeded")
	}
}

func TestOCIState(t *testing.T) {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	withConf := &Container{ID: "c", State: State{ID: "c", Pid: 4321, Created: created,
		Conf: &Conf{OCIVersion: "1.0.2", Bundle: "/b", Rootfs: "/b/rootfs", Annotations: map[string]string{"a": "b"}}}}
	noConf := &Container{ID: "n", State: State{ID: "n", Pid: 99}}
	tests := []struct {
		name    string
		c       *Container
		status  string
		wantPid int
		check   func(t *testing.T, s OCIState)
	}{
		{"running", withConf, StatusRunning, 4321, func(t *testing.T, s OCIState) {
			if s.Version != "1.0.2" || s.Bundle != "/b" || s.Rootfs != "/b/rootfs" || s.Annotations["a"] != "b" || !s.Created.Equal(created) || s.ID != "c" {
				t.Errorf("state = %+v", s)
			}
		}},
		{"created", withConf, StatusCreated, 4321, nil},
		{"paused", withConf, StatusPaused, 4321, nil},
		{"stopped", withConf, StatusStopped, 0, nil},
		{"no conf", noConf, StatusRunning, 99, func(t *testing.T, s OCIState) {
			if s.Version != specs.Version || s.Bundle != "" || s.Rootfs != "" {
				t.Errorf("state = %+v", s)
			}
		}},
		{"no conf, stopped", noConf, StatusStopped, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.c.OCIState(tt.status)
			if string(s.Status) != tt.status || s.Pid != tt.wantPid {
				t.Errorf("status %q pid %d, want %q %d", s.Status, s.Pid, tt.status, tt.wantPid)
			}
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			_, hasPid := m["pid"]
			if hasPid != (tt.wantPid != 0) {
				t.Errorf("JSON %s: pid present = %v", data, hasPid)
			}
			for _, k := range []string{"ociVersion", "id", "status", "bundle", "rootfs", "created", "owner"} {
				if _, ok := m[k]; !ok {
					t.Errorf("JSON %s lacks %q", data, k)
				}
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// FuzzLoadState: no state.json content makes opening, deriving the status
// or printing the state panic.
func FuzzLoadState(f *testing.F) {
	good, _ := json.Marshal(State{ID: "fz", Status: StatusRunning, Pid: 1, PidStartTime: 1,
		Conf: &Conf{ID: "fz", Rootfs: "/r", Namespaces: []Namespace{{Type: NSMount}}}})
	f.Add(good)
	f.Add([]byte(`{"id":"fz","status":"creating"}`))
	f.Add([]byte(`{"id":"fz","status":"created","pid":-1}`))
	f.Add([]byte(`{"id":"fz","status":"paused","pid":2147483647,"pidStartTime":18446744073709551615}`))
	f.Add([]byte(`{"id":"fz","conf":null,"cgroupPaths":{"":""}}`))
	f.Add([]byte(`{"id":"other"}`))
	f.Add([]byte(`{"id":"fz","conf":{"seccomp":{"filter":"AAAA"},"process":{"caps":{}}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	root := f.TempDir()
	c, err := newContainer(root, "fz")
	if err != nil {
		f.Fatal(err)
	}
	c.Close()
	path := filepath.Join(root, "fz", stateFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := OpenContainer(root, "fz", false)
		if err != nil {
			if c != nil {
				t.Fatal("container returned with an error")
			}
			return
		}
		defer c.Close()
		if c.State.ID != "fz" {
			t.Fatalf("loaded state of %q", c.State.ID)
		}
		st := c.Status()
		switch st {
		case StatusCreating, StatusCreated, StatusRunning, StatusPaused, StatusStopped:
		default:
			t.Fatalf("Status() = %q", st)
		}
		if _, err := json.Marshal(c.OCIState(st)); err != nil {
			t.Fatalf("state JSON: %v", err)
		}
	})
}
