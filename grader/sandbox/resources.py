"""What a sandbox may use, counted the way the kernel counts it.

A per-sandbox control group (cgroup v2 where it is delegated to us, else the v1 ``memory`` and
``pids`` hierarchies, which root can write) charges every page the submission holds (anonymous
memory, memfd, shared memory, files in its tmpfs) and every task it starts, and the kernel
enforces both limits. Where no cgroup is writable (an unprivileged grader without delegation,
macOS), ``Usage`` measures the process tree with psutil, adds the memfd and deleted files its
processes keep open, counts tasks, and the supervisor stops the run when either goes over.
Runs in the trusted grader; stdlib and psutil only.
"""

from __future__ import annotations

import os
import signal
import uuid
from dataclasses import dataclass

_ROOT = "/sys/fs/cgroup"


@dataclass
class Usage:
    memory_mb: float = 0.0
    tasks: int = 0


def _own_paths() -> dict[str, str]:
    """controller (or "" for the v2 unified hierarchy) -> our cgroup path, from /proc/self/cgroup."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(",") if controllers else [""]:
                    paths[controller] = path
    except (OSError, ValueError):
        pass
    return paths


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _read_int(path: str) -> int:
    with open(path) as handle:
        return int(handle.read().split()[0])


class Cgroup:
    """One sandbox's control group(s). ``create`` returns None where none can be made."""

    def __init__(self, version: int, dirs: dict[str, str]):
        self.version = version
        self.dirs = dirs  # controller -> directory ("memory", "pids"; both the same dir in v2)

    @classmethod
    def create(cls, memory_mb: int, max_tasks: int) -> "Cgroup | None":
        """A new group with these limits; None where none can be made (or GRADER_NO_CGROUP=1
        asks for the polling fallback, which the tests exercise on machines that have both)."""
        if not os.path.isdir(_ROOT) or os.environ.get("GRADER_NO_CGROUP") == "1":
            return None
        name = f"grader-{uuid.uuid4().hex[:12]}"
        own = _own_paths()
        made: list[str] = []
        try:
            unified = os.path.join(_ROOT, own.get("", "/").lstrip("/"))
            try:
                with open(os.path.join(unified, "cgroup.subtree_control")) as handle:
                    delegated = set(handle.read().split())
            except OSError:
                delegated = set()
            if {"memory", "pids"} <= delegated:
                directory = os.path.join(unified, name)
                os.mkdir(directory)
                made.append(directory)
                _write(os.path.join(directory, "memory.max"), str(memory_mb << 20))
                _write(os.path.join(directory, "memory.swap.max"), "0")
                _write(os.path.join(directory, "pids.max"), str(max_tasks))
                return cls(2, {"memory": directory, "pids": directory})
            dirs = {}
            for controller in ("memory", "pids"):
                base = os.path.join(_ROOT, controller)
                if controller not in own or not os.path.isdir(base):
                    raise OSError(f"no v1 {controller} hierarchy")
                directory = os.path.join(base, own[controller].lstrip("/"), name)
                os.mkdir(directory)
                made.append(directory)
                dirs[controller] = directory
            _write(os.path.join(dirs["memory"], "memory.limit_in_bytes"), str(memory_mb << 20))
            try:
                _write(os.path.join(dirs["memory"], "memory.memsw.limit_in_bytes"),
                       str(memory_mb << 20))
            except OSError:
                pass  # no swap accounting: there is no swap to escape to either
            _write(os.path.join(dirs["pids"], "pids.max"), str(max_tasks))
            return cls(1, dirs)
        except (OSError, ValueError):
            for directory in reversed(made):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            return None

    def procs_files(self) -> list[str]:
        """Files a process writes its pid into to join (the probe does it before it forks)."""
        return sorted({os.path.join(d, "cgroup.procs") for d in self.dirs.values()})

    def usage(self) -> Usage:
        memory = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            peak = _read_int(os.path.join(self.dirs["memory"], memory))
        except (OSError, ValueError):
            peak = 0
        try:
            tasks = _read_int(os.path.join(self.dirs["pids"], "pids.current"))
        except (OSError, ValueError):
            tasks = 0
        return Usage(peak / 2**20, tasks)

    def memory_killed(self) -> bool:
        """Did the kernel kill a task of this group for going over the memory limit?"""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            with open(os.path.join(self.dirs["memory"], name)) as handle:
                fields = dict(line.split() for line in handle if len(line.split()) == 2)
            if int(fields.get("oom_kill", 0)) > 0:
                return True
            if self.version == 1:
                return _read_int(os.path.join(self.dirs["memory"], "memory.failcnt")) > 0 and \
                    int(fields.get("under_oom", 0)) > 0
        except (OSError, ValueError):
            pass
        return False

    def tasks_refused(self) -> bool:
        """Did the group refuse a fork for going over ``pids.max``?"""
        try:
            if self.version == 2:
                with open(os.path.join(self.dirs["pids"], "pids.events")) as handle:
                    return any(line.split()[1] != "0" for line in handle if line.startswith("max"))
            return False  # v1 has no counter; the supervisor watches pids.current instead
        except (OSError, IndexError):
            return False

    def kill_all(self) -> None:
        for directory in set(self.dirs.values()):
            if self.version == 2:
                try:
                    _write(os.path.join(directory, "cgroup.kill"), "1")
                    continue
                except OSError:
                    pass
            try:
                with open(os.path.join(directory, "cgroup.procs")) as handle:
                    pids = [int(line) for line in handle if line.strip()]
            except (OSError, ValueError):
                continue
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def remove(self) -> None:
        """Kill what is left and remove the group (retried briefly while tasks exit)."""
        import time

        self.kill_all()
        for directory in set(self.dirs.values()):
            for _ in range(50):
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def tree_usage(root_pid: int) -> tuple[Usage, set[int]]:
    """Memory and tasks of ``root_pid`` and its descendants, measured without a cgroup.

    Memory is resident memory (anonymous, file and shared pages mapped) plus the size of memfd
    and deleted files the processes keep open without mapping them.
    """
    import psutil

    try:
        root = psutil.Process(root_pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return Usage(), set()
    total, tasks, pids, seen_files = 0, 0, set(), set()
    for process in processes:
        try:
            with process.oneshot():
                total += process.memory_info().rss
                tasks += process.num_threads()
            pids.add(process.pid)
        except psutil.Error:
            continue
        total += _unmapped_files(process.pid, seen_files)
    return Usage(total / 2**20, tasks), pids


def _unmapped_files(pid: int, seen: set) -> int:
    """Bytes held in memfd or deleted files open in ``pid`` (each file counted once)."""
    total = 0
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for name in names:
        path = f"/proc/{pid}/fd/{name}"
        try:
            target = os.readlink(path)
            if not (target.startswith("/memfd:") or target.endswith("(deleted)")):
                continue
            info = os.stat(path)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total
