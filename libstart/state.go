package libstart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lxcrun/lxcrun/libstart/atomicfile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The OCI status names. LXC's finer states never appear in "status" because
// shims map unknown values to "unknown".
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

const (
	stateFile  = "state.json"
	parkSocket = "init.sock"
)

// ErrNotExist is returned for a container id with no state directory. Its
// text is runc's: shims match "does not exist".
var ErrNotExist = errors.New("container does not exist")

// ErrExist is returned by create for an id that is already taken.
var ErrExist = errors.New("container with given ID already exists")

// State is the persisted record of one container (state.json). Status is the
// last lifecycle step recorded; the status shown to users is derived from it
// and from the init process (see Container.Status).
//
//easyjson:json
type State struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Pid          int               `json:"pid,omitempty"`
	PidStartTime uint64            `json:"pidStartTime,omitempty"`
	Created      time.Time         `json:"created"`
	CgroupPaths  map[string]string `json:"cgroupPaths,omitempty"`
	Conf         *Conf             `json:"conf"`
	// Exit is how the init ended, when a monitor or a foreground run
	// waited for it (see ExitRecord).
	Exit *ExitRecord `json:"exit,omitempty"`
	// MonitorPid and MonitorStartTime identify the --monitor process.
	MonitorPid       int    `json:"monitorPid,omitempty"`
	MonitorStartTime uint64 `json:"monitorStartTime,omitempty"`
}

// exitPending reports whether a live monitor has yet to record the exit of
// an init that is already gone: watchers wait for the record.
func (c *Container) exitPending() bool {
	return c.State.MonitorPid > 0 && c.State.Exit == nil && Alive(c.State.MonitorPid, c.State.MonitorStartTime)
}

// ValidateID rejects ids that could escape the root directory or that runc
// would not accept.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if !validIDChars(id) || id == "." || id == ".." || len(id) > 1024 {
		return fmt.Errorf("invalid container id format: %q", id)
	}
	return nil
}

// validIDChars is runc's id alphabet ([\w+-.]), without a regexp compiled at
// start-up in every invocation.
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '+' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Container is an open state directory. Its lock (flock on the directory)
// serialises the verbs that change the container.
type Container struct {
	Root  string
	ID    string
	Dir   string
	dirFD int
	// locked is true when this process holds the state lock: a
	// "creating" record then cannot belong to a create still running.
	locked bool
	State  State
}

// stateDir returns root/id after validating id.
func stateDir(root, id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(root, id), nil
}

// OpenContainer opens the state of an existing container. With lock, it
// takes the exclusive lock first, waiting for a create or delete in flight.
func OpenContainer(root, id string, lock bool) (*Container, error) {
	dir, err := stateDir(root, id)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("open state directory: %w", err)
	}
	c := &Container{Root: root, ID: id, Dir: dir, dirFD: fd}
	if lock {
		if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
			c.Close()
			return nil, fmt.Errorf("lock state directory: %w", err)
		}
		c.locked = true
	}
	if err := c.load(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newContainer makes root/id and takes its lock; it fails if the id exists.
func newContainer(root, id string) (*Container, error) {
	dir, err := stateDir(root, id)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create root directory: %w", err)
	}
	if err := unix.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, ErrExist
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("open state directory: %w", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		os.Remove(dir)
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	return &Container{Root: root, ID: id, Dir: dir, dirFD: fd, locked: true}, nil
}

func (c *Container) load() error {
	data, err := os.ReadFile(filepath.Join(c.Dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// A create that died before its first write: nothing ran yet.
			c.State = State{ID: c.ID, Status: StatusCreating}
			return nil
		}
		return fmt.Errorf("read state: %w", err)
	}
	if err := decodeJSON(data, &c.State); err != nil {
		return fmt.Errorf("state.json of %s is corrupt: %w", c.ID, err)
	}
	if c.State.ID != c.ID {
		return fmt.Errorf("state.json of %s names container %q", c.ID, c.State.ID)
	}
	return nil
}

// Save writes state.json atomically: a temporary file renamed over the old
// one, so a reader never sees a half-written state.
func (c *Container) Save() error {
	data, err := encodeJSON(&c.State)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return atomicfile.Write(filepath.Join(c.Dir, stateFile), data, 0o600)
}

// Close releases the lock and the directory fd.
func (c *Container) Close() {
	if c.dirFD >= 0 {
		unix.Close(c.dirFD)
		c.dirFD = -1
	}
}

// Remove deletes the state directory and closes the container. The
// directory is first renamed to a name no container id can have ('#' is not
// allowed), so readers and watchers see the container vanish at once rather
// than a directory without state.json.
func (c *Container) Remove() error {
	gone := filepath.Join(c.Root, fmt.Sprintf("#deleted-%s-%d", c.ID, os.Getpid()))
	dir := c.Dir
	if err := os.Rename(c.Dir, gone); err == nil {
		dir = gone
	}
	err := os.RemoveAll(dir)
	c.Close()
	if err != nil {
		return fmt.Errorf("remove state directory: %w", err)
	}
	return nil
}

// ParkSocketPath is the path to the parked init's socket, spelled through
// the state directory fd so that it fits in sun_path whatever the root.
func (c *Container) ParkSocketPath() string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", c.dirFD, parkSocket)
}

// InitAlive reports whether the recorded init is still the same live process.
func (c *Container) InitAlive() bool {
	return Alive(c.State.Pid, c.State.PidStartTime)
}

// Status derives the OCI status: the recorded step, corrected by whether the
// init still lives and whether it is still parked on its socket.
func (c *Container) Status() string {
	switch c.State.Status {
	case StatusCreating:
		if !c.locked && c.createInFlight() {
			return StatusCreating
		}
		return StatusStopped
	case StatusStopped:
		return StatusStopped
	}
	if !c.InitAlive() {
		return StatusStopped
	}
	if c.State.Status == StatusPaused {
		return StatusPaused
	}
	if c.parked() {
		return StatusCreated
	}
	return StatusRunning
}

// createInFlight reports whether a create still holds the lock. It is only
// asked for a "creating" record by a caller that does not hold the lock.
func (c *Container) createInFlight() bool {
	fd, err := unix.Open(c.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	return false
}

func (c *Container) parked() bool {
	var st unix.Stat_t
	return unix.Fstatat(c.dirFD, parkSocket, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// OCIState is the state JSON printed by `state` and given to hooks, with
// runc's extra fields (rootfs, created, owner) and, for a stopped container
// whose exit was recorded, exitStatus or exitSignal, exitedAt and
// oomKilled. "status" keeps OCI's values only.
type OCIState struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	*ExitRecord
}

// OCIState builds the state JSON for status.
func (c *Container) OCIState(status string) OCIState {
	s := OCIState{
		State: specs.State{
			Version: specs.Version,
			ID:      c.ID,
			Status:  specs.ContainerState(status),
		},
		Created: c.State.Created,
		Owner:   "",
	}
	if conf := c.State.Conf; conf != nil {
		s.Version = conf.OCIVersion
		s.Bundle = conf.Bundle
		s.Rootfs = conf.Rootfs
		s.Annotations = conf.Annotations
	}
	if status != StatusStopped {
		s.Pid = c.State.Pid
	} else {
		s.ExitRecord = c.State.Exit
	}
	return s
}

// ListIDs returns the ids of the state directories under root. Entries that
// are not lxcrun containers (other runtimes share roots, as Docker does) are
// left to the caller to skip when their state cannot be read.
func ListIDs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read root directory: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
