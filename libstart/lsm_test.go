package libstart

import "testing"

func TestLSMLabels(t *testing.T) {
	tests := []struct {
		name     string
		p        Process
		host     lsmHost
		aa, se   string
		nIgnored int
	}{
		{"nothing asked", Process{}, lsmHost{AppArmor: true, SELinux: true}, "", "", 0},
		{"apparmor on apparmor host", Process{ApparmorProfile: "docker-default"}, lsmHost{AppArmor: true}, "docker-default", "", 0},
		{"apparmor without apparmor", Process{ApparmorProfile: "docker-default"}, lsmHost{SELinux: true}, "", "", 1},
		{"selinux on selinux host", Process{SelinuxLabel: "system_u:system_r:container_t:s0"}, lsmHost{SELinux: true}, "", "system_u:system_r:container_t:s0", 0},
		{"selinux without selinux", Process{SelinuxLabel: "system_u:system_r:container_t:s0"}, lsmHost{AppArmor: true}, "", "", 1},
		{"both, neither host", Process{ApparmorProfile: "p", SelinuxLabel: "l"}, lsmHost{}, "", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aa, se, ignored := lsmLabels(&tt.p, tt.host)
			if aa != tt.aa || se != tt.se || len(ignored) != tt.nIgnored {
				t.Errorf("lsmLabels = %q, %q, %v; want %q, %q and %d ignored", aa, se, ignored, tt.aa, tt.se, tt.nIgnored)
			}
		})
	}
}
