package libstart

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Event is one line of `events`, in runc's schema.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats is runc's stats event payload.
type Stats struct {
	CPU               CPU                `json:"cpu"`
	Memory            Memory             `json:"memory"`
	Pids              Pids               `json:"pids"`
	Blkio             Blkio              `json:"blkio"`
	Hugetlb           map[string]Hugetlb `json:"hugetlb"`
	IntelRdt          struct{}           `json:"intel_rdt"`
	NetworkInterfaces []struct{}         `json:"network_interfaces"`
}

// CPU is the cpu part of Stats (nanoseconds).
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
}

// CPUUsage is cumulative CPU time.
type CPUUsage struct {
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
	Total        uint64   `json:"total,omitempty"`
	Percpu       []uint64 `json:"percpu,omitempty"`
	PercpuKernel []uint64 `json:"percpu_kernel,omitempty"`
	PercpuUser   []uint64 `json:"percpu_user,omitempty"`
}

// Throttling is CFS throttling data.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// MemoryEntry is one memory counter set.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Memory is the memory part of Stats.
type Memory struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitempty"`
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// Pids is the pids part of Stats.
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioEntry is one block IO counter.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// Blkio is the block IO part of Stats.
type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	IoQueuedRecursive       []BlkioEntry `json:"ioQueueRecursive,omitempty"`
	IoServiceTimeRecursive  []BlkioEntry `json:"ioServiceTimeRecursive,omitempty"`
	IoWaitTimeRecursive     []BlkioEntry `json:"ioWaitTimeRecursive,omitempty"`
	IoMergedRecursive       []BlkioEntry `json:"ioMergedRecursive,omitempty"`
	IoTimeRecursive         []BlkioEntry `json:"ioTimeRecursive,omitempty"`
	SectorsRecursive        []BlkioEntry `json:"sectorsRecursive,omitempty"`
}

// Hugetlb is one page size's usage.
type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// ContainerStats reads the cgroup statistics of a container.
func ContainerStats(root, id string) (*Stats, error) {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.stats()
}

func (c *Container) stats() (*Stats, error) {
	if c.Status() == StatusStopped {
		return nil, ErrNotRunning
	}
	m, err := c.cgroupManager()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("container has no cgroup")
	}
	st, err := m.Stats()
	if err != nil {
		return nil, err
	}
	return convertStats(st), nil
}

func convertStats(s *cgroups.Stats) *Stats {
	cu := s.CpuStats.CpuUsage
	out := &Stats{
		CPU: CPU{
			Usage: CPUUsage{Kernel: cu.UsageInKernelmode, User: cu.UsageInUsermode, Total: cu.TotalUsage,
				Percpu: cu.PercpuUsage, PercpuKernel: cu.PercpuUsageInKernelmode, PercpuUser: cu.PercpuUsageInUsermode},
			Throttling: Throttling{Periods: s.CpuStats.ThrottlingData.Periods,
				ThrottledPeriods: s.CpuStats.ThrottlingData.ThrottledPeriods, ThrottledTime: s.CpuStats.ThrottlingData.ThrottledTime},
		},
		Memory: Memory{
			Cache: s.MemoryStats.Cache, Usage: memEntry(s.MemoryStats.Usage), Swap: memEntry(s.MemoryStats.SwapUsage),
			Kernel: memEntry(s.MemoryStats.KernelUsage), KernelTCP: memEntry(s.MemoryStats.KernelTCPUsage), Raw: s.MemoryStats.Stats,
		},
		Pids:    Pids{Current: s.PidsStats.Current, Limit: s.PidsStats.Limit},
		Hugetlb: map[string]Hugetlb{},
	}
	b := s.BlkioStats
	out.Blkio = Blkio{
		IoServiceBytesRecursive: blkio(b.IoServiceBytesRecursive), IoServicedRecursive: blkio(b.IoServicedRecursive),
		IoQueuedRecursive: blkio(b.IoQueuedRecursive), IoServiceTimeRecursive: blkio(b.IoServiceTimeRecursive),
		IoWaitTimeRecursive: blkio(b.IoWaitTimeRecursive), IoMergedRecursive: blkio(b.IoMergedRecursive),
		IoTimeRecursive: blkio(b.IoTimeRecursive), SectorsRecursive: blkio(b.SectorsRecursive),
	}
	for k, v := range s.HugetlbStats {
		out.Hugetlb[k] = Hugetlb{Usage: v.Usage, Max: v.MaxUsage, Failcnt: v.Failcnt}
	}
	return out
}

func memEntry(d cgroups.MemoryData) MemoryEntry {
	return MemoryEntry{Limit: d.Limit, Usage: d.Usage, Max: d.MaxUsage, Failcnt: d.Failcnt}
}

func blkio(in []cgroups.BlkioStatEntry) []BlkioEntry {
	out := make([]BlkioEntry, 0, len(in))
	for _, e := range in {
		out = append(out, BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
	}
	return out
}

// StreamEvents is `events` without --stats: a stats event every interval
// and an "oom" event whenever the memory cgroup reports one, until the
// container's init exits (seen through its pidfd, not by polling).
func StreamEvents(root, id string, interval time.Duration, w io.Writer) error {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return err
	}
	defer c.Close()
	pidfd, err := c.openInitPidfd()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	exited := make(chan struct{})
	go func() {
		_ = waitPidfd(pidfd, 100*365*24*time.Hour)
		close(exited)
	}()
	oom := c.oomEvents()
	enc := json.NewEncoder(w)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return nil
		case <-oom:
			if err := enc.Encode(Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		case <-tick.C:
			st, err := c.stats()
			if err != nil {
				if errors.Is(err, ErrNotRunning) {
					return nil
				}
				return err
			}
			if err := enc.Encode(Event{Type: "stats", ID: id, Data: st}); err != nil {
				return err
			}
		}
	}
}

// oomEvents registers an eventfd on the v1 memory cgroup's memory.oom_control
// (cgroup.event_control) and delivers one value per OOM. On cgroup v2, or
// without a memory cgroup, it never fires.
func (c *Container) oomEvents() <-chan struct{} {
	ch := make(chan struct{}, 1)
	dir := c.State.CgroupPaths["memory"]
	if dir == "" {
		return ch
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return ch
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		unix.Close(efd)
		return ch
	}
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(int(ctl.Fd()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		unix.Close(efd)
		ctl.Close()
		return ch
	}
	go func() {
		defer ctl.Close()
		ev := os.NewFile(uintptr(efd), "oom-eventfd")
		defer ev.Close()
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			// The eventfd also fires when the cgroup is removed.
			if _, err := os.Stat(dir); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch
}

// FormatStatsEvent is the single `events --stats` line.
func FormatStatsEvent(id string, st *Stats) ([]byte, error) {
	data, err := json.Marshal(Event{Type: "stats", ID: id, Data: st})
	if err != nil {
		return nil, fmt.Errorf("encode stats: %w", err)
	}
	return data, nil
}
