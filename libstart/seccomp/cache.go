package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/lxcrun/lxcrun/libstart/atomicfile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CacheDir is the directory, inside a runtime root, that holds compiled
// filters. '#' cannot appear in a container id, so `list` and other
// runtimes sharing the root (Docker's) never take it for a container.
const CacheDir = "#seccomp"

// cacheVersion changes whenever Program or Compile's output changes meaning.
const cacheVersion = "1"

// CompileCached is Compile with the result kept under root by the hash of
// the configuration: Docker and podman send the same ~300-rule profile with
// every container, and libseccomp takes milliseconds to compile it. A cache
// entry that cannot be read or written is not an error; the filter is then
// compiled as usual.
func CompileCached(root string, cfg *specs.LinuxSeccomp) (*Program, error) {
	key, err := cacheKey(cfg)
	if err != nil {
		return Compile(cfg)
	}
	path := filepath.Join(root, CacheDir, key+".json")
	if data, err := os.ReadFile(path); err == nil {
		var p Program
		if json.Unmarshal(data, &p) == nil && len(p.Filter) > 0 && len(p.Filter)%8 == 0 {
			return &p, nil
		}
	}
	p, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	if data, err := json.Marshal(p); err == nil && os.MkdirAll(filepath.Dir(path), 0o700) == nil {
		_ = atomicfile.Write(path, data, 0o600)
	}
	return p, nil
}

func cacheKey(cfg *specs.LinuxSeccomp) (string, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(cacheVersion+"\n"), data...))
	return hex.EncodeToString(sum[:]), nil
}
