package libstart

import (
	"sort"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features is the OCI features document: only what this build implements.
func Features() *features.Features {
	t, f := true, false
	var mountOpts []string
	for k := range mountFlags {
		mountOpts = append(mountOpts, k)
	}
	for k := range propagationFlags {
		mountOpts = append(mountOpts, k)
	}
	for k := range recursiveAttrs {
		mountOpts = append(mountOpts, k)
	}
	sort.Strings(mountOpts)
	var caps []string
	for _, c := range capability.ListKnown() {
		caps = append(caps, "CAP_"+strings.ToUpper(c.String()))
	}
	var ns []string
	for k := range nsCloneFlag {
		ns = append(ns, string(k))
	}
	sort.Strings(ns)
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  mountOpts,
		Linux: &features.Linux{
			Namespaces:   ns,
			Capabilities: caps,
			Cgroup:       &features.Cgroup{V1: &t, V2: &t, Systemd: &t, SystemdUser: &f},
			Seccomp:      &features.Seccomp{Enabled: &f},
			Apparmor:     &features.Apparmor{Enabled: &f},
			Selinux:      &features.Selinux{Enabled: &t},
		},
	}
}
