// Package clients tests lxcrun under the real container clients that drive an
// OCI runtime by absolute path: podman 4.3 (+conmon), containerd 1.6 + ctr,
// Docker 20.10 (dockerd on our own containerd) and containerd's CRI plugin
// driven by crictl. The scenarios are what a user of those clients does (run,
// exec, pause, kill, stop, update, networking, ...); each checks what the client
// reports and, where the runtime is responsible for it, the effect on the host
// (cgroup files, namespaces).
//
// The suite only runs as root with LXCRUN_CLIENT_TESTS=1 (the Makefile's
// `clients` target sets it; scripts/clients-deps.sh installs the clients). The
// runtime under test is $LXCRUN_BIN (absolute path). With
// LXCRUN_CLIENT_RUNTIME=runc the same scenarios drive /usr/sbin/runc instead:
// that proves a scenario tests the clients' contract and not lxcrun's quirks.
//
// Every client calls the runtime through a small argv-logging shell wrapper
// named like the runtime (podman chooses its log flags by the runtime's
// basename). When a scenario fails, its log shows the runtime calls it caused,
// with the exit code and the tail of the runtime's --log file for the ones that
// failed. LXCRUN_CLIENT_TRACE=/some/file keeps the whole call log.
//
// Every daemon gets private state directories and sockets, and is stopped by
// the pid recorded at its start; containers left by a failed scenario are
// removed through their client when the client's test ends.
//
// See ../../../shared/CLIENTS.md for the recipes and the runtime calls of each
// client on this kind of machine.
package clients
