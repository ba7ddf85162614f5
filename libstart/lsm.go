package libstart

import (
	"fmt"
	"os"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/opencontainers/selinux/go-selinux"
)

// lsmHost says which Linux security modules the host has enabled.
type lsmHost struct {
	AppArmor bool
	SELinux  bool
}

// detectLSM reads it once; only called when a label was asked for.
func detectLSM() lsmHost {
	aa, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return lsmHost{
		AppArmor: err == nil && strings.HasPrefix(string(aa), "Y"),
		SELinux:  selinux.GetEnabled(),
	}
}

// lsmLabels decides which of the process's labels are applied on host h:
// a label for a module the host does not have is ignored (runc and crun do
// the same: an AppArmor profile is meaningless without AppArmor), and
// reported in ignored for the debug log.
func lsmLabels(p *Process, h lsmHost) (apparmor, label string, ignored []string) {
	if p.ApparmorProfile != "" {
		if h.AppArmor {
			apparmor = p.ApparmorProfile
		} else {
			ignored = append(ignored, fmt.Sprintf("apparmor profile %q (AppArmor is not enabled)", p.ApparmorProfile))
		}
	}
	if p.SelinuxLabel != "" {
		if h.SELinux {
			label = p.SelinuxLabel
		} else {
			ignored = append(ignored, fmt.Sprintf("selinux label %q (SELinux is not enabled)", p.SelinuxLabel))
		}
	}
	return apparmor, label, ignored
}

// applyLSM sets the labels the next execve takes on: AppArmor's exec
// attribute written through a private procfs handle (CVE-2019-16884: a
// container-controlled /proc must not swallow the write), and the SELinux
// exec label.
func applyLSM(p *Process) error {
	if p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return nil
	}
	apparmor, label, _ := lsmLabels(p, detectLSM())
	if apparmor != "" {
		if err := writeThreadAttr("attr/apparmor/exec", "exec "+apparmor); err != nil {
			if err := writeThreadAttr("attr/exec", "exec "+apparmor); err != nil {
				return stageErr("lsm", "set apparmor profile "+apparmor, err)
			}
		}
	}
	if label != "" {
		if err := selinux.SetExecLabel(label); err != nil {
			return stageErr("lsm", "set selinux label "+label, err)
		}
	}
	return nil
}

func writeThreadAttr(sub, val string) error {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return err
	}
	defer proc.Close()
	h, closer, err := proc.OpenThreadSelf(sub)
	if err != nil {
		return err
	}
	defer closer()
	defer h.Close()
	return writeHandle(h, val)
}
