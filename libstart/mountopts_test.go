package libstart

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestMountFromSpec(t *testing.T) {
	const bundle = "/bundle"
	tests := []struct {
		name string
		in   specs.Mount
		want Mount
	}{
		{
			name: "ro,nosuid,nodev",
			in:   specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "nosuid", "nodev"}},
			want: Mount{Kind: MountFS, Source: "tmpfs", Destination: "/mnt", Type: "tmpfs", Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV},
		},
		{
			name: "rw clears an earlier ro",
			in:   specs.Mount{Destination: "/mnt", Type: "tmpfs", Options: []string{"ro", "nosuid", "rw"}},
			want: Mount{Destination: "/mnt", Type: "tmpfs", Flags: unix.MS_NOSUID},
		},
		{
			name: "ro after rw wins",
			in:   specs.Mount{Destination: "/mnt", Type: "tmpfs", Options: []string{"rw", "ro"}},
			want: Mount{Destination: "/mnt", Type: "tmpfs", Flags: unix.MS_RDONLY},
		},
		{
			name: "defaults is no flag",
			in:   specs.Mount{Destination: "/mnt", Type: "ext4", Source: "/dev/sda1", Options: []string{"defaults"}},
			want: Mount{Source: "/dev/sda1", Destination: "/mnt", Type: "ext4"},
		},
		{
			name: "rbind",
			in:   specs.Mount{Destination: "/mnt", Type: "none", Source: "/src", Options: []string{"rbind"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "none", Flags: unix.MS_BIND | unix.MS_REC},
		},
		{
			name: "bind option without type",
			in:   specs.Mount{Destination: "/mnt", Source: "/src", Options: []string{"bind", "ro"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Flags: unix.MS_BIND | unix.MS_RDONLY},
		},
		{
			name: "bind type without bind option",
			in:   specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src"},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "bind", Flags: unix.MS_BIND},
		},
		{
			name: "propagation kept in order",
			in:   specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"rbind", "rprivate", "shared"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "bind", Flags: unix.MS_BIND | unix.MS_REC,
				PropFlags: []uint64{unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED}},
		},
		{
			name: "every propagation option",
			in: specs.Mount{Destination: "/mnt", Type: "tmpfs", Options: []string{"private", "rprivate", "shared", "rshared",
				"slave", "rslave", "unbindable", "runbindable"}},
			want: Mount{Destination: "/mnt", Type: "tmpfs", PropFlags: []uint64{
				unix.MS_PRIVATE, unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC,
				unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC}},
		},
		{
			name: "recursive rro,rnosuid",
			in:   specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"rbind", "rro", "rnosuid"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "bind", Flags: unix.MS_BIND | unix.MS_REC,
				RecAttrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID},
		},
		{
			name: "rrw after rro clears",
			in:   specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"rro", "rnodev", "rrw"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "bind", Flags: unix.MS_BIND,
				RecAttrSet: unix.MOUNT_ATTR_NODEV, RecAttrClr: unix.MOUNT_ATTR_RDONLY},
		},
		{
			name: "rro after rrw sets",
			in:   specs.Mount{Destination: "/mnt", Type: "bind", Source: "/src", Options: []string{"rrw", "rro"}},
			want: Mount{Kind: MountBind, Source: "/src", Destination: "/mnt", Type: "bind", Flags: unix.MS_BIND,
				RecAttrSet: unix.MOUNT_ATTR_RDONLY},
		},
		{
			name: "unknown options go to data, in order",
			in:   specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755", "strictatime", "size=65536k"}},
			want: Mount{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		},
		{
			name: "cgroup",
			in:   specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
			want: Mount{Kind: MountCgroup, Source: "cgroup", Destination: "/sys/fs/cgroup", Type: "cgroup", Flags: unix.MS_RDONLY},
		},
		{
			name: "cgroup2",
			in:   specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup2"},
			want: Mount{Kind: MountCgroup, Source: "cgroup2", Destination: "/sys/fs/cgroup", Type: "cgroup2"},
		},
		{
			name: "relative bind source is joined with the bundle",
			in:   specs.Mount{Destination: "/data", Type: "bind", Source: "data/dir", Options: []string{"rbind"}},
			want: Mount{Kind: MountBind, Source: "/bundle/data/dir", Destination: "/data", Type: "bind", Flags: unix.MS_BIND | unix.MS_REC},
		},
		{
			name: "relative source of a non-bind mount is kept",
			in:   specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"},
			want: Mount{Source: "proc", Destination: "/proc", Type: "proc"},
		},
		{
			name: "relative destination is taken from / (runc)",
			in:   specs.Mount{Destination: "mnt/data", Type: "tmpfs"},
			want: Mount{Destination: "/mnt/data", Type: "tmpfs"},
		},
		{
			name: "relative destination cannot climb above /",
			in:   specs.Mount{Destination: "../../etc", Type: "tmpfs"},
			want: Mount{Destination: "/etc", Type: "tmpfs"},
		},
		{
			name: "destination is cleaned",
			in:   specs.Mount{Destination: "/a//b/../c/", Type: "tmpfs"},
			want: Mount{Destination: "/a/c", Type: "tmpfs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountFromSpec(tt.in, bundle)
			if err != nil {
				t.Fatalf("mountFromSpec: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mountFromSpec(%+v) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestMountRelativeDestinationWarns: a relative destination is accepted
// with a warning, as runc does; an absolute one gives none.
func TestMountRelativeDestinationWarns(t *testing.T) {
	var warnings []string
	old := warnf
	defer func() { warnf = old }()
	SetWarn(func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) })
	if _, err := mountFromSpec(specs.Mount{Destination: "/abs", Type: "tmpfs"}, "/b"); err != nil || len(warnings) != 0 {
		t.Fatalf("absolute destination: %v, warnings %q", err, warnings)
	}
	m, err := mountFromSpec(specs.Mount{Destination: "rel", Type: "tmpfs"}, "/b")
	if err != nil || m.Destination != "/rel" {
		t.Fatalf("relative destination: %+v, %v", m, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"rel"`) {
		t.Errorf("warnings = %q, want one naming \"rel\"", warnings)
	}
}

func TestMountFromSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		in   specs.Mount
		msg  string
	}{
		{"no destination", specs.Mount{Type: "tmpfs"}, "destination must be set"},
		{"no type, not bind", specs.Mount{Destination: "/mnt", Source: "x", Options: []string{"ro"}}, "type must be set"},
		{"rbind without source", specs.Mount{Destination: "/mnt", Options: []string{"rbind"}}, "source"},
		{"bind type without source", specs.Mount{Destination: "/mnt", Type: "bind"}, "source"},
		{"idmap", specs.Mount{Destination: "/mnt", Type: "bind", Source: "/s", Options: []string{"idmap"}}, `"idmap"`},
		{"ridmap", specs.Mount{Destination: "/mnt", Type: "bind", Source: "/s", Options: []string{"rbind", "ridmap"}}, `"ridmap"`},
		{"tmpcopyup on a bind", specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "tmpcopyup"}}, `needs a tmpfs`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountFromSpec(tt.in, "/bundle")
			if err == nil {
				t.Fatalf("mountFromSpec(%+v) = %+v, want error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// TestMountFlagPairs checks each option against its inverse: the option
// alone sets exactly its flag, the inverse after it clears it again.
func TestMountFlagPairs(t *testing.T) {
	pairs := []struct {
		set, clear string
		flag       uint64
	}{
		{"ro", "rw", unix.MS_RDONLY},
		{"nosuid", "suid", unix.MS_NOSUID},
		{"nodev", "dev", unix.MS_NODEV},
		{"noexec", "exec", unix.MS_NOEXEC},
		{"sync", "async", unix.MS_SYNCHRONOUS},
		{"noatime", "atime", unix.MS_NOATIME},
		{"nodiratime", "diratime", unix.MS_NODIRATIME},
		{"relatime", "norelatime", unix.MS_RELATIME},
		{"strictatime", "nostrictatime", unix.MS_STRICTATIME},
		{"mand", "nomand", unix.MS_MANDLOCK},
		{"iversion", "noiversion", unix.MS_I_VERSION},
		{"lazytime", "nolazytime", unix.MS_LAZYTIME},
		{"acl", "noacl", unix.MS_POSIXACL},
		{"silent", "loud", unix.MS_SILENT},
		{"nosymfollow", "symfollow", unix.MS_NOSYMFOLLOW},
		{"dirsync", "", unix.MS_DIRSYNC},
		{"remount", "", unix.MS_REMOUNT},
	}
	for _, p := range pairs {
		t.Run(p.set, func(t *testing.T) {
			m, err := mountFromSpec(specs.Mount{Destination: "/m", Type: "tmpfs", Options: []string{p.set}}, "/b")
			if err != nil || m.Flags != p.flag || m.Data != "" {
				t.Errorf("%s: flags %#x data %q err %v, want %#x", p.set, m.Flags, m.Data, err, p.flag)
			}
			if p.clear == "" {
				return
			}
			m, err = mountFromSpec(specs.Mount{Destination: "/m", Type: "tmpfs", Options: []string{"nodev", p.set, p.clear}}, "/b")
			want := uint64(unix.MS_NODEV)
			if p.flag == unix.MS_NODEV {
				want = 0
			}
			if err != nil || m.Flags != want || m.Data != "" {
				t.Errorf("%s,%s: flags %#x data %q err %v, want %#x", p.set, p.clear, m.Flags, m.Data, err, want)
			}
		})
	}
}

func TestMountRecursivePairs(t *testing.T) {
	pairs := []struct {
		set, clear string
		attr       uint64
	}{
		{"rro", "rrw", unix.MOUNT_ATTR_RDONLY},
		{"rnosuid", "rsuid", unix.MOUNT_ATTR_NOSUID},
		{"rnodev", "rdev", unix.MOUNT_ATTR_NODEV},
		{"rnoexec", "rexec", unix.MOUNT_ATTR_NOEXEC},
		{"rnodiratime", "rdiratime", unix.MOUNT_ATTR_NODIRATIME},
		{"rrelatime", "rnorelatime", unix.MOUNT_ATTR_RELATIME},
		{"rnoatime", "ratime", unix.MOUNT_ATTR_NOATIME},
		{"rstrictatime", "rnostrictatime", unix.MOUNT_ATTR_STRICTATIME},
		{"rnosymfollow", "rsymfollow", unix.MOUNT_ATTR_NOSYMFOLLOW},
	}
	for _, p := range pairs {
		t.Run(p.set, func(t *testing.T) {
			m, err := mountFromSpec(specs.Mount{Destination: "/m", Type: "bind", Source: "/s", Options: []string{p.set}}, "/b")
			if err != nil || m.RecAttrSet != p.attr || m.RecAttrClr != 0 || m.Flags != unix.MS_BIND {
				t.Errorf("%s: set %#x clr %#x flags %#x err %v", p.set, m.RecAttrSet, m.RecAttrClr, m.Flags, err)
			}
			m, err = mountFromSpec(specs.Mount{Destination: "/m", Type: "bind", Source: "/s", Options: []string{p.set, p.clear}}, "/b")
			if err != nil || m.RecAttrSet != 0 || m.RecAttrClr != p.attr {
				t.Errorf("%s,%s: set %#x clr %#x err %v", p.set, p.clear, m.RecAttrSet, m.RecAttrClr, err)
			}
		})
	}
}

func TestRootfsPropagation(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"", unix.MS_SLAVE | unix.MS_REC},
		{"private", unix.MS_PRIVATE},
		{"rprivate", unix.MS_PRIVATE | unix.MS_REC},
		{"shared", unix.MS_SHARED},
		{"rshared", unix.MS_SHARED | unix.MS_REC},
		{"slave", unix.MS_SLAVE},
		{"rslave", unix.MS_SLAVE | unix.MS_REC},
		{"unbindable", unix.MS_UNBINDABLE},
		{"runbindable", unix.MS_UNBINDABLE | unix.MS_REC},
	}
	for _, tt := range tests {
		got, err := rootfsPropagation(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("rootfsPropagation(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"bogus", "RSLAVE", "ro", " rslave"} {
		got, err := rootfsPropagation(bad)
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != "linux.rootfsPropagation" {
			t.Errorf("rootfsPropagation(%q) = %#x, %v; want a linux.rootfsPropagation error", bad, got, err)
			continue
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("error %q does not name %q", err, bad)
		}
	}
}

// TestMountTmpcopyup: podman's tmpcopyup on a tmpfs is accepted and marked.
func TestMountTmpcopyup(t *testing.T) {
	m, err := mountFromSpec(specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "rprivate", "nosuid", "nodev", "tmpcopyup"}}, "/b")
	if err != nil || !m.CopyUp || m.Data != "" {
		t.Fatalf("mountFromSpec(tmpcopyup) = %+v, %v; want CopyUp and no data", m, err)
	}
}
