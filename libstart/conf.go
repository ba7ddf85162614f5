package libstart

import (
	"github.com/lxcrun/lxcrun/libstart/cgroup"
	"github.com/lxcrun/lxcrun/libstart/seccomp"
)

// Conf is lxcrun's lxc_conf: config.json translated once, by FromSpec, into the
// form the rest of the runtime consumes. Nothing after translation reads the
// specs-go types, so a check or a default lives in exactly one place, and the
// init process receives Conf as one compact message over the sync socket.
//
//easyjson:json
type Conf struct {
	// ID is the container id given on the command line.
	ID string `json:"id"`
	// Bundle is the absolute bundle directory.
	Bundle string `json:"bundle"`
	// OCIVersion is the config's ociVersion, echoed in the state JSON.
	OCIVersion string `json:"ociVersion"`
	// Rootfs is the absolute host path of the root filesystem.
	Rootfs string `json:"rootfs"`
	// RootfsReadonly remounts "/" read-only after all mounts are made.
	RootfsReadonly bool `json:"rootfsReadonly,omitempty"`
	// RootfsPropagation is the mount propagation flag applied recursively
	// to "/" inside the container's mount namespace (MS_SLAVE by default).
	RootfsPropagation uint64 `json:"rootfsPropagation,omitempty"`
	// NoPivot uses MS_MOVE+chroot instead of pivot_root (create --no-pivot).
	NoPivot bool `json:"noPivot,omitempty"`
	// NoNewKeyring keeps the caller's session keyring (create --no-new-keyring).
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`

	// Hostname and Domainname are set in the container's UTS namespace.
	Hostname   string `json:"hostname,omitempty"`
	Domainname string `json:"domainname,omitempty"`

	// Namespaces lists every namespace of the config, in config order.
	Namespaces []Namespace `json:"namespaces,omitempty"`
	// UIDMappings and GIDMappings are the user namespace id maps.
	UIDMappings []IDMap `json:"uidMappings,omitempty"`
	GIDMappings []IDMap `json:"gidMappings,omitempty"`
	// TimeOffsets are written to timens_offsets before the init enters a
	// new time namespace.
	TimeOffsets []TimeOffset `json:"timeOffsets,omitempty"`

	// Mounts are made in config order.
	Mounts []Mount `json:"mounts,omitempty"`
	// Devices are created in /dev after the default devices.
	Devices []Device `json:"devices,omitempty"`
	// MaskedPaths are covered after pivot_root: files by /dev/null,
	// directories by a read-only tmpfs.
	MaskedPaths []string `json:"maskedPaths,omitempty"`
	// ReadonlyPaths are bind-remounted read-only after pivot_root.
	ReadonlyPaths []string `json:"readonlyPaths,omitempty"`
	// Sysctl entries are written below /proc/sys inside the container.
	Sysctl map[string]string `json:"sysctl,omitempty"`
	// MountLabel is the SELinux label of the container's mounts.
	MountLabel string `json:"mountLabel,omitempty"`
	// Seccomp is the compiled linux.seccomp filter, nil without one.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`

	// Cgroup says where the container's processes are placed.
	Cgroup CgroupConf `json:"cgroup"`

	// Process is the container's init process.
	Process Process `json:"process"`
	// Hooks are the OCI lifecycle hooks.
	Hooks Hooks `json:"hooks,omitempty"`
	// Annotations are echoed in the state JSON.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CgroupConf says where the container's processes go and which limits the
// cgroup gets.
type CgroupConf struct {
	// Path is the cgroup path relative to each hierarchy's root.
	Path string `json:"path"`
	// Systemd selects the systemd driver (--systemd-cgroup).
	Systemd bool `json:"systemd,omitempty"`
	// Limits are linux.resources converted for the cgroup library.
	Limits *cgroup.Limits `json:"limits,omitempty"`
}

// NSType is a namespace kind as named by the OCI spec ("pid", "network", ...).
type NSType string

// The namespace kinds lxcrun knows, with the OCI spelling.
const (
	NSPid    NSType = "pid"
	NSNet    NSType = "network"
	NSMount  NSType = "mount"
	NSIPC    NSType = "ipc"
	NSUTS    NSType = "uts"
	NSUser   NSType = "user"
	NSCgroup NSType = "cgroup"
	NSTime   NSType = "time"
)

// Namespace is one entry of linux.namespaces: a new namespace when Path is
// empty, the namespace at Path otherwise.
type Namespace struct {
	Type NSType `json:"type"`
	Path string `json:"path,omitempty"`
}

// IDMap is one line of a uid_map or gid_map file.
type IDMap struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

// TimeOffset is one line of timens_offsets.
type TimeOffset struct {
	Clock string `json:"clock"` // "monotonic" or "boottime"
	Secs  int64  `json:"secs"`
	Nsecs uint32 `json:"nsecs"`
}

// MountKind says how a Mount is made, decided once at translation.
type MountKind uint8

// The mount kinds: a bind of a host path, a cgroup filesystem (which lxcrun
// builds from the host's hierarchies), or any other filesystem type.
const (
	MountFS MountKind = iota
	MountBind
	MountCgroup
)

// Mount is one OCI mount, with its options already split into flags.
type Mount struct {
	Kind        MountKind `json:"kind"`
	Source      string    `json:"source,omitempty"`
	Destination string    `json:"destination"`
	Type        string    `json:"type,omitempty"`
	// Flags are the mount(2) flags of the first mount call.
	Flags uint64 `json:"flags,omitempty"`
	// PropFlags are propagation changes applied after the mount, in order.
	PropFlags []uint64 `json:"propFlags,omitempty"`
	// Data is the filesystem-specific option string.
	Data string `json:"data,omitempty"`
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* bits applied with
	// mount_setattr(AT_RECURSIVE) for the OCI "r*" options (rro, rnosuid...).
	RecAttrSet uint64 `json:"recAttrSet,omitempty"`
	RecAttrClr uint64 `json:"recAttrClr,omitempty"`
	// CopyUp seeds a tmpfs with the image's content at the destination
	// (the "tmpcopyup" option).
	CopyUp bool `json:"copyUp,omitempty"`
}

// Device is a device node to create in the container's /dev.
type Device struct {
	Path  string `json:"path"`
	Type  byte   `json:"type"` // 'c', 'b' or 'p'
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Mode  uint32 `json:"mode"` // permission bits
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
}

// Rlimit is one process rlimit, with the resource already resolved.
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// Caps holds the five capability sets as bit masks (bit n = capability n).
type Caps struct {
	Bounding    uint64 `json:"bounding"`
	Effective   uint64 `json:"effective"`
	Inheritable uint64 `json:"inheritable"`
	Permitted   uint64 `json:"permitted"`
	Ambient     uint64 `json:"ambient"`
}

// Process is everything the final-setup path needs to start a process,
// shared by the container init and exec.
//
//easyjson:json
type Process struct {
	Terminal    bool     `json:"terminal,omitempty"`
	ConsoleRows uint16   `json:"consoleRows,omitempty"`
	ConsoleCols uint16   `json:"consoleCols,omitempty"`
	Args        []string `json:"args"`
	Env         []string `json:"env,omitempty"`
	Cwd         string   `json:"cwd"`

	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
	// Umask is nil when the config does not set one (0022 is then used).
	Umask *uint32 `json:"umask,omitempty"`

	// Caps is nil when the config has no capabilities object: the process
	// then keeps no capability at all, as with an empty object.
	Caps            *Caps    `json:"caps,omitempty"`
	Rlimits         []Rlimit `json:"rlimits,omitempty"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	OOMScoreAdj     *int     `json:"oomScoreAdj,omitempty"`
	ApparmorProfile string   `json:"apparmorProfile,omitempty"`
	SelinuxLabel    string   `json:"selinuxLabel,omitempty"`
}

// Hook is one OCI hook: a host executable with args, env and an optional
// timeout in seconds.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Timeout int      `json:"timeout,omitempty"`
}

// Hooks are the six OCI hook lists.
type Hooks struct {
	Prestart        []Hook `json:"prestart,omitempty"`
	CreateRuntime   []Hook `json:"createRuntime,omitempty"`
	CreateContainer []Hook `json:"createContainer,omitempty"`
	StartContainer  []Hook `json:"startContainer,omitempty"`
	Poststart       []Hook `json:"poststart,omitempty"`
	Poststop        []Hook `json:"poststop,omitempty"`
}

// HasNamespace reports whether the config asks for a namespace of type t
// (new or joined).
func (c *Conf) HasNamespace(t NSType) bool {
	_, ok := c.namespace(t)
	return ok
}

// NamespacePath returns the path of a joined namespace of type t, or "".
func (c *Conf) NamespacePath(t NSType) string {
	ns, _ := c.namespace(t)
	return ns.Path
}

func (c *Conf) namespace(t NSType) (Namespace, bool) {
	for _, ns := range c.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return Namespace{}, false
}
