"""OS-level confinement for the process that runs a student's submission.

Stdlib only, and no imports from the rest of the ``grader`` package: this module
runs at the very start of a fresh, single-threaded child interpreter, *before* any
untrusted code, and it must import on macOS and Windows too (every Linux-only step
is then reported as unavailable instead of applied).

Usage in the child::

    report = confine(workdir)          # {protection: "applied..." | "unavailable: why"}
    # ...from here on this is PID 1 of a new PID namespace, with a fresh /proc
    pid = fork_pid1()
    if pid == 0:
        ...run the student's code...   # PID 1 of a new PID namespace when possible
        os._exit(0)
    os._exit(supervise(pid))           # the 'init' that never runs student code

Protections (in this order, each independent; none raises):

``session``               ``os.setsid()``: the grader can kill the whole process group.
``parent_death``          ``PR_SET_PDEATHSIG(SIGKILL)``: the sandbox dies with the grader
                          (re-armed after the uid change, which clears it).
``pid_namespace``         ``unshare(CLONE_NEWPID)``: the process forked by :func:`fork_pid1`
                          is PID 1 of a new namespace; when it exits the kernel kills
                          every process it started.
``network``               ``unshare(CLONE_NEWNET)``: an empty network namespace (no
                          interfaces up, not even loopback).  Without root both come with
                          ``CLONE_NEWUSER`` (our own uid/gid mapped to themselves).  Both
                          also come with ``CLONE_NEWIPC``: System V shared memory, semaphores
                          and message queues of its own, gone when the sandbox ends (else one
                          sandbox could pin memory past its end, or hand data to the next).
``drop_privileges``       as root: the workdir is chowned to nobody/nogroup, then
                          ``setgroups([])``, ``setgid``, ``setuid``.  If the Python runtime
                          lives below a directory nobody cannot enter (``/root`` mode 0700
                          with pyenv), a private mount namespace covers that directory with
                          a tmpfs that only shows the needed entries (this also hides the
                          rest of it, e.g. ``/root/.ssh``, from the sandbox).
``capabilities``          empties the capability bounding, effective, permitted and
                          inheritable sets (matters in a user namespace, where the process
                          otherwise holds every capability over its own namespaces).
``no_new_privs``          ``PR_SET_NO_NEW_PRIVS``: no setuid/file-capability gains via exec.
``syscall_filter``        seccomp: ``add_key``, ``request_key`` and ``keyctl`` fail with EPERM.
                          The kernel's user keyring belongs to a uid, not to a namespace, so
                          every sandbox (all run as nobody) would share it, and a key outlives
                          the sandbox that added it.
``landlock_fs``           Landlock: reads, directory listings and exec are allowed only below
                          the Python runtime and its packages, the system libraries, a few
                          ``/etc``, ``/dev`` and ``/sys`` entries, the fresh ``/proc`` and
                          ``workdir``; writes only below ``workdir`` and ``allow_write`` (and
                          ``/dev/null``).  Home folders, ``/tmp``, other sandboxes, the course
                          and the repository around the ``grader`` package stay unreadable.
``landlock_net``          Landlock ABI >= 4: TCP bind and connect denied.
``landlock_signal_scope`` Landlock ABI >= 6: no signals to, and no abstract-unix-socket
                          connections with, processes outside the sandbox (this is what stops
                          a submission from killing the grader when both share a uid).
``cgroup``                joins the sandbox's control group (made by the supervisor) before
                          anything else, so every process it starts is charged to it.
``mount_namespace``       a private mount namespace (nothing mounted here reaches the host).
``workdir_tmpfs``         ``workdir`` becomes a size-limited tmpfs (``disk_mb``) holding a copy
                          of its files: the disk limit, and its pages count as memory.
``proc``                  the calling process forks and its child, PID 1 of the new PID
                          namespace, mounts a fresh ``/proc``: it shows only the sandbox's own
                          processes (the parent waits outside and exits with the child's status).
``rlimits``               ``RLIMIT_CORE`` 0 and ``RLIMIT_FSIZE`` 512 MiB.  ``RLIMIT_AS`` is
                          deliberately not set (TensorFlow reserves huge virtual ranges); the
                          parent limits memory by polling RSS.
"""

from __future__ import annotations

import os
import signal
import sys
import time

__all__ = ["confine", "fork_pid1", "supervise", "PROTECTIONS"]

PROTECTIONS = (
    "session",
    "parent_death",
    "cgroup",
    "pid_namespace",
    "network",
    "mount_namespace",
    "workdir_tmpfs",
    "proc",
    "drop_privileges",
    "capabilities",
    "no_new_privs",
    "syscall_filter",
    "landlock_fs",
    "landlock_net",
    "landlock_signal_scope",
    "rlimits",
)

FSIZE_LIMIT = 512 * 1024 * 1024
NOBODY_FALLBACK = 65534

_LINUX = sys.platform.startswith("linux")

# --- Linux constants -------------------------------------------------------------------------
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_LANDLOCK_SYSCALLS = {  # (create_ruleset, add_rule, restrict_self); same on x86_64 and aarch64
    "x86_64": (444, 445, 446),
    "amd64": (444, 445, 446),
    "aarch64": (444, 445, 446),
    "arm64": (444, 445, 446),
}
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
_FS_WRITE_ABI1 = (
    FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR | FS_MAKE_REG
    | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM
)
_FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
# What the libraries read besides the Python runtime and the system libraries.
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin",
               "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
               "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf",
               "/etc/resolv.conf", "/etc/gai.conf", "/etc/mime.types", "/etc/ssl", "/etc/os-release",
               "/etc/alternatives", "/etc/matplotlibrc", "/etc/fonts",
               "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
               "/sys/devices/system/cpu", "/sys/devices/system/node")
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_libc = None


def _get_libc():
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(ret: int, what: str) -> int:
    if ret == -1:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    import ctypes

    libc = _get_libc()
    return _check(
        libc.prctl(ctypes.c_int(option), ctypes.c_ulong(a2), ctypes.c_ulong(a3),
                   ctypes.c_ulong(a4), ctypes.c_ulong(a5)),
        f"prctl({option})",
    )


def _unavailable(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return "unavailable: " + " ".join(text.split())


def _not_linux() -> str:
    return f"unavailable: not supported on {sys.platform}"


# --- individual steps -------------------------------------------------------------------------
def _session() -> str:
    if not hasattr(os, "setsid"):
        return _not_linux()
    try:
        os.setsid()
        return "applied"
    except OSError as exc:
        if os.getsid(0) == os.getpid():
            return "applied: already a session leader"
        return _unavailable(exc)


def _parent_death(expected_ppid: int) -> str:
    if not _LINUX:
        return _not_linux()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died before the prctl: then we were reparented already.
    if expected_ppid > 1 and os.getppid() != expected_ppid:
        os.kill(os.getpid(), signal.SIGKILL)
    return "applied"


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _unshare(flags: int) -> None:
    _check(_get_libc().unshare(flags), "unshare")


def _unshare_user_pid_net() -> str:
    """New user + PID + network namespaces, mapping our own uid/gid to themselves."""
    uid, gid = os.geteuid(), os.getegid()
    _unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC)
    # After a uid change (root -> nobody) the process is not dumpable and its /proc files
    # belong to root: make it dumpable just long enough to write its own maps.
    dumpable = _prctl(PR_GET_DUMPABLE)
    try:
        if dumpable != 1:
            _prctl(PR_SET_DUMPABLE, 1)
        try:
            _write_file("/proc/self/setgroups", "deny")
        except FileNotFoundError:  # kernels before 3.19
            pass
        _write_file("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write_file("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError as exc:
        # the namespaces exist (and isolate) but our uid is unmapped inside them
        return f"applied: but uid/gid mapping failed ({exc})"
    finally:
        if dumpable != 1:
            _prctl(PR_SET_DUMPABLE, dumpable)
    return "applied"


def _namespaces(as_root: bool) -> tuple[str, str, bool]:
    """Returns (pid_namespace, network, retry_after_privilege_drop)."""
    if not _LINUX:
        return _not_linux(), _not_linux(), False
    if as_root:
        try:
            _unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC)
            return "applied", "applied", False
        except OSError:
            # e.g. a container without CAP_SYS_ADMIN: try again as nobody, in a user namespace
            return "", "", True
    try:
        status = _unshare_user_pid_net()
        return status, status, False
    except OSError as exc:
        why = _unavailable(exc)
        return why, why, False


def _nobody_ids() -> tuple[int, int]:
    uid = gid = NOBODY_FALLBACK
    try:
        import pwd

        uid = pwd.getpwnam("nobody").pw_uid
    except (ImportError, KeyError):
        pass
    for name in ("nogroup", "nobody"):
        try:
            import grp

            gid = grp.getgrnam(name).gr_gid
            break
        except (ImportError, KeyError):
            continue
    return uid, gid


def _chown_tree(root: str, uid: int, gid: int) -> None:
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _can(st: os.stat_result, uid: int, gid: int, bits: int) -> bool:
    """bits: 1 (x), 4 (r), 5 (rx): does (uid, gid, no supplementary groups) have them?"""
    if st.st_uid == uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid == gid:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits


def _runtime_paths(extra: tuple[str, ...]) -> list[str]:
    """Paths the sandboxed interpreter must still be able to read after the uid change."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(sys.executable or ""), cwd, *sys.path, *extra]
    out: list[str] = []
    for p in candidates:
        if not p or not os.path.isabs(p):
            continue
        for q in (os.path.normpath(p), os.path.realpath(p)):
            if os.path.exists(q) and q not in out:
                out.append(q)
    if sys.executable:
        real_exe = os.path.dirname(os.path.realpath(sys.executable))
        if real_exe not in out:
            out.append(real_exe)
    return out


def _first_blocker(path: str, uid: int, gid: int) -> tuple[str, str] | None:
    """First strict ancestor of ``path`` that (uid, gid) cannot enter: (ancestor, child name)."""
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for name in parts[:-1] if parts else []:
        try:
            st = os.stat(cur)
        except OSError:
            return None
        if not _can(st, uid, gid, 1):
            return cur, name
        cur = os.path.join(cur, name)
    if parts:  # the last ancestor
        try:
            st = os.stat(cur)
        except OSError:
            return None
        if not _can(st, uid, gid, 1):
            return cur, parts[-1]
    return None


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
    import ctypes

    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    libc = _get_libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_ulong, ctypes.c_char_p]
    _check(libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)), f"mount {dst}")


def _expose_runtime(paths: list[str], uid: int, gid: int) -> list[str]:
    """Make ``paths`` reachable for (uid, gid) in a private mount namespace.

    For every ancestor directory that the target user cannot enter, mount a 0755
    tmpfs over it that contains only bind mounts of the entries on the needed paths.
    Returns the directories so covered.  Raises OSError when that is impossible.
    """
    covered: list[str] = []
    in_private_ns = _PRIVATE_MOUNTS[0]
    for _ in range(32):
        blockers: dict[str, set[str]] = {}
        for p in paths:
            b = _first_blocker(p, uid, gid)
            if b:
                blockers.setdefault(b[0], set()).add(b[1])
        if not blockers:
            return covered
        if not in_private_ns:
            _unshare(CLONE_NEWNS)
            # never let the mounts below propagate back to the host
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            in_private_ns = True
        # outermost first: a covered directory changes what lies below it
        top = min(blockers, key=lambda d: d.count("/"))
        children = blockers[top]
        if top == "/":
            raise OSError(13, "the root directory is not searchable by nobody")
        dir_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
            for name in sorted(children):
                src = f"/proc/self/fd/{dir_fd}/{name}"
                dst = os.path.join(top, name)
                if os.path.isdir(src):
                    os.mkdir(dst, 0o755)
                else:
                    os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644))
                _mount(src, dst, None, MS_BIND | MS_REC, None)
        finally:
            os.close(dir_fd)
        covered.append(top)
    raise OSError(40, "too many nested unreadable directories")


_PRIVATE_MOUNTS = [False]  # set once this process has its own, private, mount namespace
_FRESH_PROC = [False]


def _join_cgroup(procs_files: tuple[str, ...]) -> str:
    if not procs_files:
        return "unavailable: no cgroup could be made (the supervisor polls the process tree)"
    for path in procs_files:
        _write_file(path, str(os.getpid()))
    return "applied"


def _private_mounts() -> str:
    """Make every mount private, so that what the sandbox mounts never reaches the host."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    _PRIVATE_MOUNTS[0] = True
    return "applied"


def _tmpfs_workdir(workdir: str, disk_mb: int) -> str:
    """Put ``workdir`` on a tmpfs of ``disk_mb`` MiB holding a copy of its files."""
    if not disk_mb:
        return "unavailable: no disk limit asked for"
    if not _PRIVATE_MOUNTS[0]:
        return "unavailable: no private mount namespace"
    files: dict[str, bytes] = {}
    for dirpath, _, filenames in os.walk(workdir):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, workdir)] = handle.read()
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={int(disk_mb)}m,mode=0700,nr_inodes=65536")
    for relative, content in files.items():
        target = os.path.join(workdir, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(content)
    os.chdir(workdir)  # the old directory lies under the mount now
    return f"applied: {int(disk_mb)} MiB"


def _become_pid1() -> None:
    """Fork; the child returns as PID 1 of the new PID namespace, the parent waits outside.

    The parent never runs student code: it keeps only stdout and stderr, waits, and exits with
    the child's status (so the caller's ``Popen`` sees it). It dies with its own parent.
    """
    r, w = os.pipe()  # the child's way to tell whether we died before its prctl
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if _LINUX:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        import select

        if select.select([r], [], [], 0)[0]:  # EOF: the waiter is already gone
            os._exit(128 + signal.SIGKILL)
        os.close(r)
        return
    os.close(r)
    os.closerange(3, w)
    os.closerange(w + 1, 1 << 16)
    _, status = os.waitpid(pid, 0)  # retried on EINTR by Python itself (PEP 475)
    os._exit(_exit_code(status))


def _fresh_proc() -> str:
    if os.getpid() != 1:
        return "unavailable: not PID 1 of a PID namespace"
    if not _PRIVATE_MOUNTS[0]:
        return "unavailable: no private mount namespace"
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _FRESH_PROC[0] = True
    return "applied: only the sandbox's processes are visible"


def _read_paths(workdir: str, allow_write: tuple[str, ...]) -> list[str]:
    """Where the sandbox may read: the runtime and its packages (never the repository around
    the ``grader`` package), the system libraries, and the fresh /proc."""
    out = list(_runtime_paths(()))
    out = [p for p in out if p != os.path.realpath(os.getcwd())]
    fixed = []
    for path in out:
        package = os.path.join(path, "grader")
        if os.path.isfile(os.path.join(package, "sandbox", "confine.py")) and \
                "-packages" not in path:
            fixed.append(package)  # a source checkout: only the grader's own package
        elif os.path.isdir(path) and any(os.path.isfile(os.path.join(path, marker)) for marker in
                                         ("pyproject.toml", "setup.py", ".git")):
            continue  # some other source tree on sys.path: not the sandbox's business
        else:
            fixed.append(path)
    fixed += [p for p in SYSTEM_READ if os.path.exists(p)]
    if _FRESH_PROC[0]:
        fixed.append("/proc")
    return [p for p in dict.fromkeys(fixed) if p not in (workdir, *allow_write)]


def _drop_privileges(workdir: str, allow_write: tuple[str, ...]) -> str:
    if not hasattr(os, "geteuid"):
        return _not_linux()
    if os.geteuid() != 0:
        return f"applied: not root (uid {os.geteuid()})"
    uid, gid = _nobody_ids()
    notes = []
    needed = _runtime_paths((workdir, *allow_write))
    unreachable = [p for p in needed if _first_blocker(p, uid, gid)]
    if unreachable:
        if not _LINUX:
            return f"unavailable: {unreachable[0]} is not reachable for uid {uid}"
        try:
            covered = _expose_runtime(needed, uid, gid)
            notes.append("private mount namespace exposes only the needed entries of "
                         + ", ".join(covered))
        except OSError as exc:
            # Dropping now would leave an interpreter that cannot import anything.
            return (f"unavailable: the Python runtime ({unreachable[0]}) is not reachable "
                    f"for uid {uid} and could not be exposed ({exc})")
    try:
        _chown_tree(workdir, uid, gid)
    except OSError as exc:  # drop anyway: an unwritable workdir is safer than staying root
        notes.append(f"workdir not handed over ({exc.strerror or exc})")
    if _LINUX:
        _drop_bounding_set()  # while we still hold CAP_SETPCAP
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("setuid did not take effect")
    try:  # setuid(0) must now fail
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise OSError("could regain root after dropping privileges")
    return "applied: uid %d gid %d%s" % (uid, gid, ("; " + "; ".join(notes)) if notes else "")


def _drop_bounding_set() -> bool:
    """Empty the capability bounding set (needs CAP_SETPCAP); True when it is empty."""
    for cap in range(64):
        try:
            _prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == 22:  # EINVAL: past the last capability
                return True
            break  # EPERM: no CAP_SETPCAP
    try:
        with open("/proc/self/status") as f:
            return all(int(ln.split()[1], 16) == 0 for ln in f if ln.startswith("CapBnd"))
    except OSError:
        return False


def _drop_capabilities() -> str:
    if not _LINUX:
        return _not_linux()
    import ctypes

    dropped_bounding = _drop_bounding_set()

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    hdr = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    _check(_get_libc().capset(ctypes.byref(hdr), ctypes.byref(data)), "capset")
    # verify
    with open("/proc/self/status") as f:
        caps = {ln.split(":")[0]: int(ln.split()[1], 16) for ln in f if ln.startswith("Cap")}
    if caps.get("CapEff", 0) or caps.get("CapPrm", 0):
        raise OSError("capabilities still present after capset")
    if not dropped_bounding and caps.get("CapBnd", 0):
        return "applied (bounding set kept: no CAP_SETPCAP)"
    return "applied"


def _no_new_privs() -> str:
    if not _LINUX:
        return _not_linux()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    return "applied"


# The kernel keyring's system calls (add_key, request_key, keyctl) per audit architecture.
_KEYRING_CALLS = {0xC000003E: (248, 249, 250),  # x86_64
                  0xC00000B7: (217, 218, 219)}  # aarch64
_X32_BIT = 0x40000000  # x86_64's x32 calls: the same numbers with this bit; refused whole


def _syscall_filter() -> str:
    """A seccomp filter that fails the keyring's calls with EPERM (needs no_new_privs)."""
    if not _LINUX:
        return _not_linux()
    import ctypes
    import errno
    import struct

    def op(code: int, k: int, true: int = 0, false: int = 0) -> bytes:
        return struct.pack("HBBI", code, true, false, k)

    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JEQ|K, JGE|K, RET|K
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, RET_ERRNO
    program = []
    for arch, calls in _KEYRING_CALLS.items():  # one block per architecture, in turn
        block = [op(load, 0)]  # seccomp_data.nr
        if arch == 0xC000003E:
            block.append(op(jump_ge, _X32_BIT, len(calls) + 1, 0))
        block += [op(jump_eq, nr, len(calls) - i, 0) for i, nr in enumerate(calls)]
        block += [op(ret, allow), op(ret, deny)]
        program += [op(load, 4), op(jump_eq, arch, 0, len(block))] + block  # seccomp_data.arch
    program.append(op(ret, allow))  # another architecture: nothing to filter
    code = b"".join(program)

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    fprog = Program(len(program), code)  # struct sock_fprog, for as long as the call runs
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
    return "applied: add_key, request_key, keyctl refused"


def _landlock(workdir: str, allow_write: tuple[str, ...]) -> tuple[str, str, str]:
    read_paths = _read_paths(workdir, allow_write)
    if not _LINUX:
        return _not_linux(), _not_linux(), _not_linux()
    import ctypes
    import platform

    nums = _LANDLOCK_SYSCALLS.get(platform.machine().lower())
    if nums is None:
        why = f"unavailable: Landlock syscall numbers unknown for {platform.machine()}"
        return why, why, why
    sys_create, sys_add, sys_restrict = nums
    libc = _get_libc()
    libc.syscall.restype = ctypes.c_long

    def syscall(*args) -> int:
        return _check(libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a
                                     for a in args]), f"syscall {args[0]}")

    try:
        abi = syscall(sys_create, None, ctypes.c_size_t(0),
                      ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except OSError as exc:
        reason = {38: "kernel without Landlock (ENOSYS)",
                  95: "Landlock disabled at boot (EOPNOTSUPP)"}.get(exc.errno, str(exc))
        why = "unavailable: " + reason
        return why, why, why

    fs = _FS_WRITE_ABI1 | _FS_READ
    if abi >= 2:
        fs |= FS_REFER
    if abi >= 3:
        fs |= FS_TRUNCATE
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64),
                    ("handled_access_net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    assert ctypes.sizeof(PathBeneathAttr) == 12
    attr = RulesetAttr(fs, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset_fd = syscall(sys_create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        rules = [(p, fs) for p in (workdir, *allow_write)]
        rules += [(p, _FS_READ) for p in read_paths]
        rules.append(("/dev/null", _FS_READ | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0)))
        skipped = []
        for path, access in rules:
            if path != workdir and not os.path.exists(path):
                if path in allow_write:
                    skipped.append(path)  # a missing extra path must not cost the whole ruleset
                continue
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                if not os.path.isdir(path):  # a file rule takes file rights only
                    access &= FS_EXECUTE | FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE
                rule = PathBeneathAttr(access, fd)
                syscall(sys_add, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule),
                        ctypes.c_uint32(0))
            finally:
                os.close(fd)
        syscall(sys_restrict, ruleset_fd, ctypes.c_uint32(0))
    finally:
        os.close(ruleset_fd)
    fs_status = f"applied: ABI {abi}, reads and writes" + (f"; skipped missing {', '.join(skipped)}" if skipped else "")
    net_status = "applied" if net else f"unavailable: Landlock ABI {abi} < 4 (no network rules)"
    scope_status = "applied" if scoped else f"unavailable: Landlock ABI {abi} < 6 (no scopes)"
    return fs_status, net_status, scope_status


def _rlimits() -> str:
    try:
        import resource
    except ImportError:
        return _not_linux()
    done = []
    for name, value in (("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", FSIZE_LIMIT)):
        res = getattr(resource, name, None)
        if res is None:
            continue
        soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(res, (value, value))
        done.append(name)
    return "applied: " + ", ".join(done) if done else "unavailable: no rlimits on this OS"


# --- public API -------------------------------------------------------------------------------


def confine(workdir: str, *, allow_write: tuple[str, ...] = (), disk_mb: int = 0,
            cgroup_procs: tuple[str, ...] = ()) -> dict[str, str]:
    """Apply every protection this OS offers; return {protection_name: "applied" | "unavailable: <reason>"}.

    Never raises.  Values start with "applied" (possibly followed by ": detail") or with
    "unavailable: ".  ``workdir`` (and each of ``allow_write``) is the only place the process
    may write afterwards; as root it is chowned to nobody first.  Where a PID namespace was made,
    this returns in a forked child that is PID 1 of it (the caller's process waits outside).

    Args:
        workdir: the sandbox's working directory (becomes a tmpfs of ``disk_mb`` MiB).
        allow_write: more places the process may write.
        disk_mb: the size of the working directory's tmpfs (0: no tmpfs).
        cgroup_procs: ``cgroup.procs`` files to join first (made by the supervisor).
    """
    report: dict[str, str] = {}
    workdir = os.path.abspath(workdir)
    allow_write = tuple(os.path.abspath(p) for p in allow_write)
    expected_ppid = os.getppid() if hasattr(os, "getppid") else 0
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    def step(name, fn, *args):
        try:
            report[name] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - confine() must never raise
            report[name] = _unavailable(exc)

    step("session", _session)
    step("parent_death", _parent_death, expected_ppid)
    step("cgroup", _join_cgroup, tuple(cgroup_procs))

    try:
        pid_ns, net_ns, retry = _namespaces(as_root)
    except BaseException as exc:  # noqa: BLE001
        pid_ns = net_ns = _unavailable(exc)
        retry = False
    report["pid_namespace"], report["network"] = pid_ns, net_ns

    def isolate() -> None:
        """Private mounts, the tmpfs workdir, then PID 1 of the new namespace with a fresh /proc."""
        step("mount_namespace", _private_mounts)
        step("workdir_tmpfs", _tmpfs_workdir, workdir, disk_mb)
        if report["pid_namespace"].startswith("applied"):
            try:
                _become_pid1()
            except BaseException as exc:  # noqa: BLE001
                report["proc"] = _unavailable(exc)
                return
        step("proc", _fresh_proc)

    if not retry:
        isolate()
    step("drop_privileges", _drop_privileges, workdir, allow_write)
    if _LINUX and report["parent_death"].startswith("applied"):
        # a change of credentials (and the fork) clears the parent-death signal: arm it again
        try:
            _parent_death(0)
        except BaseException as exc:  # noqa: BLE001
            report["parent_death"] = _unavailable(exc)
    if retry:
        try:
            status = _unshare_user_pid_net()
            if status == "applied":
                status = "applied: in a user namespace"
            report["pid_namespace"] = report["network"] = status
        except BaseException as exc:  # noqa: BLE001
            report["pid_namespace"] = report["network"] = _unavailable(exc)
        isolate()

    step("capabilities", _drop_capabilities)
    step("no_new_privs", _no_new_privs)
    step("syscall_filter", _syscall_filter)
    try:
        report["landlock_fs"], report["landlock_net"], report["landlock_signal_scope"] = (
            _landlock(workdir, allow_write))
    except BaseException as exc:  # noqa: BLE001
        report["landlock_fs"] = report["landlock_net"] = report["landlock_signal_scope"] = (
            _unavailable(exc))
    step("rlimits", _rlimits)
    return {name: report.get(name, "unavailable: not attempted") for name in PROTECTIONS}


_death_pipe: list[int] = []


def fork_pid1() -> int:
    """Fork the process that will run student code.

    Returns 0 in that child (which is PID 1 of a new PID namespace when confine() managed
    to unshare one) and the child's pid in the parent.  Call it once: after
    unshare(CLONE_NEWPID) only the first fork becomes PID 1, and the calling process
    itself can no longer start threads (clone(CLONE_THREAD) fails with EINVAL), so
    heavy libraries (numpy, TensorFlow) belong in the child only.  The parent (the 'init' that never
    runs student code) should then call supervise(pid).  Raises OSError where the OS has
    no fork (Windows).
    """
    if not hasattr(os, "fork"):
        raise OSError(f"fork is not available on {sys.platform}")
    if _LINUX:
        try:  # orphans of the child are re-parented to us, so supervise() can reap them
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
        except OSError:
            pass
    for stream in (sys.stdout, sys.stderr):  # or buffered output is written twice
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    r, w = os.pipe()  # the child's way to tell whether we died before its prctl
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if _LINUX:
            try:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            except OSError:
                pass
        import select

        ready, _, _ = select.select([r], [], [], 0)
        if ready:  # EOF: the supervisor is already gone
            os._exit(128 + signal.SIGKILL)
        os.close(r)
        return 0
    os.close(r)
    _death_pipe.append(w)
    try:  # the child runs as the same user: it must not ptrace its supervisor
        _prctl(PR_SET_DUMPABLE, 0)
    except OSError:
        pass
    return pid


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 1


def _my_children() -> list[int]:
    me = os.getpid()
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            out.append(int(name))
    return out


def supervise(pid: int) -> int:
    """In the parent after fork_pid1: wait for the child, return its exit status as a
    shell-style code (128+signal if killed).  When it returns, every process the child
    started is dead: with a PID namespace the kernel kills them when PID 1 exits; without
    one, orphans were re-parented to us (subreaper) and are killed and reaped here.
    Every other child of the calling process is killed and reaped too.
    """
    code = 1
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            code = _exit_code(status)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            break
    # Sweep: kill and reap whatever is left below us (nothing, with a PID namespace).
    deadline = time.monotonic() + 30.0
    while True:
        for child in _my_children() if _LINUX else []:
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no children left at all
        except InterruptedError:
            continue
        if reaped == 0:
            if not _LINUX or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    while _death_pipe:
        try:
            os.close(_death_pipe.pop())
        except OSError:
            pass
    return code
