// Package runner runs a user's shell script as a process tree that can be
// terminated completely: stopping a job kills every process the script
// started, including descendants that called setsid(), daemonized or
// double-forked, and a restarted server can find and kill what is left of
// trees started by its previous life. Where the kernel allows it, each tree
// is isolated: it cannot see the server's files, processes or memory (see
// Isolation below).
//
// # Shell semantics
//
// A script runs as one bash session, `bash -e -c -- SCRIPT`, like the
// commands of a CodeBuild phase or a CodePipeline Commands action: the
// commands run in order in one shell and the first command that fails ends
// the script with that command's exit status. Usual `set -e` rules apply: a
// failure inside an if/while condition or on the left of && or || does not
// end the script, and a pipeline fails only when its last command fails
// (pipefail is off, as on CodeBuild; a script may `set -o pipefail`). stdin is
// /dev/null.
//
// # Lifecycle
//
// New detects the containment method and the isolation mode once and makes
// the server a child subreaper. Start launches a tree; the returned *Process is then driven by
// the runner's own goroutines until the tree is finished:
//
//   - Wait may be called any number of times from any goroutine; it blocks
//     until the main shell has exited, every other process of the tree is
//     gone and all output was delivered, then always returns the same Result.
//   - Terminate and Kill may be called any number of times, from any
//     goroutine, concurrently with each other and with Wait, before or after
//     the tree finished. Each returns once no process of the tree is alive (it
//     does not wait for output delivery; use Wait for that). A Kill during a
//     Terminate's grace period cuts the grace short.
//   - Cancellation shows in the Result: Terminated is true when Terminate or
//     Kill was called before the main shell exited, and ExitCode/Signal tell
//     how the main shell ended (128+n and the signal name when killed by
//     signal n).
//   - When the main shell exits by itself, whatever it left running (background
//     jobs, daemons) is killed at once with SIGKILL, without a grace period,
//     as when CodeBuild tears down the build container. If a Terminate is in
//     its grace period at that moment, its grace is honoured first.
//   - Spec.OnLine is called from a runner goroutine, never concurrently with
//     itself for the same Process. It may call Terminate or Kill, but must not
//     call Wait (Wait waits for OnLine to return).
//   - Handle describes the tree for Reap; persist it (JSON) when the tree
//     starts. Reap, from any later life of the server, kills whatever is left.
//
// # Containment methods
//
// "cgroup-v2": every tree gets its own cgroup v2 directory, by default
// <cgroup2 mount>/<server's own cgroup>/pipewright/<ID>, so trees nest inside
// whatever cgroup the server runs in (a hybrid host's /sys/fs/cgroup/unified
// counts). The main shell is born inside it through clone3
// CLONE_INTO_CGROUP (kernel 5.7+), so no process of the tree ever runs
// outside. Kill writes cgroup.kill (kernel 5.14+) or freezes the cgroup and
// SIGKILLs every member; Terminate freezes, sends SIGTERM to every member,
// thaws.
//
// "cgroup-v1-freezer": the same with a v1 freezer cgroup
// (<freezer mount>/<own cgroup>/pipewright/<ID>). A v1 cgroup cannot be
// named at fork, but v1 lets a single thread change cgroup, so the main
// shell is forked from a dedicated OS thread that was first moved into the
// tree's cgroup: the child inherits the thread's cgroup at fork, before it
// runs any code. (This replaces gating the child on a pipe until the server
// has moved it: a bash gate would already source $BASH_ENV and import
// functions and SHELLOPTS from the user's environment, running user code
// outside the cgroup.) The thread is moved back and discarded afterwards.
// Killing freezes the cgroup (freezer.state), signals every member, thaws,
// and repeats until the cgroup is empty.
//
// "process-group": no usable cgroup. The main shell starts a new session
// (setsid, so also a new process group). Members are the living processes
// started no earlier than the main shell that are in its session or process
// group, or carry the environment marker PIPEWRIGHT_TREE_ID=<ID>, or descend
// from a member through the parent chain, or were seen as members before.
// Killing SIGSTOPs members until a rescan finds no new one (so fork loops
// cannot outrun it), then SIGKILLs them, and repeats until none is left.
// Under the cgroup methods the same scan also runs, to catch a process that
// left the cgroup.
//
// Every signal to a single process goes through a pidfd opened before the
// process's identity (start time or cgroup) is checked, so a recycled PID is
// never signalled. A signal to the whole process group (process-group
// method) is sent only while the main shell is not yet collected, so its
// PID, and with it the group ID, cannot have been reused.
//
// # Isolation
//
// New probes, once, the best of three modes by starting a probe tree that
// checks it sees what it must and nothing else; Options.Isolation forces
// one. ProtectServer, called by the server at start, makes the server
// non-dumpable in every mode: processes of its own user (its trees among
// them) cannot read its /proc/PID/environ, mem, fd, maps or cwd, nor trace
// it, while it still reads its own /proc/self entries.
//
// "namespaces": every tree starts in new mount and PID namespaces, plus a
// user namespace when the server is not root, made by a job init helper:
// /proc/self/exe started as "pipewright-job-init", with an empty
// environment and a control socket; this package's init function
// recognises the name and never returns into the program's main, so any
// binary that links the package can run trees, test binaries included.
// The runner keeps one helper started ahead (the spare; Close ends it), so
// that a start does not wait for the helper's exec and runtime start, and
// starts the next one shortly after each tree's start, or at once when
// none is ready. A helper serves one tree, whose namespaces are made for
// it when it starts. On the socket the runner sends the spec (script,
// directory, environment, what to hide and keep, the job user) with the
// tree's stdout and stderr and, under cgroup v2, a descriptor of the
// tree's cgroup. The helper checks it is PID 1 in a mount namespace that
// is not the server's, maps the server's user and group to themselves in
// its user namespace (setgroups denied), makes every mount private, opens
// each Spec.Isolation.Keep directory, covers each Spec.Isolation.Hide
// directory with an empty tmpfs, bind-mounts the kept directories back at
// their own paths from those descriptors, makes the covers read-only, and
// mounts a procfs of its PID namespace on /proc. It becomes non-dumpable
// and starts the main shell in the tree's cgroup (cloned into it under v2;
// forked from a thread of its own moved into it under v1, as the runner
// does without a helper), as Options.JobUser or the tree's Spec.User (no supplementary groups)
// when the server is root, with no ambient capability, an empty capability
// bounding set and no_new_privs (unless the tree runs as root, which only
// a root server without a job user does). The helper itself stays the
// server's user, outside the tree's cgroup, and runs no code of the tree
// (a deviation from dropping it to the job user too: the job user can then
// neither signal nor trace it, and the change of user costs one
// single-threaded child instead of every thread of the helper). The
// helper is the namespace's init: it reaps every orphan, forwards no
// signal and survives every signal but SIGKILL (and SIGSTOP, which only
// the runner can send it), the runner's SIGTERM to the whole tree
// included; it writes the main shell's wait status back on the socket and
// exits once no other process of its namespace is left, or at once if
// that write fails because the server is gone (a spare whose socket
// closes exits too). When a job user cannot search a parent of a hidden
// directory (the data directory in /root, or in a test's 0700 temporary
// directory), the outermost such parent is covered instead: it hides
// nothing the job user could reach, and gives it a path to its kept
// directories.
//
// Terminate and Kill work as without the helper. The runner treats the
// status line as the main shell's exit; a Terminate's grace then runs
// until the helper exits (nothing else is left) or the deadline passes,
// and killing the tree kills the helper too (through its pidfd, besides
// the cgroup and the scans): when a namespace's init dies the kernel
// SIGKILLs whatever remains in it, and the helper's exit, which the runner
// waits for through the pidfd, comes only after the kernel has reaped all
// of it. So a process that the scans of the process-group method cannot
// find (env -i plus setsid plus a double fork) dies with the tree too. A
// main shell that the helper could not report, because both were killed
// at once, is reported killed by SIGKILL. Handle.PID is the helper, the
// session leader of the tree: Reap finds the namespace through it (the
// helper carries no marker; the main shell and its descendants do), and
// the rest through the cgroup and the marker.
//
// What a tree cannot undo, and why. The covers and the new /proc are
// mounts the helper made in the tree's mount namespace; taking one away
// needs CAP_SYS_ADMIN in the user namespace that owns that mount
// namespace:
//
//   - Root server: the mount namespace belongs to the initial user
//     namespace, and the tree runs as the job user with no capability and
//     an empty bounding set, so even a setuid-root program (no_new_privs
//     keeps it from changing user at all) or a file with capabilities
//     gains none. The mounts are not locked here; only real root could
//     remove them, and the only root process in the namespaces is the
//     helper, which the job user can neither signal, trace nor read.
//   - Normal-user server: the mount namespace belongs to the tree's user
//     namespace, where the helper holds capabilities (it is not dumpable,
//     ignores signals and nothing can trace it) and the tree, being the
//     server's user rather than root inside and starting with no ambient
//     capability and an empty bounding set, holds none. Setuid-root
//     programs cannot change its user anyway (root is not mapped). The
//     server's user, outside the namespace, owns it, as it owns the data
//     directory.
//   - A tree that makes a user namespace of its own (unshare -Ur) is root
//     there, but a mount namespace it then makes is a copy made for a less
//     privileged user namespace: the kernel locks every mount it copies
//     together, so a cover cannot be unmounted or moved to uncover what is
//     below it, and a procfs it mounts shows only a PID namespace of its
//     own. Its capabilities do not reach the namespaces above it.
//   - The host's /proc is below the new one, not unmounted: it is reachable
//     only by unmounting the new one, which the rules above forbid.
//
// "job-user": no namespaces (the probe failed, or this mode was forced)
// and a server running as root: trees run as Options.JobUser, started
// directly (no helper) with no supplementary groups. Permissions are the
// only wall: the server's files must be unreadable to the job user (the
// data directory 0700, or 0711 where the job user must search it to reach
// its workspace, with every file in it 0600 and directory 0700), and a
// tree's workspace must belong to it. Lost against "namespaces": trees of
// the same job user see each other's processes in /proc (and their
// environments), can signal them and reach each other's workspaces by
// path; a tree sees every process of the host in /proc (not the server's
// environment or memory: it is another user); setuid programs work as on
// the host.
//
// "none": no namespaces and no job user (a normal-user server on a kernel
// without usable user namespaces, or forced): trees run as the server's
// user and can read and write everything the server can, its data
// directory included. ProtectServer still keeps the server's environment
// and memory from them. The server logs a warning at start.
//
// Spec.Isolation takes effect in "namespaces" only.
//
// # Zombies
//
// The server is a child subreaper, so orphaned descendants re-parent to it
// and their exit status must be collected by the server. os/exec must keep
// collecting the status of the children it started itself, so the runner
// never calls wait on -1. Instead a single reaper goroutine, woken by SIGCHLD
// and once a second, lists the server's children (/proc/self/task/*/children)
// and collects, by PID, only zombies that nobody else will wait for:
//
//   - with pidfd support (Go uses a pidfd for every child os/exec or
//     os.StartProcess starts, kernel 5.4+), a zombie child is collected when no
//     pidfd in the server's own descriptor table refers to it (checked via
//     /proc/self/fdinfo) and it is not a main shell of this package; an
//     orphan has no such pidfd, a child started through os/exec has one until
//     its Wait returns;
//   - without pidfd support, only zombies attributable to a running tree
//     are collected: in its session or process group while the main shell
//     is not collected, in its cgroup (v2 shows a zombie's cgroup), or seen
//     alive as a member (carrying its marker, in its cgroup, found by a
//     membership scan just before the tree is signalled).
//
// A main shell's own exit is observed with waitid(WEXITED|WNOWAIT), so the
// zombie keeps its PID (and with it the session and process group ID) pinned
// while the rest of the tree is killed; os/exec's Wait collects it afterwards.
//
// # Residual limits
//
//   - process-group: a process that both clears its environment (env -i) and
//     leaves the session and the parent chain (setsid plus double fork)
//     cannot be found. It is not killed; if it keeps the output pipe open,
//     Wait stops reading once the rest of the tree is gone and the pipe has
//     been idle for 250ms.
//   - Any method: root inside the tree can move itself out of the cgroup
//     (unless it keeps the marker, the scan then cannot find it either), and
//     a process in uninterruptible sleep cannot be killed until it wakes; the
//     runner gives up after 30s and reports the error in Result.Err.
//   - Without pidfd support, a zombie of an orphan that left the session and
//     was never seen alive as a member stays a zombie of the server until the
//     server exits (it holds only a PID).
//   - Membership scans read /proc/PID/stat of every process and
//     /proc/PID/environ of every process started after the tree; they run
//     when a tree ends or is signalled and every 10ms during a Terminate
//     grace period (process-group method; cgroup methods only once the
//     cgroup is empty).
//   - Code elsewhere in the server that starts children without a pidfd
//     (raw syscall.ForkExec plus wait4) may find its child already collected.
//   - Ordering between stdout and stderr lines is by read time; within one
//     stream it is exact.
//   - Isolation hides files and processes, not the network, /sys, /tmp,
//     /dev/shm or the host's other files: a tree can connect to the
//     server's API like any client (it needs the key pair to be answered),
//     and trees share /tmp.
//   - An isolated tree's start costs a handful of mounts and a round trip
//     to the spare helper (BenchmarkStartIsolated against BenchmarkStart);
//     without a spare ready (starts closer together than a helper takes to
//     start), a second exec of the server's binary, with its dynamic
//     loading and Go runtime start: a few milliseconds
//     (BenchmarkStartIsolatedCold). The spare is not moved into a tree's
//     cgroup because moving a process between v2 cgroups costs as much, in
//     the kernel's cgroup migration, and v2 cgroups cannot be renamed.
//   - A spare helper is an idle process of a few MiB for as long as the
//     runner lives.
package runner
