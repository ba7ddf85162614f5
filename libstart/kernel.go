package libstart

import (
	"os"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
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

// writeSysctls writes each sysctl through a private procfs handle (a procfs
// instance of lxcrun's own, checked by pathrs-lite to be procfs and not
// overmounted), so no mount the config or image put over /proc/sys can
// redirect the write (CVE-2025-52881).
func writeSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return stageErr("sysctl", "open private procfs", err)
	}
	defer proc.Close()
	for key, val := range sysctl {
		sub := "sys/" + strings.ReplaceAll(key, ".", "/")
		if err := writeProcFile(proc, sub, val); err != nil {
			return stageErr("sysctl", "write "+key, err)
		}
	}
	return nil
}

// writeProcFile opens /proc/<sub> from the private handle and writes val.
func writeProcFile(proc *procfs.Handle, sub, val string) error {
	h, err := proc.OpenRoot(sub)
	if err != nil {
		return err
	}
	defer h.Close()
	return writeHandle(h, val)
}

// writeHandle writes val through an O_PATH handle from the private procfs,
// reopened for writing (pathrs.Reopen keeps it the same verified file).
func writeHandle(h *os.File, val string) error {
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	_, err = f.WriteString(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
