package integration

import (
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestTimeNamespaceOffsets: a new time namespace with offsets. The offsets
// must be written before any process is in the namespace, through the
// thread-group leader's /proc/PID/timens_offsets; uptime inside then shows
// the boottime offset.
func TestTimeNamespaceOffsets(t *testing.T) {
	if isRunc() {
		t.Skip("runc 1.1.5 has no time namespace support")
	}
	t.Parallel()
	const day = 86400
	out := runInCtr(t, "cat /proc/uptime; cat /proc/self/timens_offsets", func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"boottime":  {Secs: day},
			"monotonic": {Secs: 3600},
		}
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	up, err := strconv.ParseFloat(strings.Fields(lines[0])[0], 64)
	if err != nil {
		t.Fatalf("uptime line %q: %v", lines[0], err)
	}
	if up < day {
		t.Fatalf("uptime %v inside a time namespace with a one-day boottime offset", up)
	}
	if !strings.Contains(out, "monotonic") || !strings.Contains(out, "3600") {
		t.Fatalf("timens_offsets inside: %q", out)
	}
}
