package libstart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxcrun/lxcrun/libstart/cgroup"
	"github.com/lxcrun/lxcrun/libstart/seccomp"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FieldError is a translation or validation error that names the config
// field at fault, so every bad config.json gets a one-line error pointing at
// the problem ("process.user.uid: ...").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// LoadSpec reads and decodes bundle/config.json. Unknown fields are allowed
// (the spec says runtimes must ignore them).
func LoadSpec(bundle string) (*specs.Spec, error) {
	if _, err := os.Stat(bundle); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", bundle, unwrapPathError(err))
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("JSON specification file config.json not found")
		}
		return nil, fmt.Errorf("read config.json: %w", err)
	}
	return DecodeSpec(data)
}

// DecodeSpec decodes a config.json document: with the generated decoder
// when the document uses only known keys, else with encoding/json (see
// specDoc). FuzzDecodeSpec checks that both give the same Spec.
func DecodeSpec(data []byte) (*specs.Spec, error) {
	if spec, ok := decodeSpecFast(data); ok {
		return spec, nil
	}
	var spec specs.Spec
	// A decoder, not Unmarshal, so an empty file reports EOF as runc's does.
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&spec); err != nil {
		return nil, fmt.Errorf("config.json: invalid JSON: %w", err)
	}
	return &spec, nil
}

// SpecOptions are the command-line choices that shape translation.
type SpecOptions struct {
	ID            string
	Bundle        string // absolute
	NoPivot       bool
	NoNewKeyring  bool
	SystemdCgroup bool
	// Root, when set, is the runtime root whose cache of compiled seccomp
	// filters is used (see seccomp.CompileCached).
	Root string
}

// converter translates one section of the spec into conf.
type converter func(spec *specs.Spec, opts *SpecOptions, conf *Conf) error

// converters run in order; each owns one spec section.
var converters = []converter{
	convertRoot,
	convertProcess,
	convertHostname,
	convertMounts,
	convertHooks,
	convertLinux,
}

// FromSpec translates spec into a Conf and validates it. It never touches the
// host beyond checking that the rootfs exists; every error names the field.
func FromSpec(spec *specs.Spec, opts SpecOptions) (*Conf, error) {
	if spec == nil {
		return nil, errors.New("config.json: empty specification")
	}
	conf := &Conf{
		ID:           opts.ID,
		Bundle:       opts.Bundle,
		OCIVersion:   spec.Version,
		NoPivot:      opts.NoPivot,
		NoNewKeyring: opts.NoNewKeyring,
		Annotations:  spec.Annotations,
	}
	for _, conv := range converters {
		if err := conv(spec, &opts, conf); err != nil {
			return nil, err
		}
	}
	if err := Validate(conf); err != nil {
		return nil, err
	}
	return conf, nil
}

func convertRoot(spec *specs.Spec, opts *SpecOptions, conf *Conf) error {
	if spec.Version == "" {
		return fieldErr("ociVersion", "must be set")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return fieldErr("root.path", "must be set")
	}
	path := spec.Root.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(opts.Bundle, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fieldErr("root.path", "rootfs %s: %w", path, unwrapPathError(err))
	}
	st, err := os.Stat(real)
	if err != nil {
		return fieldErr("root.path", "rootfs %s: %w", path, unwrapPathError(err))
	}
	if !st.IsDir() {
		return fieldErr("root.path", "rootfs %s is not a directory", path)
	}
	conf.Rootfs = real
	conf.RootfsReadonly = spec.Root.Readonly
	return nil
}

func convertProcess(spec *specs.Spec, _ *SpecOptions, conf *Conf) error {
	if spec.Process == nil {
		return fieldErr("process", "must be set")
	}
	p, err := ProcessFromSpec(spec.Process)
	if err != nil {
		return err
	}
	conf.Process = *p
	return nil
}

// ProcessFromSpec translates an OCI process object: the container's (from
// config.json) or an exec's (from --process).
func ProcessFromSpec(sp *specs.Process) (*Process, error) {
	if len(sp.Args) == 0 || sp.Args[0] == "" {
		return nil, fieldErr("process.args", "must contain at least the executable")
	}
	if sp.Cwd == "" || !filepath.IsAbs(sp.Cwd) {
		return nil, fieldErr("process.cwd", "%q must be an absolute path", sp.Cwd)
	}
	for _, kv := range sp.Env {
		if !strings.Contains(kv, "=") || strings.HasPrefix(kv, "=") {
			return nil, fieldErr("process.env", "%q is not of the form KEY=value", kv)
		}
	}
	p := &Process{
		Terminal:        sp.Terminal,
		Args:            sp.Args,
		Env:             sp.Env,
		Cwd:             filepath.Clean(sp.Cwd),
		UID:             sp.User.UID,
		GID:             sp.User.GID,
		AdditionalGids:  sp.User.AdditionalGids,
		Umask:           sp.User.Umask,
		NoNewPrivileges: sp.NoNewPrivileges,
		OOMScoreAdj:     sp.OOMScoreAdj,
		ApparmorProfile: sp.ApparmorProfile,
		SelinuxLabel:    sp.SelinuxLabel,
	}
	if sp.User.Username != "" {
		return nil, fieldErr("process.user.username", "is Windows-only")
	}
	if sp.ConsoleSize != nil {
		if sp.ConsoleSize.Height > 0xffff || sp.ConsoleSize.Width > 0xffff {
			return nil, fieldErr("process.consoleSize", "%dx%d is too large", sp.ConsoleSize.Width, sp.ConsoleSize.Height)
		}
		p.ConsoleRows = uint16(sp.ConsoleSize.Height)
		p.ConsoleCols = uint16(sp.ConsoleSize.Width)
	}
	if sp.OOMScoreAdj != nil && (*sp.OOMScoreAdj < -1000 || *sp.OOMScoreAdj > 1000) {
		return nil, fieldErr("process.oomScoreAdj", "%d is outside [-1000, 1000]", *sp.OOMScoreAdj)
	}
	if sp.Capabilities != nil {
		caps, err := capsFromSpec(sp.Capabilities)
		if err != nil {
			return nil, err
		}
		p.Caps = caps
	}
	seen := map[int]bool{}
	for i, rl := range sp.Rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		t, ok := rlimitByName[rl.Type]
		if !ok {
			return nil, fieldErr(field+".type", "unknown rlimit %q", rl.Type)
		}
		if seen[t] {
			return nil, fieldErr(field+".type", "duplicate rlimit %q", rl.Type)
		}
		seen[t] = true
		if rl.Soft > rl.Hard {
			return nil, fieldErr(field, "soft limit %d exceeds hard limit %d for %s", rl.Soft, rl.Hard, rl.Type)
		}
		p.Rlimits = append(p.Rlimits, Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
	}
	return p, nil
}

// capByName maps "CAP_CHOWN" to its number. It covers every capability the
// capability library knows, whether or not the running kernel has it.
func capByName(name string) (capability.Cap, bool) {
	if !strings.HasPrefix(name, "CAP_") {
		return 0, false
	}
	want := strings.ToLower(strings.TrimPrefix(name, "CAP_"))
	for _, c := range capability.ListKnown() {
		if c.String() == want {
			return c, true
		}
	}
	return 0, false
}

func capsFromSpec(sc *specs.LinuxCapabilities) (*Caps, error) {
	caps := &Caps{}
	sets := []struct {
		field string
		names []string
		dst   *uint64
	}{
		{"bounding", sc.Bounding, &caps.Bounding},
		{"effective", sc.Effective, &caps.Effective},
		{"inheritable", sc.Inheritable, &caps.Inheritable},
		{"permitted", sc.Permitted, &caps.Permitted},
		{"ambient", sc.Ambient, &caps.Ambient},
	}
	for _, set := range sets {
		for _, name := range set.names {
			c, ok := capByName(name)
			if !ok {
				return nil, fieldErr("process.capabilities."+set.field, "unknown capability %q", name)
			}
			*set.dst |= 1 << uint(c)
		}
	}
	return caps, nil
}

func convertHostname(spec *specs.Spec, _ *SpecOptions, conf *Conf) error {
	conf.Hostname = spec.Hostname
	conf.Domainname = spec.Domainname
	return nil
}

func convertMounts(spec *specs.Spec, opts *SpecOptions, conf *Conf) error {
	for i, m := range spec.Mounts {
		mnt, err := mountFromSpec(m, opts.Bundle)
		if err != nil {
			return &FieldError{Field: fmt.Sprintf("mounts[%d]", i), Err: err}
		}
		conf.Mounts = append(conf.Mounts, mnt)
	}
	return nil
}

func convertHooks(spec *specs.Spec, _ *SpecOptions, conf *Conf) error {
	if spec.Hooks == nil {
		return nil
	}
	lists := []struct {
		field string
		src   []specs.Hook
		dst   *[]Hook
	}{
		//lint:ignore SA1019 prestart hooks are deprecated but the spec still requires running them
		{"hooks.prestart", spec.Hooks.Prestart, &conf.Hooks.Prestart},
		{"hooks.createRuntime", spec.Hooks.CreateRuntime, &conf.Hooks.CreateRuntime},
		{"hooks.createContainer", spec.Hooks.CreateContainer, &conf.Hooks.CreateContainer},
		{"hooks.startContainer", spec.Hooks.StartContainer, &conf.Hooks.StartContainer},
		{"hooks.poststart", spec.Hooks.Poststart, &conf.Hooks.Poststart},
		{"hooks.poststop", spec.Hooks.Poststop, &conf.Hooks.Poststop},
	}
	for _, l := range lists {
		for i, h := range l.src {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			if !filepath.IsAbs(h.Path) {
				return fieldErr(field+".path", "%q must be an absolute path", h.Path)
			}
			hook := Hook{Path: h.Path, Args: h.Args, Env: h.Env}
			if h.Timeout != nil {
				if *h.Timeout <= 0 {
					return fieldErr(field+".timeout", "must be greater than zero, got %d", *h.Timeout)
				}
				hook.Timeout = *h.Timeout
			}
			*l.dst = append(*l.dst, hook)
		}
	}
	return nil
}

func convertLinux(spec *specs.Spec, opts *SpecOptions, conf *Conf) error {
	lx := spec.Linux
	if lx == nil {
		return fieldErr("linux", "must be set on Linux")
	}
	if lx.Seccomp != nil {
		compile := seccomp.Compile
		if opts.Root != "" {
			compile = func(c *specs.LinuxSeccomp) (*seccomp.Program, error) { return seccomp.CompileCached(opts.Root, c) }
		}
		prog, err := compile(lx.Seccomp)
		if err != nil {
			return &FieldError{Field: "linux.seccomp", Err: err}
		}
		conf.Seccomp = prog
	}
	for i, ns := range lx.Namespaces {
		t := NSType(ns.Type)
		if _, ok := nsCloneFlag[t]; !ok {
			return fieldErr(fmt.Sprintf("linux.namespaces[%d].type", i), "unknown namespace type %q", ns.Type)
		}
		if conf.HasNamespace(t) {
			return fieldErr(fmt.Sprintf("linux.namespaces[%d]", i), "duplicate namespace %q", ns.Type)
		}
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fieldErr(fmt.Sprintf("linux.namespaces[%d].path", i), "%q must be an absolute path", ns.Path)
		}
		if strings.IndexFunc(ns.Path, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return fieldErr(fmt.Sprintf("linux.namespaces[%d].path", i), "%q contains a control character", ns.Path)
		}
		conf.Namespaces = append(conf.Namespaces, Namespace{Type: t, Path: ns.Path})
	}
	var err error
	if conf.UIDMappings, err = idMapsFromSpec("linux.uidMappings", lx.UIDMappings); err != nil {
		return err
	}
	if conf.GIDMappings, err = idMapsFromSpec("linux.gidMappings", lx.GIDMappings); err != nil {
		return err
	}
	for clock, off := range lx.TimeOffsets {
		if clock != "monotonic" && clock != "boottime" {
			return fieldErr("linux.timeOffsets", "unknown clock %q", clock)
		}
		conf.TimeOffsets = append(conf.TimeOffsets, TimeOffset{Clock: clock, Secs: off.Secs, Nsecs: off.Nanosecs})
	}
	for i, d := range lx.Devices {
		dev, err := deviceFromSpec(d)
		if err != nil {
			return &FieldError{Field: fmt.Sprintf("linux.devices[%d]", i), Err: err}
		}
		conf.Devices = append(conf.Devices, dev)
	}
	for i, p := range lx.MaskedPaths {
		if !filepath.IsAbs(p) {
			return fieldErr(fmt.Sprintf("linux.maskedPaths[%d]", i), "%q must be an absolute path", p)
		}
	}
	for i, p := range lx.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			return fieldErr(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%q must be an absolute path", p)
		}
	}
	conf.MaskedPaths = lx.MaskedPaths
	conf.ReadonlyPaths = lx.ReadonlyPaths
	if len(lx.Sysctl) > 0 {
		// runc accepts "net/ipv4/ip_forward" for "net.ipv4.ip_forward".
		conf.Sysctl = make(map[string]string, len(lx.Sysctl))
		for k, v := range lx.Sysctl {
			if strings.Contains(k, "..") {
				return fieldErr(fmt.Sprintf("linux.sysctl[%q]", k), "invalid sysctl name")
			}
			conf.Sysctl[strings.ReplaceAll(k, "/", ".")] = v
		}
	}
	conf.MountLabel = lx.MountLabel
	if conf.RootfsPropagation, err = rootfsPropagation(lx.RootfsPropagation); err != nil {
		return err
	}
	if conf.Cgroup, err = cgroupFromSpec(lx.CgroupsPath, opts); err != nil {
		return err
	}
	if conf.Cgroup.Limits, err = cgroup.LimitsFromSpec(lx.Resources); err != nil {
		return &FieldError{Field: "linux.resources", Err: err}
	}
	return nil
}

func idMapsFromSpec(field string, maps []specs.LinuxIDMapping) ([]IDMap, error) {
	var out []IDMap
	for i, m := range maps {
		if m.Size == 0 {
			return nil, fieldErr(fmt.Sprintf("%s[%d].size", field, i), "must be greater than zero")
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "range overflows 32-bit ids")
		}
		out = append(out, IDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out, nil
}

func deviceFromSpec(d specs.LinuxDevice) (Device, error) {
	if !filepath.IsAbs(d.Path) {
		return Device{}, fmt.Errorf("path %q must be absolute", d.Path)
	}
	dev := Device{Path: filepath.Clean(d.Path), Major: d.Major, Minor: d.Minor, Mode: 0o666}
	switch d.Type {
	case "c", "u":
		dev.Type = 'c'
	case "b":
		dev.Type = 'b'
	case "p":
		dev.Type = 'p'
	default:
		return Device{}, fmt.Errorf("type %q must be one of c, b, u, p", d.Type)
	}
	if d.FileMode != nil {
		dev.Mode = uint32(*d.FileMode) & 0o7777
	}
	if d.UID != nil {
		dev.UID = *d.UID
	}
	if d.GID != nil {
		dev.GID = *d.GID
	}
	return dev, nil
}

func cgroupFromSpec(path string, opts *SpecOptions) (CgroupConf, error) {
	cg := CgroupConf{Systemd: opts.SystemdCgroup}
	if opts.SystemdCgroup {
		if path != "" && len(strings.Split(path, ":")) != 3 {
			return cg, fieldErr("linux.cgroupsPath", "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got %q instead", path)
		}
		cg.Path = path
		return cg, nil
	}
	if path == "" {
		cg.Path = "/" + opts.ID
		return cg, nil
	}
	clean := filepath.Clean(path)
	if strings.HasPrefix(path, "/") {
		clean = filepath.Clean("/" + path)
	}
	for _, part := range strings.Split(clean, "/") {
		if part == ".." {
			return cg, fieldErr("linux.cgroupsPath", "%q must not contain '..'", path)
		}
	}
	cg.Path = clean
	return cg, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
