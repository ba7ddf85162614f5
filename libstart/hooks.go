package libstart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// RunHooks runs hooks of one kind in order, each with the state JSON on its
// stdin, and stops at the first failure. Callers decide what a failure
// means: fatal for prestart, createRuntime, createContainer and
// startContainer; poststart and poststop use RunAllHooks.
func RunHooks(kind string, hooks []Hook, state OCIState) error {
	if errs := runHooks(kind, hooks, state, true); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// RunAllHooks runs every hook even after one fails (poststart, poststop:
// the spec makes their failures warnings) and returns the failures.
func RunAllHooks(kind string, hooks []Hook, state OCIState) []error {
	return runHooks(kind, hooks, state, false)
}

// runHooks runs hooks in order with state on stdin, stopping at the first
// failure when stopAtFirst.
func runHooks(kind string, hooks []Hook, state OCIState, stopAtFirst bool) []error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return []error{fmt.Errorf("%s hook: encode state: %w", kind, err)}
	}
	var errs []error
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			errs = append(errs, fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err))
			if stopAtFirst {
				break
			}
		}
	}
	return errs
}

func runHook(h Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := withOriginalTimerSlack(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", h.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}

// warnf reports a non-fatal problem on stderr; the CLI's logger also gets
// it when one is installed.
var warnf = func(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "warning: "+format+"\n", args...)
}

// SetWarn installs the function used for warnings (the CLI's logger).
func SetWarn(f func(format string, args ...any)) { warnf = f }

// debugf reports what only --debug shows; silent by default.
var debugf = func(string, ...any) {}

// SetDebug installs the function used for debug messages.
func SetDebug(f func(format string, args ...any)) { debugf = f }
