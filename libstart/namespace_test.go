package libstart

import (
	"errors"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestResolveCloneFlags(t *testing.T) {
	tests := []struct {
		name string
		ns   []Namespace
		want NSPlan
	}{
		{"none", nil, NSPlan{}},
		{"pid", []Namespace{{Type: NSPid}}, NSPlan{CloneFlags: unix.CLONE_NEWPID}},
		{"all cloned kinds", []Namespace{{Type: NSPid}, {Type: NSNet}, {Type: NSIPC}, {Type: NSUTS}, {Type: NSMount}, {Type: NSUser}},
			NSPlan{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS | unix.CLONE_NEWUSER}},
		{"cgroup is unshared later", []Namespace{{Type: NSMount}, {Type: NSCgroup}},
			NSPlan{CloneFlags: unix.CLONE_NEWNS, UnshareCgroup: true}},
		{"time is unshared by the parent", []Namespace{{Type: NSTime}, {Type: NSMount}},
			NSPlan{CloneFlags: unix.CLONE_NEWNS, NewTime: true}},
		{"paths are joined in order", []Namespace{
			{Type: NSUTS, Path: "/proc/1/ns/uts"}, {Type: NSMount}, {Type: NSNet, Path: "/run/netns/x"},
			{Type: NSCgroup, Path: "/proc/1/ns/cgroup"}, {Type: NSIPC, Path: "/proc/1/ns/ipc"}},
			NSPlan{CloneFlags: unix.CLONE_NEWNS, Join: []Namespace{
				{Type: NSUTS, Path: "/proc/1/ns/uts"}, {Type: NSNet, Path: "/run/netns/x"},
				{Type: NSCgroup, Path: "/proc/1/ns/cgroup"}, {Type: NSIPC, Path: "/proc/1/ns/ipc"}}}},
		{"mount and time paths are entered by nsenter, in order", []Namespace{
			{Type: NSTime, Path: "/proc/1/ns/time"}, {Type: NSNet, Path: "/proc/1/ns/net"}, {Type: NSMount, Path: "/proc/1/ns/mnt"}, {Type: NSPid}},
			NSPlan{CloneFlags: unix.CLONE_NEWPID,
				Join:  []Namespace{{Type: NSNet, Path: "/proc/1/ns/net"}},
				Enter: []Namespace{{Type: NSTime, Path: "/proc/1/ns/time"}, {Type: NSMount, Path: "/proc/1/ns/mnt"}}}},
		{"joined pid is not cloned", []Namespace{{Type: NSPid, Path: "/proc/1/ns/pid"}, {Type: NSMount}},
			NSPlan{CloneFlags: unix.CLONE_NEWNS, Join: []Namespace{{Type: NSPid, Path: "/proc/1/ns/pid"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolveCloneFlags(&Conf{Namespaces: tt.ns})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ResolveCloneFlags = %+v, want %+v", got, tt.want)
			}
			if got.CloneFlags&(unix.CLONE_NEWCGROUP|unix.CLONE_NEWTIME) != 0 {
				t.Errorf("CloneFlags %#x contain cgroup or time", got.CloneFlags)
			}
		})
	}
}

// TestResolveCloneFlagsFromSpec: the base spec's namespaces as FromSpec
// translates them.
func TestResolveCloneFlagsFromSpec(t *testing.T) {
	conf, err := FromSpec(baseSpec(), baseOpts(newBundle(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := NSPlan{CloneFlags: unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS, UnshareCgroup: true}
	if got := ResolveCloneFlags(conf); !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveCloneFlags = %+v, want %+v", got, want)
	}
}

// TestResolveJoinedUserNamespace: with a user namespace given by path,
// nothing is created by clone; the constructor joins it, then unshares the
// new namespaces so that it owns them, and forks for a new pid namespace.
func TestResolveJoinedUserNamespace(t *testing.T) {
	s := baseSpec()
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/self/ns/user"})
	conf, err := FromSpec(s, baseOpts(newBundle(t)))
	if err != nil {
		t.Fatal(err)
	}
	plan := ResolveCloneFlags(conf)
	if plan.CloneFlags != 0 {
		t.Errorf("CloneFlags = %#x, want 0", plan.CloneFlags)
	}
	if want := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS); plan.Unshare != want {
		t.Errorf("Unshare = %#x, want %#x", plan.Unshare, want)
	}
	if !plan.ForksInConstructor() || len(plan.Enter) != 1 || plan.Enter[0].Type != NSUser {
		t.Errorf("plan %+v: want the user namespace entered and a fork", plan)
	}
}

func TestNsenterEnv(t *testing.T) {
	tests := []struct {
		plan    NSPlan
		offsets []TimeOffset
		want    string
	}{
		{NSPlan{}, nil, ""},
		{NSPlan{Enter: []Namespace{{Type: NSMount, Path: "/proc/1/ns/mnt"}}}, nil, "mnt /proc/1/ns/mnt\n"},
		{NSPlan{Enter: []Namespace{{Type: NSTime, Path: "/run/t"}, {Type: NSMount, Path: "/run/m"}}}, nil, "time /run/t\nmnt /run/m\n"},
		{NSPlan{NewTime: true}, nil, "newtime \n"},
		{NSPlan{NewTime: true, Enter: []Namespace{{Type: NSMount, Path: "/m"}}},
			[]TimeOffset{{Clock: "monotonic", Secs: 3600}, {Clock: "boottime", Secs: -5, Nsecs: 7}},
			"mnt /m\nnewtime monotonic 3600 0|boottime -5 7\n"},
		// a joined user namespace comes first; new namespaces are then
		// unshared (owned by it), and a new pid namespace forks
		{NSPlan{Enter: []Namespace{{Type: NSMount, Path: "/m"}, {Type: NSUser, Path: "/u"}}, Unshare: unix.CLONE_NEWPID | unix.CLONE_NEWNET},
			nil, "user /u\nmnt /m\nunshare 60000000\nfork 5\n"},
		{NSPlan{Enter: []Namespace{{Type: NSUser, Path: "/u"}}, Unshare: unix.CLONE_NEWUTS}, nil, "user /u\nunshare 4000000\n"},
	}
	for _, tt := range tests {
		if got := nsenterEnv(tt.plan, tt.offsets, 5); got != tt.want {
			t.Errorf("nsenterEnv(%+v, %v) = %q, want %q", tt.plan, tt.offsets, got, tt.want)
		}
	}
}

func TestConfNamespaceLookup(t *testing.T) {
	c := &Conf{Namespaces: []Namespace{{Type: NSPid}, {Type: NSNet, Path: "/run/netns/a"}}}
	tests := []struct {
		t    NSType
		has  bool
		path string
	}{
		{NSPid, true, ""},
		{NSNet, true, "/run/netns/a"},
		{NSUser, false, ""},
	}
	for _, tt := range tests {
		if c.HasNamespace(tt.t) != tt.has || c.NamespacePath(tt.t) != tt.path {
			t.Errorf("%s: has %v path %q", tt.t, c.HasNamespace(tt.t), c.NamespacePath(tt.t))
		}
	}
}

func TestIDMappings(t *testing.T) {
	got := idMappings([]IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}, {ContainerID: 65536, HostID: 4294901760, Size: 1}})
	want := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}, {ContainerID: 65536, HostID: 4294901760, Size: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("idMappings = %+v, want %+v", got, want)
	}
	if got := idMappings(nil); got == nil || len(got) != 0 {
		t.Errorf("idMappings(nil) = %#v, want empty", got)
	}
}

func TestNSInode(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		t.Skipf("no /proc/self/ns: %v", err)
	}
	ino, err := nsInode(os.Getpid(), "mnt")
	if err != nil || ino != st.Ino {
		t.Errorf("nsInode(self, mnt) = %d, %v; want %d", ino, err, st.Ino)
	}
	if _, err := nsInode(os.Getpid(), "bogus"); err == nil {
		t.Error("nsInode(bogus) succeeded")
	}
}

func TestForkInNamespaces(t *testing.T) {
	called := false
	fork := func() (int, int, error) { called = true; return 12, 34, nil }
	pid, pidfd, err := forkInNamespaces(NSPlan{CloneFlags: unix.CLONE_NEWNS}, fork)
	if err != nil || pid != 12 || pidfd != 34 || !called {
		t.Errorf("without joins: %d %d %v called=%v", pid, pidfd, err, called)
	}
	boom := errors.New("boom")
	if _, _, err := forkInNamespaces(NSPlan{}, func() (int, int, error) { return 0, -1, boom }); err != boom {
		t.Errorf("fork error not returned: %v", err)
	}
	// A namespace path that cannot be opened stops before the fork.
	called = false
	plan := NSPlan{Join: []Namespace{{Type: NSNet, Path: "/nonexistent/ns/net"}}}
	_, _, err = forkInNamespaces(plan, fork)
	if err == nil || called {
		t.Fatalf("join of a missing path: err %v, fork called %v", err, called)
	}
	if !strings.Contains(err.Error(), "network namespace /nonexistent/ns/net") || !errors.Is(err, unix.ENOENT) {
		t.Errorf("error %q", err)
	}
}
