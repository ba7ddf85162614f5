package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runtime is one of the runtimes under test.
type runtime struct {
	Name    string `json:"name"`
	Bin     string `json:"bin"`
	Version string `json:"version"`
	root    string // private --root
	short   string // in container ids
	goBin   bool   // a Go binary (inittrace applies)
}

func (rt *runtime) argv(args ...string) []string {
	return append([]string{rt.Bin, "--root", rt.root}, args...)
}

// Bundle variants. All are `runc spec` with terminal false; they differ only
// in process.args and in whether the network namespace is kept.
type variant struct {
	name  string
	args  []string
	netns bool
}

var (
	vTrueNet    = variant{"true-netns", []string{"true"}, true}
	vTrueNoNet  = variant{"true-nonetns", []string{"true"}, false}
	vSleepNet   = variant{"sleep-netns", []string{"sleep", "1000"}, true}
	vSleepNoNet = variant{"sleep-nonetns", []string{"sleep", "1000"}, false}
)

// prepare makes the work directory (a private tmpfs), the hugetlb v1 mount
// crun needs, the busybox rootfs and the spec template.
func (b *bench) prepare() error {
	b.work = fmt.Sprintf("/run/lxcbench-%d", os.Getpid())
	if err := os.MkdirAll(b.work, 0o700); err != nil {
		return err
	}
	b.madeWork = true
	if b.cfg.tmpfs {
		if err := unix.Mount("tmpfs", b.work, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700,size=512m"); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", b.work, err)
		}
		b.mountedWork = true
	}
	for _, d := range []string{"logs", "bundles", "roots"} {
		if err := os.MkdirAll(filepath.Join(b.work, d), 0o700); err != nil {
			return err
		}
	}
	if err := b.setupHugetlb(); err != nil {
		return err
	}
	for _, rt := range b.rts {
		rt.root = filepath.Join(b.work, "roots", rt.Name)
		if err := os.MkdirAll(rt.root, 0o700); err != nil {
			return err
		}
	}
	if err := b.makeRootfs(); err != nil {
		return err
	}
	return b.loadSpec()
}

// setupHugetlb mounts the hugetlb controller as a cgroup v1 hierarchy when no
// such mount exists (crun 1.8.1 refuses hybrid mode otherwise). The same mount
// is there for all three runtimes.
func (b *bench) setupHugetlb() error {
	if p := hugetlbMount(); p != "" {
		b.note("hugetlb v1 hierarchy already mounted at %s", p)
		return nil
	}
	return b.mountHugetlb()
}

const hugetlbDir = "/sys/fs/cgroup/hugetlb"

// hugetlbMount returns where the hugetlb v1 hierarchy is mounted, or "".
func hugetlbMount() string {
	mounts, _ := readMountinfo()
	for _, m := range mounts {
		if m.fstype == "cgroup" && hasOpt(m.superOpts, "hugetlb") {
			return m.point
		}
	}
	return ""
}

// ensureHugetlb runs before every group: on a shared machine someone else
// may unmount the hierarchy under the bench (crun then writes its "cgroup"
// into a plain tmpfs directory and its numbers no longer compare).
func (b *bench) ensureHugetlb(step string) {
	if hugetlbMount() != "" {
		return
	}
	b.note("WARNING: the hugetlb v1 mount disappeared before %q (someone else unmounted it); mounted it again", step)
	fmt.Fprintf(os.Stderr, "\nbench: warning: the hugetlb v1 mount disappeared before %q; mounting it again\n", step)
	if err := b.mountHugetlb(); err != nil {
		b.note("WARNING: %v", err)
	}
}

func (b *bench) mountHugetlb() error {
	const dir = hugetlbDir
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
		b.madeHugetlbDir = true
	}
	if err := unix.Mount("cgroup", dir, "cgroup", 0, "hugetlb"); err != nil {
		return fmt.Errorf("mount -t cgroup -o hugetlb cgroup %s: %w", dir, err)
	}
	b.mountedHugetlb = true
	b.note("mounted the hugetlb v1 hierarchy at %s for crun (removed at the end)", dir)
	return nil
}

// makeRootfs is Debian's busybox-static with its applet links, /etc/passwd
// and /etc/group, and the directories the mounts land on.
func (b *bench) makeRootfs() error {
	rootfs := filepath.Join(b.work, "rootfs")
	b.rootfs = rootfs
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "run"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(b.cfg.busybox)
	if err != nil {
		return fmt.Errorf("busybox: %w (install busybox-static)", err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	res, err := b.runOnce(nil, []string{b.cfg.busybox, "--list-full"}, true)
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(res.output) {
		dst := filepath.Join(rootfs, p)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", dst); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777)
}

// loadSpec runs `runc spec` once; every bundle is derived from its output.
func (b *bench) loadSpec() error {
	dir := filepath.Join(b.work, "spec")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := b.runOnce(nil, []string{b.cfg.runcBin, "spec", "--bundle", dir}, false); err != nil {
		return fmt.Errorf("runc spec: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	b.specTemplate = data
	return nil
}

// writeBundle writes the bundle of one container: config.json only, with
// root.path pointing at the shared read-only rootfs and a cgroupsPath under
// the bench's own parent, so that all runtimes put their cgroups in the same
// place and cleanup knows where to look.
func (b *bench) writeBundle(id string, v variant) (string, error) {
	var spec map[string]any
	if err := json.Unmarshal(b.specTemplate, &spec); err != nil {
		return "", err
	}
	process, _ := spec["process"].(map[string]any)
	linux, _ := spec["linux"].(map[string]any)
	root, _ := spec["root"].(map[string]any)
	if process == nil || linux == nil || root == nil {
		return "", errors.New("runc spec: unexpected config.json layout")
	}
	process["terminal"] = false
	process["args"] = v.args
	root["path"] = b.rootfs
	linux["cgroupsPath"] = "/" + b.cgParent + "/" + id
	if !v.netns {
		nss, _ := linux["namespaces"].([]any)
		kept := nss[:0]
		for _, ns := range nss {
			if m, ok := ns.(map[string]any); ok && m["type"] == "network" {
				continue
			}
			kept = append(kept, ns)
		}
		linux["namespaces"] = kept
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.work, "bundles", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

// namespaceTypes lists the namespaces of a variant (for the report header).
func (b *bench) namespaceTypes(v variant) string {
	var spec struct {
		Linux struct {
			Namespaces []struct{ Type string } `json:"namespaces"`
		} `json:"linux"`
	}
	_ = json.Unmarshal(b.specTemplate, &spec)
	var out []string
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == "network" && !v.netns {
			continue
		}
		out = append(out, ns.Type)
	}
	return strings.Join(out, ",")
}

// cleanup removes everything the bench made, in dependency order: containers
// (delete --force by id, then whatever is left in each root), processes left
// in the bench's cgroups, the cgroups, the work directory and its tmpfs, and
// the hugetlb mount if the bench made it. It is safe to call twice.
func (b *bench) cleanup() {
	b.cleanOnce.Do(func() {
		b.r.stop()
		b.r.resume()
		for _, rt := range b.rts {
			ids := map[string]bool{}
			for id := range b.ids[rt.Name] {
				ids[id] = true
			}
			if rt.root != "" {
				if ents, err := os.ReadDir(rt.root); err == nil {
					for _, e := range ents {
						if e.IsDir() {
							ids[e.Name()] = true
						}
					}
				}
			}
			for id := range ids {
				if !b.live(rt, id) {
					continue
				}
				p, err := b.r.spawn(b.logDir(), b.env, rt.argv("delete", "--force", id), false)
				if err != nil {
					continue
				}
				if res := b.r.wait(p, 20*time.Second); res.code != 0 {
					fmt.Fprintf(os.Stderr, "bench: cleanup: %s delete --force %s: %s\n", rt.Name, id, strings.TrimSpace(res.output))
				}
			}
		}
		b.removeCgroups()
		b.r.takeOrphans()
		if b.work != "" {
			b.unmountUnder(b.work)
			if b.mountedWork {
				if err := unix.Unmount(b.work, unix.MNT_DETACH); err != nil {
					fmt.Fprintf(os.Stderr, "bench: cleanup: umount %s: %v\n", b.work, err)
				}
			}
			if b.madeWork {
				os.RemoveAll(b.work)
			}
		}
		if b.mountedHugetlb {
			if foreign := foreignCgroups(hugetlbDir, b.cgParent); len(foreign) > 0 && hugetlbMount() == hugetlbDir {
				// Someone else started using the hierarchy while the
				// bench ran: pulling it from under them would break
				// them. Leave it and say so.
				fmt.Fprintf(os.Stderr, "bench: cleanup: leaving the hugetlb v1 mount at %s: in use by others (%s)\n",
					hugetlbDir, strings.Join(foreign, " "))
			} else if p := hugetlbMount(); p == hugetlbDir {
				if err := unix.Unmount(hugetlbDir, 0); err != nil {
					fmt.Fprintf(os.Stderr, "bench: cleanup: umount %s: %v\n", hugetlbDir, err)
				}
			}
			if hugetlbMount() != hugetlbDir {
				// If the mount vanished mid-run, the runtimes made
				// plain directories for the bench's containers there.
				os.RemoveAll(filepath.Join(hugetlbDir, b.cgParent))
				if b.madeHugetlbDir {
					if err := os.Remove(hugetlbDir); err != nil {
						fmt.Fprintf(os.Stderr, "bench: cleanup: rmdir %s: %v (left in place: not the bench's)\n", hugetlbDir, err)
					}
				}
			}
		}
	})
}

// foreignCgroups lists the child cgroups of a hierarchy root that are not
// the bench's.
func foreignCgroups(root, mine string) []string {
	ents, _ := os.ReadDir(root)
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != mine {
			out = append(out, e.Name())
		}
	}
	return out
}

// live reports whether the runtime still knows container id (its state
// directory exists in the private root). Every runtime here keeps one
// directory per container in --root.
func (b *bench) live(rt *runtime, id string) bool {
	_, err := os.Stat(filepath.Join(rt.root, id))
	return err == nil
}

// cgroupDirs returns the bench's parent cgroup in every mounted hierarchy.
func (b *bench) cgroupDirs() []string {
	mounts, err := readMountinfo()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, m := range mounts {
		if m.fstype != "cgroup" && m.fstype != "cgroup2" {
			continue
		}
		d := filepath.Join(m.point, b.cgParent)
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// leftoverCgroups lists container cgroups below the bench's parent, per
// hierarchy, that no runtime removed.
func (b *bench) leftoverCgroups() []string {
	var left []string
	for _, d := range b.cgroupDirs() {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				left = append(left, filepath.Join(d, e.Name()))
			}
		}
	}
	return left
}

// removeCgroups kills whatever still runs in the bench's cgroups and removes
// them, deepest first.
func (b *bench) removeCgroups() {
	for _, d := range b.cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, cg := range dirs {
			for try := 0; try < 50; try++ {
				killProcs(cg)
				if err := unix.Rmdir(cg); err == nil || errors.Is(err, unix.ENOENT) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

func killProcs(cg string) {
	data, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// unmountUnder lazily unmounts every mount below dir (not dir itself).
func (b *bench) unmountUnder(dir string) {
	mounts, err := readMountinfo()
	if err != nil {
		return
	}
	var pts []string
	for _, m := range mounts {
		if strings.HasPrefix(m.point, dir+"/") {
			pts = append(pts, m.point)
		}
	}
	sort.Slice(pts, func(i, j int) bool { return len(pts[i]) > len(pts[j]) })
	for _, p := range pts {
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
}

// leftoverMounts lists mounts under the work dir other than its tmpfs.
func (b *bench) leftoverMounts() []string {
	mounts, _ := readMountinfo()
	var left []string
	for _, m := range mounts {
		if strings.HasPrefix(m.point, b.work+"/") {
			left = append(left, m.point)
		}
	}
	return left
}

type mountEntry struct {
	point, fstype, superOpts string
}

func readMountinfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent maj:min root point opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		out = append(out, mountEntry{
			point:     unescapeMount(fields[4]),
			fstype:    fields[sep+1],
			superOpts: fields[sep+3],
		})
	}
	return out, sc.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				sb.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
