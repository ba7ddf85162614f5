package libstart

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// setupUTS sets the hostname and domainname in the container's UTS
// namespace (validation made sure there is one when they are set).
func setupUTS(c *Conf) error {
	if c.Hostname != "" {
		if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
			return stageErr("uts", "sethostname", err)
		}
	}
	if c.Domainname != "" {
		if err := unix.Setdomainname([]byte(c.Domainname)); err != nil {
			return stageErr("uts", "setdomainname", err)
		}
	}
	return nil
}

// writeSysctls writes each sysctl below the container's /proc/sys (after
// pivot_root, so it is the container's procfs).
func writeSysctls(sysctl map[string]string) error {
	for key, val := range sysctl {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return stageErr("sysctl", "open "+path, err)
		}
		_, err = f.WriteString(val)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return stageErr("sysctl", "write "+key, err)
		}
	}
	return nil
}
