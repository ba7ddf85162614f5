package libstart

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecRequest is what the exec command line asks for: a process.json, or
// arguments with overrides of the container's own process.
type ExecRequest struct {
	ProcessFile    string // --process (a path, or "-" for stdin)
	Args           []string
	Env            []string
	Cwd            string
	User           string // uid[:gid]
	AdditionalGids []string
	Caps           []string
	NoNewPrivs     bool
	Tty            bool
	ProcessLabel   string
	AppArmor       string
}

// BuildExecProcess resolves an exec request against the container's process
// (runc's rules: env, cwd, user, capabilities, rlimits and no_new_privs come
// from the container unless overridden; --cap adds to the bounding,
// effective and permitted sets). Unlike runc, the container's inheritable
// and ambient capabilities are cleared: only a --process file can ask for
// them (CVE-2022-29162).
func BuildExecProcess(base *Process, req ExecRequest) (*Process, error) {
	if req.ProcessFile != "" {
		return processFromFile(req.ProcessFile, req.Tty)
	}
	if len(req.Args) == 0 {
		return nil, fmt.Errorf("exec: no command given")
	}
	p := *base
	if base.Caps != nil {
		// The container's inheritable and ambient sets are not passed on:
		// an exec'd process gets them only when a --process file asks
		// (CVE-2022-29162).
		caps := *base.Caps
		caps.Inheritable, caps.Ambient = 0, 0
		p.Caps = &caps
	}
	p.Args = req.Args
	p.Terminal = req.Tty
	p.ConsoleRows, p.ConsoleCols = 0, 0
	p.Env = mergeEnv(base.Env, req.Env)
	if req.Cwd != "" {
		if !strings.HasPrefix(req.Cwd, "/") {
			return nil, fmt.Errorf("exec: --cwd %q must be an absolute path", req.Cwd)
		}
		p.Cwd = req.Cwd
	}
	if req.User != "" {
		uid, gid, err := ParseUser(req.User)
		if err != nil {
			return nil, err
		}
		p.UID, p.GID = uid, gid
		if !strings.Contains(req.User, ":") {
			p.GID = base.GID
		}
	}
	if len(req.AdditionalGids) > 0 {
		p.AdditionalGids = nil
		for _, g := range req.AdditionalGids {
			n, err := parseID(g)
			if err != nil {
				return nil, fmt.Errorf("exec: --additional-gids %q: %w", g, err)
			}
			p.AdditionalGids = append(p.AdditionalGids, n)
		}
	}
	if len(req.Caps) > 0 {
		caps := Caps{}
		if p.Caps != nil {
			caps = *p.Caps
		}
		for _, name := range req.Caps {
			c, ok := capByName(name)
			if !ok {
				return nil, fmt.Errorf("exec: unknown capability %q", name)
			}
			bit := uint64(1) << uint(c)
			caps.Bounding |= bit
			caps.Effective |= bit
			caps.Permitted |= bit
		}
		p.Caps = &caps
	}
	p.NoNewPrivileges = p.NoNewPrivileges || req.NoNewPrivs
	if req.ProcessLabel != "" {
		p.SelinuxLabel = req.ProcessLabel
	}
	if req.AppArmor != "" {
		p.ApparmorProfile = req.AppArmor
	}
	return &p, nil
}

func processFromFile(path string, tty bool) (*Process, error) {
	data, err := readFileOrStdin(path)
	if err != nil {
		return nil, fmt.Errorf("exec: read process file: %w", err)
	}
	var sp specs.Process
	if err := json.Unmarshal(data, &sp); err != nil {
		return nil, fmt.Errorf("exec: process file: invalid JSON: %w", err)
	}
	p, err := ProcessFromSpec(&sp)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	p.Terminal = p.Terminal || tty
	return p, nil
}

// mergeEnv overrides base with extra by key.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		key := kv
		if i := strings.IndexByte(kv, '='); i >= 0 {
			key = kv[:i]
		}
		replaced := false
		for i, b := range out {
			if strings.HasPrefix(b, key+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// ParseUser parses "uid" or "uid:gid" strictly: decimal numbers only, no
// signs, no spaces, within 32 bits (names are not resolved: the host's
// user database is not the container's).
func ParseUser(s string) (uint32, uint32, error) {
	u, g, hasGid := strings.Cut(s, ":")
	uid, err := parseID(u)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid user %q: %w", s, err)
	}
	if !hasGid {
		return uid, 0, nil
	}
	gid, err := parseID(g)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid user %q: %w", s, err)
	}
	return uid, gid, nil
}

func parseID(s string) (uint32, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a decimal id", s)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if n == 1<<32-1 {
		return 0, fmt.Errorf("%q is the invalid id (uint32 -1)", s)
	}
	return uint32(n), nil
}
