package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRunExitCode: foreground `run` exits with the container's exit status,
// 128+N when the process died of signal N.
func TestRunExitCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script string
		want   int
	}{
		{"exit0", "exit 0", 0},
		{"exit3", "exit 3", 3},
		{"exit255", "exit 255", 255},
		// Signals sent by pid 1 to itself are ignored inside a pid
		// namespace, so these containers share the host pid namespace.
		{"SIGKILL", "kill -KILL $$", 128 + 9},
		{"SIGTERM", "kill -TERM $$", 128 + 15},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t, withSh(tc.script), withoutNamespace(specs.PIDNamespace))
			if res := c.run(); res.Code != tc.want {
				t.Errorf("exit code %d, want %d: %s", res.Code, tc.want, res)
			}
		})
	}
}

// TestRunStdio: the container's stdout and stderr are run's, and run's
// stdin reaches the container.
func TestRunStdio(t *testing.T) {
	t.Parallel()
	t.Run("stdout_stderr", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("echo to-stdout; echo to-stderr >&2"))
		res := c.run().mustSucceed(t)
		if !strings.Contains(res.Stdout, "to-stdout") || strings.Contains(res.Stdout, "to-stderr") {
			t.Errorf("stdout %q, want to-stdout only", res.Stdout)
		}
		if !strings.Contains(res.Stderr, "to-stderr") || strings.Contains(res.Stderr, "to-stdout") {
			t.Errorf("stderr %q, want to-stderr only", res.Stderr)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withArgs("cat"))
		cmd := c.cmd("run", "--bundle", c.bundle, c.id)
		cmd.Stdin = strings.NewReader("line one\nline two\n")
		res := runCmd(t, cmd).mustSucceed(t)
		if res.Stdout != "line one\nline two\n" {
			t.Errorf("cat echoed %q, want the stdin given to run", res.Stdout)
		}
	})
	t.Run("run_removes_container", func(t *testing.T) {
		t.Parallel()
		c := newCtr(t, withSh("exit 0"))
		c.run().mustSucceed(t)
		// a foreground run deletes its container when the process exits
		c.rt("state", c.id).mustFail(t, "does not exist")
	})
}
