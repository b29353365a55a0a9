"""Tests of grader.sandbox.confine with real child processes (no mocks).

Each test starts ``python -I -B -c CODE``; CODE puts the repository root on sys.path
itself (``-I`` ignores PYTHONPATH), so the tests work whether or not the project is
pip-installed.  Two modes:

* ``root``: the child calls confine() with the test's own privileges (root here, in CI
  and containers), so confine() drops to nobody itself;
* ``user``: the child first becomes nobody (only possible when the tests run as root)
  and then calls confine(), which takes the unprivileged path (user namespace).  The
  stdlib modules it needs are imported beforehand, because a root-only Python install
  (pyenv under /root, mode 0700) is unreadable for nobody outside confine()'s
  private mount namespace.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

pytestmark = pytest.mark.skipif(not LINUX, reason="the confinement tests need Linux")

PRELUDE = """
import sys
sys.path.insert(0, {repo!r})
import os, json, signal, socket, subprocess, time, ctypes, platform, select, resource
import pwd, grp, errno, encodings.idna
from grader.sandbox.confine import confine, fork_pid1, supervise, PROTECTIONS
WORKDIR = {workdir!r}
def emit(**kw):
    print("RESULT " + json.dumps(kw), flush=True)
if {as_user!r}:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
"""

MODES = ["root", "user"] if IS_ROOT else ["user"]


@pytest.fixture
def workdir():
    # Directly under /tmp: pytest's tmp_path sits below a 0700 directory of root's.
    d = tempfile.mkdtemp(prefix="confine-test-")
    if IS_ROOT:
        os.chown(d, 65534, 65534)  # needed in "user" mode; confine() does it in "root" mode
    yield d
    shutil.rmtree(d, ignore_errors=True)


def child(code: str, workdir: str, mode: str = "root", timeout: float = 60, **popen):
    """Start the child; return the Popen object (stdout piped, text)."""
    as_user = mode == "user" and IS_ROOT
    source = PRELUDE.format(repo=str(REPO), workdir=workdir, as_user=as_user) + code
    return subprocess.Popen([sys.executable, "-I", "-B", "-c", source], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def run(code: str, workdir: str, mode: str = "root", timeout: float = 60):
    proc = child(code, workdir, mode)
    out, err = proc.communicate(timeout=timeout)
    results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
    merged = {}
    for r in results:
        merged.update(r)
    assert merged, f"no result from child (rc {proc.returncode}):\n{out}\n{err}"
    merged["_rc"] = proc.returncode
    merged["_stderr"] = err
    return merged


def host_ppid(pid: int) -> int:
    """The parent of ``pid`` as the host sees it (the sandbox's own /proc shows other numbers)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2:].split()[1])


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:][:1] != b"Z"


def pids_with(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[:2] == [b"sleep", marker.encode()]:
                        found.append(int(name))
            except OSError:
                pass
    return found


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_report_names_every_protection_all_applied(workdir, mode):
    r = run("emit(report=confine(WORKDIR, disk_mb=16), keys=list(PROTECTIONS), pid=os.getpid(), "
            "procs=sorted(os.listdir('/proc')))", workdir, mode)
    report = r["report"]
    assert list(report) == r["keys"]
    for name in ("session", "parent_death", "pid_namespace", "network", "mount_namespace",
                 "workdir_tmpfs", "proc", "drop_privileges", "no_new_privs", "syscall_filter",
                 "landlock_fs",
                 "landlock_net", "landlock_signal_scope", "rlimits"):
        assert name in report
    # no cgroup was made for this bare call (the supervisor makes one)
    bad = {k: v for k, v in report.items() if not v.startswith("applied") and k != "cgroup"}
    assert not bad, bad
    assert r["pid"] == 1  # confine() returns in PID 1 of the new namespace ...
    assert [p for p in r["procs"] if p.isdigit()] == ["1"]  # ... whose fresh /proc shows only it


def test_confine_never_raises_on_a_bad_workdir(workdir):
    r = run("emit(report=confine('/nonexistent/confine-test'), uid=os.geteuid())", workdir)
    from grader.sandbox.confine import PROTECTIONS as ALL

    assert set(r["report"]) == set(ALL)
    assert r["report"]["landlock_fs"].startswith("unavailable")
    assert r["uid"] != 0  # still dropped privileges


@pytest.mark.parametrize("mode", MODES)
def test_writes_only_inside_workdir(workdir, mode):
    tag = uuid.uuid4().hex[:8]
    outside_tmp = os.path.join(tempfile.gettempdir(), f"confine-outside-{tag}")
    targets = {
        "site_packages": os.path.join(sysconfig.get_paths()["purelib"], f"zz_planted_{tag}.pth"),
        "sitecustomize": os.path.join(sysconfig.get_paths()["purelib"], "sitecustomize.py"),
        "repo": str(REPO / f"planted_{tag}.py"),
        "grader_pkg": str(REPO / "grader" / f"planted_{tag}.py"),
        "tmp": outside_tmp,
    }
    assert not any(os.path.exists(p) for p in targets.values())
    code = f"""
report = confine(WORKDIR)
res = {{}}
for name, path in {targets!r}.items():
    try:
        with open(path, "a") as f:
            f.write("import os  # planted\\n")
        res[name] = "written"
    except OSError as e:
        res[name] = type(e).__name__
try:
    os.mkdir(os.path.join(WORKDIR, "sub"))
    with open(os.path.join(WORKDIR, "sub", "a.txt"), "w") as f:
        f.write("ok")
    os.rename(os.path.join(WORKDIR, "sub", "a.txt"), os.path.join(WORKDIR, "b.txt"))
    os.truncate(os.path.join(WORKDIR, "b.txt"), 1)
    with open(os.devnull, "w") as f:
        f.write("x")
    inside = "ok"
except OSError as e:
    inside = repr(e)
emit(report=report, res=res, inside=inside, uid=os.geteuid())
"""
    try:
        r = run(code, workdir, mode)
    finally:
        leaked = [p for p in targets.values()
                  if os.path.exists(p) and not p.endswith("sitecustomize.py")]
        for p in leaked:
            os.unlink(p)
    assert r["inside"] == "ok"
    assert r["uid"] != 0
    assert r["res"] == {name: "PermissionError" for name in targets}, r["res"]
    assert not leaked
    assert os.path.exists(os.path.join(workdir, "b.txt"))


@pytest.mark.parametrize("mode", MODES)
def test_no_network(workdir, mode):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = f"""
report = confine(WORKDIR)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    res = "connected"
except OSError as e:
    res = type(e).__name__ + ": " + str(e)
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("127.0.0.1", 0))
    bind = "bound"
except OSError as e:
    bind = type(e).__name__
emit(res=res, bind=bind, ifaces=sorted(n for _, n in socket.if_nameindex()))
"""
    try:
        r = run(code, workdir, mode)
    finally:
        server.close()
    assert r["res"] != "connected"
    assert r["bind"] != "bound"
    assert r["ifaces"] == ["lo"]  # a fresh network namespace: loopback only, and down


@pytest.mark.parametrize("mode", MODES)
def test_no_keyring_and_no_shared_system_v_ipc(workdir, mode):
    """The keyring's calls fail with EPERM, and a System V segment made inside is the sandbox's
    own: the host never sees it, and it is gone when the sandbox ends."""
    key = 0x5EC0000 + os.getpid() % 0xFFFF
    r = run(f"""
report = confine(WORKDIR)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
calls = {{"x86_64": (248, 250), "aarch64": (217, 219)}}[platform.machine()]
add = libc.syscall(calls[0], b"user", b"note", b"left behind", 11, -4)  # @u, the uid's keyring
add_errno = ctypes.get_errno()
ring = libc.syscall(calls[1], 0, -4, 0)  # KEYCTL_GET_KEYRING_ID
ring_errno = ctypes.get_errno()
shm = libc.shmget({key}, 1 << 20, 0o1666)
with open("/proc/sysvipc/shm") as f:
    inside = f.read()
emit(filter=report["syscall_filter"], add=[add, add_errno], ring=[ring, ring_errno], shm=shm,
     seen_inside={key} in [int(line.split()[0]) for line in inside.splitlines()[1:]])
""", workdir, mode)
    assert r["filter"].startswith("applied"), r["filter"]
    assert r["add"] == [-1, errno.EPERM] and r["ring"] == [-1, errno.EPERM]
    assert r["shm"] >= 0 and r["seen_inside"]
    with open("/proc/sysvipc/shm") as f:
        assert key not in [int(line.split()[0]) for line in f.read().splitlines()[1:]]


@pytest.mark.parametrize("mode", MODES)
def test_cannot_signal_the_grader(workdir, mode):
    grader_pid = os.getpid()
    code = f"""
report = confine(WORKDIR)
def try_kill(pid):
    try:
        os.kill(pid, signal.SIGTERM)
        return "sent"
    except OSError as e:
        return type(e).__name__
emit(supervisor=try_kill({grader_pid}), supervisor_getpid=os.getpid())
pid = fork_pid1()
if pid == 0:
    emit(pid1=try_kill({grader_pid}), pid1_getpid=os.getpid(), init=try_kill(1))
    os._exit(0)
emit(rc=supervise(pid))
"""
    r = run(code, workdir, mode)
    assert r["supervisor"] in ("PermissionError", "ProcessLookupError")
    assert r["pid1"] in ("PermissionError", "ProcessLookupError")
    assert r["supervisor_getpid"] == 1 and r["pid1_getpid"] == 2
    assert r["init"] in ("sent", "PermissionError")  # the namespace's init ignores it
    assert r["rc"] == 0


@pytest.mark.skipif(not IS_ROOT, reason="needs root to create the same-uid victim as nobody")
def test_signal_scope_blocks_same_uid_processes_outside_the_sandbox(workdir):
    """Both processes run as nobody: the PID namespace hides the victim, and Landlock's signal
    scope would refuse the signal even if it could be named."""
    code = """
victim = os.fork()
if victim == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1); os.dup2(null, 2)  # or the test waits for it to close the pipes
    time.sleep(30)
    os._exit(0)
report = confine(WORKDIR)
try:
    os.kill(victim, signal.SIGTERM)
    res = "sent"
except OSError as e:
    res = type(e).__name__
emit(res=res, scope=report["landlock_signal_scope"], victim=victim)
"""
    r = run(code, workdir, "user")
    try:
        assert r["scope"].startswith("applied")
        assert r["res"] in ("PermissionError", "ProcessLookupError")
        assert alive(r["victim"])
    finally:
        try:
            os.kill(r["victim"], signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.parametrize("mode", MODES)
def test_background_processes_die_with_pid1(workdir, mode):
    marker = f"300.{uuid.uuid4().int % 10**9}"
    marker2 = f"301.{uuid.uuid4().int % 10**9}"
    code = f"""
report = confine(WORKDIR)
def find(marker):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{{name}}/cmdline", "rb") as f:
                    if f.read().split(b"\\0")[:2] == [b"sleep", marker.encode()]:
                        out.append(int(name))
            except OSError:
                pass
    return out
pid = fork_pid1()
if pid == 0:
    subprocess.Popen(["sleep", {marker!r}], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.fork() == 0:            # a classic double-forked daemon
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", {marker2!r}])
        os._exit(0)
    for _ in range(200):
        if find({marker!r}) and find({marker2!r}):
            break
        time.sleep(0.01)
    emit(started=[find({marker!r}), find({marker2!r})])
    os._exit(7)
rc = supervise(pid)
emit(rc=rc, after=[find({marker!r}), find({marker2!r})])
"""
    r = run(code, workdir, mode)
    assert all(r["started"]), r
    assert r["rc"] == 7
    assert r["after"] == [[], []]  # dead as soon as supervise() returns
    assert pids_with(marker) == [] and pids_with(marker2) == []


@pytest.mark.parametrize("mode", MODES)
def test_killing_the_supervisor_kills_pid1_and_its_children(workdir, mode):
    marker = f"302.{uuid.uuid4().int % 10**9}"
    code = f"""
report = confine(WORKDIR)
pid = fork_pid1()
if pid == 0:
    subprocess.Popen(["sleep", {marker!r}], start_new_session=True)
    emit(started=True)
    time.sleep(300)
    os._exit(0)
supervise(pid)
"""
    proc = child(code, workdir, mode)
    try:
        pid1 = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("RESULT "):
                break
        for _ in range(200):
            if pids_with(marker):
                break
            time.sleep(0.01)
        assert pids_with(marker), proc.stderr.read() if proc.poll() is not None else ""
        pid1 = host_ppid(pids_with(marker)[0])  # the process that runs the submission
        assert alive(pid1)
        os.kill(proc.pid, signal.SIGKILL)  # the grader's view: the supervisor dies
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (alive(pid1) or pids_with(marker)):
            time.sleep(0.02)
        assert not alive(pid1)
        assert pids_with(marker) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for p in pids_with(marker):
            os.kill(p, signal.SIGKILL)


def test_tensorflow_still_imports_after_confine(workdir):
    """The one slow test (~5-10 s): reading site-packages must survive confinement.

    TensorFlow is imported in the PID-1 child: the process that called unshare(CLONE_NEWPID)
    cannot create threads any more (clone(CLONE_THREAD) fails with EINVAL), so heavy
    libraries must never be imported in the supervisor.
    """
    code = """
report = confine(WORKDIR, disk_mb=64)
pid = fork_pid1()
if pid == 0:
    t = time.monotonic()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["KERAS_HOME"] = os.path.join(WORKDIR, ".keras")
    import tensorflow as tf
    x = tf.reduce_sum(tf.ones((4, 4))).numpy()
    emit(version=tf.__version__, x=float(x), seconds=time.monotonic() - t, uid=os.geteuid())
    os._exit(0)
emit(rc=supervise(pid), report=report)
"""
    t0 = time.monotonic()
    r = run(code, workdir, timeout=120)
    print(f"TensorFlow import inside the sandbox: {r['seconds']:.1f} s "
          f"(whole test {time.monotonic() - t0:.1f} s)")
    assert r["rc"] == 0, r["_stderr"][-3000:]
    assert r["x"] == 16.0
    assert r["uid"] != 0
    assert all(v.startswith("applied") for k, v in r["report"].items() if k != "cgroup"), r["report"]


@pytest.mark.parametrize("mode", MODES)
def test_killing_the_grader_kills_the_whole_sandbox(workdir, mode):
    """PDEATHSIG on the supervisor must survive the uid change (setuid clears it)."""
    marker = f"304.{uuid.uuid4().int % 10**9}"
    code = f"""
report = confine(WORKDIR)
pid = fork_pid1()
if pid == 0:
    subprocess.Popen(["sleep", {marker!r}], start_new_session=True)
    emit(started=True)
    time.sleep(300)
    os._exit(0)
emit(supervisor_started=True)
supervise(pid)
"""
    as_user = mode == "user" and IS_ROOT
    source = PRELUDE.format(repo=str(REPO), workdir=workdir, as_user=as_user) + code
    # a stand-in for the grader: starts the sandbox, passes its output through, never exits
    grader = ("import subprocess, sys, time\n"
              "subprocess.Popen([sys.executable, '-I', '-B', '-c', sys.argv[1]])\n"
              "time.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-I", "-c", grader, source], cwd=workdir,
                            stdout=subprocess.PIPE, text=True)
    try:
        seen = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(seen) < 2:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("RESULT "):
                seen.update(json.loads(line[7:]))
        for _ in range(200):
            if pids_with(marker):
                break
            time.sleep(0.01)
        assert pids_with(marker)
        pid1 = host_ppid(pids_with(marker)[0])
        supervisor = host_ppid(pid1)
        assert alive(pid1) and alive(supervisor)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
                alive(supervisor) or alive(pid1) or pids_with(marker)):
            time.sleep(0.02)
        assert not alive(supervisor)
        assert not alive(pid1)
        assert pids_with(marker) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for p in pids_with(marker):
            os.kill(p, signal.SIGKILL)
