package libstart

import (
	"fmt"
	"path/filepath"
	"strings"
)

// check is one cross-field validation of a translated Conf.
type check func(c *Conf) error

// checks run after translation, in order; each is small and names the field
// it rejects. They mirror runc's validator where runc has one, so that a
// config runc refuses is refused here with the same meaning.
var checks = []check{
	checkUserNamespace,
	checkHostname,
	checkSysctl,
	checkMaskedReadonly,
	checkTimeNamespace,
	checkMounts,
}

// Validate runs every check on c.
func Validate(c *Conf) error {
	for _, chk := range checks {
		if err := chk(c); err != nil {
			return err
		}
	}
	return nil
}

func checkUserNamespace(c *Conf) error {
	newUser := c.HasNamespace(NSUser) && c.NamespacePath(NSUser) == ""
	hasMaps := len(c.UIDMappings) > 0 || len(c.GIDMappings) > 0
	switch {
	case newUser && len(c.UIDMappings) == 0:
		return fieldErr("linux.uidMappings", "a new user namespace needs uid mappings")
	case newUser && len(c.GIDMappings) == 0:
		return fieldErr("linux.gidMappings", "a new user namespace needs gid mappings")
	case !c.HasNamespace(NSUser) && hasMaps:
		return fieldErr("linux.uidMappings", "user id mappings are given but there is no user namespace")
	case c.NamespacePath(NSUser) != "" && hasMaps:
		return fieldErr("linux.uidMappings", "mappings cannot be set when joining an existing user namespace")
	}
	return nil
}

func checkHostname(c *Conf) error {
	if c.Hostname != "" && !c.HasNamespace(NSUTS) {
		return fieldErr("hostname", "unable to set hostname without a private UTS namespace")
	}
	if c.Domainname != "" && !c.HasNamespace(NSUTS) {
		return fieldErr("domainname", "unable to set domainname without a private UTS namespace")
	}
	return nil
}

// checkSysctl allows only namespaced sysctls, and only when the config has
// the namespace that isolates them (as runc's validator does).
func checkSysctl(c *Conf) error {
	for key := range c.Sysctl {
		field := fmt.Sprintf("linux.sysctl[%q]", key)
		if strings.Contains(key, "..") || key == "" || strings.ContainsAny(key, "\x00\n") {
			return fieldErr(field, "invalid sysctl name")
		}
		switch {
		case ipcSysctl(key):
			if !c.HasNamespace(NSIPC) {
				return fieldErr(field, "sysctl %q is not allowed in the host's ipc namespace", key)
			}
		case strings.HasPrefix(key, "net."):
			if !c.HasNamespace(NSNet) {
				return fieldErr(field, "sysctl %q is not allowed in the host network namespace", key)
			}
		case key == "kernel.hostname" || key == "kernel.domainname":
			if !c.HasNamespace(NSUTS) {
				return fieldErr(field, "sysctl %q is not allowed without a private UTS namespace", key)
			}
		default:
			return fieldErr(field, "sysctl %q is not in a separate kernel namespace", key)
		}
	}
	return nil
}

func ipcSysctl(key string) bool {
	switch key {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(key, "fs.mqueue.")
}

func checkMaskedReadonly(c *Conf) error {
	for i, p := range c.MaskedPaths {
		if filepath.Clean(p) == "/" {
			return fieldErr(fmt.Sprintf("linux.maskedPaths[%d]", i), "cannot mask /")
		}
	}
	return nil
}

func checkTimeNamespace(c *Conf) error {
	if len(c.TimeOffsets) > 0 && !c.HasNamespace(NSTime) {
		return fieldErr("linux.timeOffsets", "time offsets need a time namespace")
	}
	if len(c.TimeOffsets) > 0 && c.NamespacePath(NSTime) != "" {
		return fieldErr("linux.timeOffsets", "both namespace path and time offsets specified -- you may only provide one")
	}
	return nil
}

func checkMounts(c *Conf) error {
	for i, m := range c.Mounts {
		if m.Destination == "/" {
			return fieldErr(fmt.Sprintf("mounts[%d].destination", i), "cannot mount over /")
		}
	}
	return nil
}
