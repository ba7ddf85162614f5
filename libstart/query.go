package libstart

import (
	"strconv"
	"syscall"

	"github.com/moby/sys/user"
)

// QueryState is `state`: it reads only state.json and /proc/<pid>/stat.
func QueryState(root, id string) (OCIState, error) {
	c, err := OpenContainer(root, id, false)
	if err != nil {
		return OCIState{}, err
	}
	defer c.Close()
	return c.ociStateWithOwner(), nil
}

func (c *Container) ociStateWithOwner() OCIState {
	s := c.OCIState(c.Status())
	var st syscall.Stat_t
	if err := syscall.Fstat(c.dirFD, &st); err == nil {
		s.Owner = ownerName(st.Uid)
	}
	return s
}

// ownerName is the user name of uid from the host's /etc/passwd, or the
// number.
func ownerName(uid uint32) string {
	if uid == 0 {
		return "root"
	}
	if u, err := user.LookupUid(int(uid)); err == nil {
		return u.Name
	}
	return "#" + strconv.Itoa(int(uid))
}

// List is `list`: the state of every readable container under root. State
// directories of other runtimes sharing the root are skipped.
func List(root string) ([]OCIState, error) {
	ids, err := ListIDs(root)
	if err != nil {
		return nil, err
	}
	var out []OCIState
	for _, id := range ids {
		c, err := OpenContainer(root, id, false)
		if err != nil {
			continue
		}
		if c.State.Conf != nil {
			out = append(out, c.ociStateWithOwner())
		}
		c.Close()
	}
	return out, nil
}
