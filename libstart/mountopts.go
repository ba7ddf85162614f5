package libstart

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountFlag is one mount(8)-style option: set or clear a MS_* flag.
type mountFlag struct {
	clear bool
	flag  uint64
}

var mountFlags = map[string]mountFlag{
	"acl":           {false, unix.MS_POSIXACL},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noacl":         {true, unix.MS_POSIXACL},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

var propagationFlags = map[string]uint64{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recAttr is one of the OCI recursive options ("rro", "rnosuid", ...),
// applied with mount_setattr(2) and AT_RECURSIVE (kernel 5.12+).
type recAttr struct {
	clear bool
	attr  uint64
}

var recursiveAttrs = map[string]recAttr{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {true, unix.MOUNT_ATTR_RELATIME},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME},
	"ratime":         {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {true, unix.MOUNT_ATTR_STRICTATIME},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// mountFromSpec splits one OCI mount's options into flags, propagation
// changes, recursive attributes and filesystem data.
func mountFromSpec(m specs.Mount, bundle string) (Mount, error) {
	if m.Destination == "" {
		return Mount{}, errors.New("destination must be set")
	}
	dest := m.Destination
	if !filepath.IsAbs(dest) {
		// runc accepts these as relative to / (with a deprecation
		// warning); so does lxcrun.
		warnf("mount destination %q is not absolute: taken as /%s", dest, dest)
		dest = "/" + dest
	}
	mnt := Mount{
		Source:      m.Source,
		Destination: filepath.Clean(dest),
		Type:        m.Type,
	}
	var data []string
	for _, opt := range m.Options {
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				mnt.Flags &^= f.flag
			} else {
				mnt.Flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			mnt.PropFlags = append(mnt.PropFlags, p)
			continue
		}
		if a, ok := recursiveAttrs[opt]; ok {
			if a.clear {
				mnt.RecAttrClr |= a.attr
				mnt.RecAttrSet &^= a.attr
			} else {
				mnt.RecAttrSet |= a.attr
				mnt.RecAttrClr &^= a.attr
			}
			continue
		}
		switch opt {
		case "idmap", "ridmap":
			return Mount{}, fmt.Errorf("option %q: id-mapped mounts are not supported", opt)
		case "tmpcopyup":
			// runc's extension: seed the tmpfs with the image's files.
			if m.Type != "tmpfs" {
				return Mount{}, fmt.Errorf("option %q needs a tmpfs mount", opt)
			}
			mnt.CopyUp = true
			continue
		}
		data = append(data, opt)
	}
	mnt.Data = strings.Join(data, ",")
	switch {
	case mnt.Flags&unix.MS_BIND != 0 || m.Type == "bind":
		mnt.Kind = MountBind
		mnt.Flags |= unix.MS_BIND
		if m.Source == "" {
			return Mount{}, errors.New("bind mount needs a source")
		}
		if !filepath.IsAbs(m.Source) {
			mnt.Source = filepath.Join(bundle, m.Source)
		}
	case m.Type == "cgroup" || m.Type == "cgroup2":
		mnt.Kind = MountCgroup
	case m.Type == "":
		return Mount{}, errors.New("type must be set for a mount that is not a bind mount")
	}
	return mnt, nil
}

// rootfsPropagation resolves linux.rootfsPropagation; runc's default is a
// recursive slave so host mounts propagate in but nothing leaks out.
func rootfsPropagation(s string) (uint64, error) {
	if s == "" {
		return unix.MS_SLAVE | unix.MS_REC, nil
	}
	f, ok := propagationFlags[s]
	if !ok {
		return 0, fieldErr("linux.rootfsPropagation", "unknown propagation %q", s)
	}
	return f, nil
}

// rlimitByName maps the OCI rlimit names to resources.
var rlimitByName = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// nsCloneFlag maps each namespace kind to its CLONE_NEW* flag.
var nsCloneFlag = map[NSType]uintptr{
	NSPid:    unix.CLONE_NEWPID,
	NSNet:    unix.CLONE_NEWNET,
	NSMount:  unix.CLONE_NEWNS,
	NSIPC:    unix.CLONE_NEWIPC,
	NSUTS:    unix.CLONE_NEWUTS,
	NSUser:   unix.CLONE_NEWUSER,
	NSCgroup: unix.CLONE_NEWCGROUP,
	NSTime:   unix.CLONE_NEWTIME,
}

// mount is unix.Mount with the flags as Conf carries them (uint64, which
// the JSON codec can encode; uintptr it cannot).
func mount(source, target, fstype string, flags uint64, data string) error {
	return unix.Mount(source, target, fstype, uintptr(flags), data)
}
