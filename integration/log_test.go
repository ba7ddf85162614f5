package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogJSON: with --log FILE --log-format json, a failing create writes
// one JSON object per line with level, msg and time, and the last error
// names the problem (containerd shows the last "error" msg to the user).
// Both spellings of the flag occur in the wild: the shim's and podman's.
func TestLogJSON(t *testing.T) {
	t.Parallel()
	spellings := map[string][]string{
		"separate": {"--log-format", "json"},
		"equals":   {"--log-format=json"},
	}
	for name, format := range spellings {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCtr(t)
			missing := filepath.Join(c.bundle, "no-such-rootfs")
			c.spec.Root.Path = missing
			c.writeSpec()
			logFile := filepath.Join(shortTempDir(t), "log.json")
			args := append([]string{"--root", c.root, "--log", logFile}, format...)
			args = append(args, "create", "--bundle", c.bundle, c.id)
			rt(t, args...).mustFail(t)

			b, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatalf("no log file: %v", err)
			}
			entries := jsonLines(t, b)
			var lastErr string
			for _, e := range entries {
				for _, k := range []string{"level", "msg", "time"} {
					if _, ok := e[k].(string); !ok {
						t.Errorf("log entry %v lacks string %q", e, k)
					}
				}
				if ts, _ := e["time"].(string); ts != "" {
					if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
						t.Errorf("log time %q is not RFC 3339: %v", ts, err)
					}
				}
				if e["level"] == "error" {
					lastErr, _ = e["msg"].(string)
				}
			}
			if lastErr == "" {
				t.Fatalf("no error entry in the log:\n%s", b)
			}
			if !strings.Contains(lastErr, "no such file or directory") {
				t.Errorf("last error %q does not say what failed (want \"no such file or directory\")", lastErr)
			}
			checkNothingLeft(t, c)
		})
	}
}

// TestLogText: --log FILE without a format writes text lines, and a
// succeeding create does not fail because of logging.
func TestLogText(t *testing.T) {
	t.Parallel()
	c := newCtr(t)
	logFile := filepath.Join(shortTempDir(t), "log.txt")
	c.rt("--log", logFile, "create", "--bundle", c.bundle, c.id).mustSucceed(t)
	c.mustState()
	c.rt("--log", logFile, "kill", c.id, "BOGUSSIG").mustFail(t)
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	if !strings.Contains(string(b), "BOGUSSIG") || !strings.Contains(string(b), "level=error") {
		t.Errorf("text log lacks the error about BOGUSSIG: %q", b)
	}
}
