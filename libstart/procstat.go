package libstart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ProcStat is what lxcrun reads from /proc/<pid>/stat: the process state
// letter and its start time, which together tell a live container init from
// a zombie or from an unrelated process that reused the pid.
type ProcStat struct {
	State     byte
	StartTime uint64 // clock ticks after boot (field 22)
}

// ReadProcStat reads /proc/<pid>/stat. A missing process is os.ErrNotExist.
func ReadProcStat(pid int) (ProcStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, err
	}
	return ParseProcStat(data)
}

// ParseProcStat parses the contents of a /proc/<pid>/stat file. The comm
// field may contain spaces and parentheses, so parsing starts after the last
// ')'.
func ParseProcStat(data []byte) (ProcStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return ProcStat{}, errors.New("malformed /proc/pid/stat")
	}
	// Fields after comm start at field 3 (state).
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 20 {
		return ProcStat{}, fmt.Errorf("malformed /proc/pid/stat: %d fields after comm", len(fields))
	}
	if len(fields[0]) != 1 {
		return ProcStat{}, errors.New("malformed /proc/pid/stat: bad state field")
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("malformed /proc/pid/stat: start time: %w", err)
	}
	return ProcStat{State: fields[0][0], StartTime: start}, nil
}

// Alive reports whether pid is the same process that started at startTime
// and has not exited (a zombie has exited).
func Alive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := ReadProcStat(pid)
	if err != nil {
		return false
	}
	if st.State == 'Z' || st.State == 'X' {
		return false
	}
	return startTime == 0 || st.StartTime == startTime
}
