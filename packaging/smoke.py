"""Checks a built app folder does what a user needs, with no network: `python3 packaging/smoke.py [APP]`.

`python3 packaging/smoke.py --appimage FILE.AppImage` checks the AppImage instead: it is a type 2 AppImage,
`--version` answers from it as a user starts it (mounted with FUSE; where FUSE cannot mount, as in some
containers, through the runtime's own extract-and-run, and it says which), and then everything below runs on
the app inside it, started through its AppRun: mounted (`--appimage-mount`) where FUSE works, else unpacked
(`--appimage-extract`).

Standard library only (it runs with any python3, outside the app). Everything runs in a fresh home under a
fresh $HOME, so the app's default home (the platform's user-data folder) is what gets used, and, where the
kernel allows it, in a network namespace of its own (`unshare -rn`): no interface but a downed loopback, and
every socket listed in that namespace's /proc/net tables is one of the app's own.

What must hold (issue 18):
- `--version` prints the version;
- the CLI trains `tiny` for 20 steps, `probe` answers and `export --format hf` writes a folder, into
  ~/.local/share/mlm-workbench;
- the window (offscreen) is painted in under 3 s and, started with --quick-start, trains in its child process:
  the process tree is one window process and one trainer (and multiprocessing's resource tracker);
- no process of the app opens a socket, in any of these sessions: the CLI's runs under `strace -f` where it
  works, which logs every socket() call of every process; in all of them, and for the window, the processes'
  open files are watched every 0.1 s and the namespace's tables (which keep a closed TCP connection for a
  minute) are read too.

The environment is a desktop login's: HOME, USER and LOGNAME set (without USER, torch's import asks glibc's
password database for the user name, which first tries nscd's local socket), no display (offscreen).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAINT_LIMIT_S = 3.0
NET_TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet")
TRAINER_MARK = "--multiprocessing-fork"  # how a spawned child is started in a frozen app
TRACKER_MARK = "resource_tracker"


def version() -> str:
    return re.search(r'__version__ = "(.+)"', (ROOT / "workbench" / "__init__.py").read_text()).group(1)


def isolated_prefix() -> list[str]:
    """`unshare -rn` when this kernel lets an unprivileged user make a network namespace, else nothing."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return []


def strace_prefix(log: Path) -> list[str]:
    """`strace -f` logging socket() calls into `log`, when strace is installed and may trace here, else nothing."""
    command = ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=socket", "-o", str(log)]
    if shutil.which("strace") and subprocess.run([*command, "true"], capture_output=True).returncode == 0:
        return command
    return []


def tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
            todo += children.get(pid, [])
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _net_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


HOST_NAMESPACE = _net_namespace("self")


class SocketWatch:
    """Samples the sockets of a process tree every 0.1 s until stopped; `found` lists what it saw."""

    def __init__(self, root: int, isolated: bool) -> None:
        self.root, self.isolated, self.found = root, isolated, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> set[str]:
        self._stop.set()
        self._thread.join()
        return self.found

    def _watch(self) -> None:
        while not self._stop.is_set():
            for pid in tree(self.root):
                self._look(pid)
            self._stop.wait(0.1)

    def _look(self, pid: int) -> None:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            return
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:"):
                self.found.add(f"pid {pid} ({cmdline(pid)[:60]}) holds {target}")
        if self.isolated and _net_namespace(pid) not in (None, HOST_NAMESPACE):
            # a process in the app's own namespace (not strace or unshare before it enters one): every entry of
            # that namespace's tables is the app's
            for table in NET_TABLES:
                try:
                    rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
                except OSError:
                    continue
                self.found.update(f"/proc/net/{table}: {row.split()[:4]}" for row in rows)


class Smoke:
    def __init__(self, app: Path, appimage: Path | None = None) -> None:
        self.app, self.appimage = app, appimage.resolve() if appimage else None  # it is run from the scratch folder
        self.scratch = Path(tempfile.mkdtemp(prefix="mlmwb-smoke-"))
        self.user_home = self.scratch / "user"
        self.user_home.mkdir()
        self.data_home = self.user_home / ".local" / "share" / "mlm-workbench"  # platformdirs on Linux
        self.prefix = isolated_prefix()
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("MLM_WORKBENCH", "XDG_", "DISPLAY", "WAYLAND", "DBUS_"))}
        user = pwd.getpwuid(os.getuid()).pw_name
        self.env.update(HOME=str(self.user_home), USER=user, LOGNAME=user, QT_QPA_PLATFORM="offscreen")
        self.strace_log = self.scratch / "strace.log"
        self.strace = strace_prefix(self.strace_log)
        self.failures: list[str] = []
        self.sockets: set[str] = set()
        self.mount: subprocess.Popen | None = None  # `APPIMAGE --appimage-mount`, while the AppImage is mounted

    def check(self, ok: bool, what: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.failures.append(what)

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run the frozen CLI with its sockets watched; stdout is captured, stderr goes to the log."""
        process = subprocess.Popen([*self.strace, *self.prefix, str(self.app), *args], env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch = SocketWatch(process.pid, bool(self.prefix))
        out, err = process.communicate(timeout=timeout)
        self.sockets |= watch.stop()
        if self.strace:
            self.sockets.update(f"`{' '.join(args)[:40]}`: {line}" for line in self.strace_log.read_text().splitlines()
                                if "socket(" in line)
        if process.returncode:
            print(f"  `{' '.join(args)}` exited {process.returncode}:\n{err[-2000:]}", flush=True)
        return subprocess.CompletedProcess(args, process.returncode, out, err)

    def run(self) -> int:
        try:
            if self.appimage is not None and not self.open_appimage():
                return 1
            print(f"smoke test of {self.app}; network namespace of its own: {'yes' if self.prefix else 'no'}; "
                  f"the CLI's socket() calls traced: {'yes' if self.strace else 'no (no strace)'}")
            self.version()
            self.cli_session()
            self.gui_session()
            self.check(not self.sockets, "no socket opened in any session" +
                       "".join(f"\n     {line}" for line in sorted(self.sockets)))
        finally:
            if self.mount is not None:  # ending `--appimage-mount` unmounts the AppImage
                self.mount.terminate()
                self.mount.wait()
            shutil.rmtree(self.scratch, ignore_errors=True)
        print(f"\n{len(self.failures)} check(s) failed" if self.failures else "\nall checks passed")
        return 1 if self.failures else 0

    def open_appimage(self) -> bool:
        """Check the AppImage file as a user starts it, then point the rest of the smoke test at the app inside
        it: mounted with FUSE (`--appimage-mount`, kept mounted until the end), as a desktop runs it, or unpacked
        (`--appimage-extract`) where FUSE cannot mount. Not the AppImage file itself: in the smoke test's network
        namespace FUSE cannot mount."""
        print(f"AppImage {self.appimage} ({self.appimage.stat().st_size / 1e6:.0f} MB)")
        self.check(self.appimage.read_bytes()[8:11] == b"AI\x02", "it is a type 2 AppImage (AI 2 at offset 8)")
        started = time.monotonic()
        run = subprocess.run([str(self.appimage), "--version"], env=self.env, capture_output=True, text=True,
                             timeout=600)
        mounts = "Cannot mount AppImage" not in run.stdout + run.stderr  # the runtime prints it on stdout
        how = "mounted with FUSE"
        if not mounts:
            how = "FUSE cannot mount here, so through APPIMAGE_EXTRACT_AND_RUN=1"
            started = time.monotonic()
            run = subprocess.run([str(self.appimage), "--version"], env={**self.env, "APPIMAGE_EXTRACT_AND_RUN": "1"},
                                 capture_output=True, text=True, timeout=600)
        self.check(run.stdout.strip() == f"mlm-workbench {version()}",
                   f"the AppImage's --version prints the version ({how}, {time.monotonic() - started:.1f} s: "
                   f"{run.stdout.strip()[-300:] or run.stderr.strip()[-300:]!r})")
        if mounts:
            self.mount = subprocess.Popen([str(self.appimage), "--appimage-mount"], env=self.env,
                                          stdout=subprocess.PIPE, text=True)
            self.app = Path(self.mount.stdout.readline().strip()) / "AppRun"
        else:
            subprocess.run([str(self.appimage), "--appimage-extract"], cwd=self.scratch, env=self.env,
                           stdout=subprocess.DEVNULL, check=True, timeout=600)
            self.app = self.scratch / "squashfs-root" / "AppRun"
        self.check(self.app.is_file(), f"{'mounted' if mounts else 'unpacked'}, it holds its AppRun ({self.app})")
        return not self.failures

    def version(self) -> None:
        out = self.cli("--version").stdout.strip()
        self.check(out == f"mlm-workbench {version()}", f"--version prints the version ({out!r})")

    def cli_session(self) -> None:
        started = time.monotonic()
        train = self.cli("train", "--preset", "tiny", "--steps", "20", "--max-len", "64", "--name", "smoke", "--json")
        result = json.loads(train.stdout) if train.returncode == 0 else {}
        self.check(result.get("status") == "completed" and result.get("steps") == 20,
                   f"the CLI trains tiny for 20 steps ({time.monotonic() - started:.0f} s, "
                   f"val loss {result.get('val_loss')})")
        probe = self.cli("probe", "smoke", "the cow says [MASK] .", "--top-k", "3", "--json")
        answers = json.loads(probe.stdout)["masks"][0]["predictions"] if probe.returncode == 0 else []
        self.check(len(answers) == 3, f"probe answers ({[answer['token'] for answer in answers]})")
        out = self.scratch / "export"
        export = self.cli("export", "smoke", "--format", "hf", "--out", str(out), "--json")
        self.check(export.returncode == 0 and (out / "model.safetensors").is_file(),
                   "export --format hf writes model.safetensors")
        self.check((self.data_home / "workbench.db").is_file(),
                   f"the home is the user-data folder ({self.data_home})")

    def gui_session(self) -> None:
        log = self.data_home / "workbench.log"
        seen = log.stat().st_size if log.exists() else 0
        started = time.monotonic()
        window = subprocess.Popen([*self.prefix, str(self.app), "--quick-start"], env=self.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        watch = SocketWatch(window.pid, bool(self.prefix))
        try:
            painted = self.wait_for(lambda: log.exists() and "window painted" in log.read_text()[seen:], 60)
            self.check(painted is not None and painted - started < PAINT_LIMIT_S,
                       f"the window is painted in under {PAINT_LIMIT_S:.0f} s "
                       f"({'never' if painted is None else f'{painted - started:.2f} s'})")
            trained = self.wait_for(lambda: self.quick_start_steps() > 0, 600, every=2.0)
            self.check(trained is not None, "Quick start trains in the window's child process (" +
                       ("no step recorded" if trained is None else f"steps recorded {trained - started:.0f} s after "
                        "the start") + ")")
            self.check_processes(window.pid)
        finally:
            self.sockets |= watch.stop()
            for pid in tree(window.pid):  # the trainer is the window's child: end both
                os.kill(pid, signal.SIGKILL)
            window.wait()

    def quick_start_steps(self) -> int:
        listed = self.cli("runs", "list", "--json", timeout=120)
        runs = json.loads(listed.stdout) if listed.returncode == 0 else []
        return max((run["last_step"] or 0 for run in runs if run["name"] != "smoke"), default=0)

    def check_processes(self, root: int) -> None:
        processes = {pid: cmdline(pid) for pid in tree(root)}
        trainers = [pid for pid, line in processes.items() if TRAINER_MARK in line]
        windows = [pid for pid, line in processes.items() if TRAINER_MARK not in line and TRACKER_MARK not in line]
        listing = "".join(f"\n     {pid}: {line[:100]}" for pid, line in processes.items())
        self.check(windows == [root] and len(trainers) == 1,
                   f"one window process and one trainer ({len(windows)} and {len(trainers)}){listing}")

    @staticmethod
    def wait_for(condition, timeout: float, every: float = 0.05) -> float | None:
        """The monotonic time at which `condition()` first held (asked `every` seconds), or None after
        `timeout` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return time.monotonic()
            time.sleep(every)
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", type=Path, default=ROOT / "dist" / "mlm-workbench" / "mlm-workbench")
    parser.add_argument("--appimage", type=Path, help="check this AppImage, and the app it unpacks, instead")
    args = parser.parse_args()
    return Smoke(args.app, args.appimage).run()


if __name__ == "__main__":
    sys.exit(main())
