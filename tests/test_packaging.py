"""What can be checked of the packaged app without building it (the build itself: packaging/smoke.sh).

The launcher, the icons, the spec's inputs, the list of what the build leaves out, and the frozen entry point's
first statement. Fast: no PyInstaller, no torch, no display.
"""

from __future__ import annotations

import ast
import configparser
import hashlib
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DESKTOP_FILE = PACKAGING / "linux" / "mlm-workbench.desktop"
ICONS = ROOT / "resources" / "icons"


def load(name: str) -> ModuleType:
    """A module of packaging/ (not a package: the build runs its files as scripts)."""
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def desktop_entry() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR's width and height


def test_the_launcher_runs_the_cli_entry_point_with_the_shipped_icon() -> None:
    entry = desktop_entry()["Desktop Entry"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"] in scripts  # the executable the build names after the entry point
    assert entry["Icon"] == "mlm-workbench" and (ICONS / f"{entry['Icon']}-256.png").is_file()
    assert entry["Categories"].endswith(";") and "Education" in entry["Categories"].split(";")


def test_the_launchers_quick_start_action_is_an_option_the_app_accepts() -> None:
    from workbench.cli.main import build_parser

    entry = desktop_entry()
    actions = [name for name in entry["Desktop Entry"]["Actions"].split(";") if name]
    assert actions == ["quick-start"]
    program, *options = entry["Desktop Action quick-start"]["Exec"].split()
    assert program == entry["Desktop Entry"]["Exec"]
    assert build_parser().parse_args(options).quick_start is True


def test_quick_start_with_a_command_is_refused_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "workbench", "--quick-start", "runs", "list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--quick-start opens the window" in result.stderr


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_the_launcher_passes_desktop_file_validate() -> None:
    result = subprocess.run(["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True)
    problems = [line for line in result.stdout.splitlines() if "error:" in line or "warning:" in line]
    assert result.returncode == 0 and problems == []


def test_the_icons_are_there_at_every_size_and_are_what_the_generator_draws() -> None:
    from PySide6.QtGui import QImage

    make_icons = load("make_icons")
    drawn = make_icons.icon_files()
    for size in (16, 32, 48, 64, 128, 256):
        shipped = (ICONS / f"mlm-workbench-{size}.png").read_bytes()
        assert png_size(shipped) == (size, size)
        # pixels, not bytes: another Qt may compress the same picture differently
        assert QImage.fromData(shipped) == QImage.fromData(drawn[f"mlm-workbench-{size}.png"]), size
    shipped_pngs = {size: (ICONS / f"mlm-workbench-{size}.png").read_bytes() for size in make_icons.SIZES}
    assert (ICONS / "mlm-workbench.ico").read_bytes() == make_icons.ico_bytes(shipped_pngs)
    assert (ICONS / "mlm-workbench.icns").read_bytes() == make_icons.icns_bytes(shipped_pngs)


def test_the_window_uses_every_icon_size() -> None:
    from workbench.gui.app import ICON_SIZES, app_icon_files

    assert [path.name for path in app_icon_files()] == [f"mlm-workbench-{size}.png" for size in ICON_SIZES]


def run_spec() -> SimpleNamespace:
    """Execute the spec with PyInstaller's build steps replaced by recorders: what the build is given."""
    recorded = SimpleNamespace(executables=[])

    def analysis(scripts, **options):
        recorded.scripts, recorded.options = scripts, options
        return SimpleNamespace(binaries=[], datas=[], pure=[], scripts=scripts)

    def executable(*_, **options):
        recorded.executables.append(options)

    hooks = ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda package, **options: [("collected-data", package)]
    hooks.collect_submodules = lambda package: [f"all-of:{package}"]
    names = {"Analysis": analysis, "PYZ": lambda *_: None, "EXE": executable, "COLLECT": lambda *_, **__: None,
             "BUNDLE": lambda *_, **__: None, "SPECPATH": str(PACKAGING), "__file__": "spec"}
    saved = {name: sys.modules.get(name) for name in ("PyInstaller", "PyInstaller.utils", "PyInstaller.utils.hooks")}
    sys.modules.update({"PyInstaller": ModuleType("PyInstaller"), "PyInstaller.utils": ModuleType("u"),
                        "PyInstaller.utils.hooks": hooks})
    try:
        exec(compile((PACKAGING / "mlm-workbench.spec").read_text(), "mlm-workbench.spec", "exec"), names)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return recorded


def test_the_spec_builds_the_package_entry_point_with_all_of_resources() -> None:
    spec = run_spec()
    assert spec.scripts == [str(ROOT / "workbench" / "__main__.py")]
    assert (str(ROOT / "resources"), "resources") in spec.options["datas"]  # the whole folder, whatever is in it
    assert ("collected-data", "workbench.store") in spec.options["datas"]  # the migrations alembic reads
    assert "all-of:workbench" in spec.options["hiddenimports"]  # panels are imported by name
    assert spec.options["excludes"] == load("trim").EXCLUDED_MODULES
    assert [options["name"] for options in spec.executables] == ["mlm-workbench"]  # on Linux


def test_freeze_support_is_the_frozen_entry_points_first_statement() -> None:
    tree = ast.parse((ROOT / "workbench" / "__main__.py").read_text())
    guards = [node for node in tree.body if isinstance(node, ast.If)]
    assert len(guards) == 1 and ast.unparse(guards[0].test) == "__name__ == '__main__'"
    assert ast.unparse(guards[0].body[0]) == "multiprocessing.freeze_support()"
    before = tree.body[:tree.body.index(guards[0])]  # nothing but the docstring and imports runs earlier
    assert all(isinstance(node, (ast.Import, ast.ImportFrom)) or isinstance(getattr(node, "value", None),
               ast.Constant) for node in before)


def test_the_entry_point_in_source_form_is_unchanged() -> None:
    from workbench import __version__

    result = subprocess.run([sys.executable, "-m", "workbench", "--version"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"mlm-workbench {__version__}"


def test_what_the_build_drops_is_never_what_the_app_loads() -> None:
    trim = load("trim")
    for dropped in ("torch/lib/libtorchbind_test.so", "torch/include/ATen/ATen.h", "torch/lib/libtorch_cuda.so",
                    "nvidia/cudnn/lib/libcudnn.so.9", "PySide6/Qt/translations/qtbase_de.qm"):
        assert not trim.keep(dropped), dropped
    for kept in ("torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch/cuda/__init__.py",
                 "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/plugins/platforms/libqxcb.so",
                 "PySide6/Qt/lib/libQt6Widgets.so.6", "resources/sample_corpus.txt", "resources/icons/x.png"):
        assert trim.keep(kept), kept


def imported_modules(package: Path) -> set[str]:
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def test_no_module_the_build_excludes_is_imported_by_the_app() -> None:
    excluded = load("trim").EXCLUDED_MODULES
    imported = imported_modules(ROOT / "workbench")
    optional = {"onnx", "onnxruntime", "onnxscript"}  # imported only by `export --format onnx`, which says
    # what to install when they are missing; the frozen app exports to Hugging Face folders
    clashes = {name for name in imported for gone in excluded
               if (name == gone or name.startswith(gone + ".")) and name.split(".")[0] not in optional}
    assert clashes == set()


def test_the_packaged_app_refuses_nproc_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.cli.launch import launch
    from workbench.jobs.errors import UserError

    monkeypatch.setattr(sys, "frozen", True, raising=False)  # what PyInstaller's bootloader sets
    with pytest.raises(UserError, match="--nproc needs the workbench installed with pip"):
        launch(["train", "--nproc", "2"], 2, None)


def test_the_size_report_counts_every_file_once_in_its_part(tmp_path: Path) -> None:
    files = {"_internal/torch/lib/libtorch_cpu.so": 300, "_internal/torch/lib/libc10.so": 20,
             "_internal/PySide6/Qt/lib/libQt6Core.so.6": 50, "_internal/resources/sample_corpus.txt": 4,
             "_internal/libcrypto.so.3": 7}
    for name, size in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * size)
    (tmp_path / "_internal" / "link.so").symlink_to(tmp_path / "_internal" / "libcrypto.so.3")  # not twice
    parts = dict(load("weigh").weigh(tmp_path))
    assert parts["torch: libtorch_cpu (the CPU kernels)"] == 300
    assert parts["torch: other native libraries"] == 20 and parts["Qt: libraries"] == 50
    assert parts["resources/ (sample data, demo model, icons)"] == 4 and parts["everything else"] == 7
    assert sum(parts.values()) == sum(files.values())


def test_the_packaged_app_says_what_to_do_instead_of_pip_for_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.core.onnx_export import OnnxExportError, require_onnx

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what the packaged app finds: it is not bundled
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(OnnxExportError, match=r"needs onnxruntime: the packaged app leaves them out; export with "
                                              r"--format hf"):
        require_onnx()


def runtime_like(tmp_path: Path, sig_key: bytes = bytes(8192), magic: bytes = b"AI\x02") -> Path:
    """A real ELF program (a copy of `true`) with the sections a type 2 runtime has, and the magic at offset 8:
    what packaging/appimage.py reads of a runtime, without building one."""
    parts = {".digest_md5": bytes(16), ".upd_info": bytes(1024), ".sha256_sig": bytes(1024), ".sig_key": sig_key}
    options = []
    for name, content in parts.items():
        (tmp_path / name).write_bytes(content)
        options += ["--add-section", f"{name}={tmp_path / name}"]
    runtime = tmp_path / "runtime"
    subprocess.run(["objcopy", *options, shutil.which("true"), str(runtime)], check=True)
    with runtime.open("r+b") as file:
        file.seek(8)
        file.write(magic)
    return runtime


needs_objcopy = pytest.mark.skipif(shutil.which("objcopy") is None, reason="binutils (objcopy) not installed")


@needs_objcopy
def test_the_appimage_is_the_runtime_then_the_image_with_the_digest_appimagetool_writes(tmp_path: Path) -> None:
    appimage = load("appimage")
    runtime = runtime_like(tmp_path)
    image = tmp_path / "app.squashfs"
    image.write_bytes(b"hsqs" + os.urandom(10_000))  # a size that is no multiple of 4 KiB, as real ones are
    out = tmp_path / "App.AppImage"
    appimage.assemble(runtime, image, out)

    data, head = out.read_bytes(), runtime.read_bytes()
    digest_at, _ = appimage.elf_sections(head)[".digest_md5"]
    assert data[len(head):] == image.read_bytes()  # the image starts where the runtime's ELF ends
    assert data[:digest_at] + data[digest_at + 16:len(head)] == head[:digest_at] + head[digest_at + 16:]
    unsigned = data[:digest_at] + bytes(16) + data[digest_at + 16:]  # the sections it skips are zeros here
    assert data[digest_at:digest_at + 16] == hashlib.md5(unsigned + bytes(-len(data) % 4096)).digest()
    assert out.stat().st_mode & 0o111  # executable
    assert subprocess.run([str(out)]).returncode == 0  # still the program it was (`true`)


@needs_objcopy
def test_the_digest_leaves_out_the_signature_key(tmp_path: Path) -> None:
    appimage = load("appimage")
    image = tmp_path / "app.squashfs"
    image.write_bytes(b"hsqs" + bytes(5000))
    digests = []
    for key in (bytes(8192), b"k" * 8192):
        (tmp_path / "build").mkdir(exist_ok=True)
        runtime = runtime_like(tmp_path / "build", sig_key=key)
        appimage.assemble(runtime, image, tmp_path / "App.AppImage")
        offset, _ = appimage.elf_sections(runtime.read_bytes())[".digest_md5"]
        digests.append((tmp_path / "App.AppImage").read_bytes()[offset:offset + 16])
    assert digests[0] == digests[1]


@needs_objcopy
def test_what_is_not_a_type_2_runtime_and_squashfs_image_is_refused(tmp_path: Path) -> None:
    appimage = load("appimage")
    image = tmp_path / "app.squashfs"
    image.write_bytes(b"hsqs" + bytes(100))
    out = tmp_path / "App.AppImage"
    with pytest.raises(appimage.AppImageError, match="no AppImage type 2 magic"):
        appimage.assemble(runtime_like(tmp_path, magic=b"\0\0\0"), image, out)
    program = Path(shutil.which("true")).read_bytes()
    plain = tmp_path / "plain"
    plain.write_bytes(program[:8] + b"AI\x02" + program[11:])  # the magic, but none of the sections
    with pytest.raises(appimage.AppImageError, match=r"no \.digest_md5, \.sha256_sig, \.sig_key, \.upd_info"):
        appimage.assemble(plain, image, out)
    with pytest.raises(appimage.AppImageError, match="not a squashfs"):
        appimage.assemble(runtime_like(tmp_path), tmp_path / "runtime", out)


RUNTIME = Path(os.environ.get("APPIMAGE_RUNTIME", ROOT / "build" / "packaging" / "runtime" / "runtime-x86_64"))


@pytest.mark.skipif(not RUNTIME.is_file() or shutil.which("mksquashfs") is None,
                    reason="no AppImage runtime built here (packaging/linux/build_runtime.sh) or no mksquashfs")
def test_make_appimage_makes_one_that_runs_the_folders_program_with_its_arguments(tmp_path: Path) -> None:
    folder = tmp_path / "mlm-workbench"  # a stand-in for the PyInstaller folder: a program that answers
    folder.mkdir()
    (folder / "mlm-workbench").write_text('#!/bin/sh\necho "in the AppImage: $*"\n')
    (folder / "mlm-workbench").chmod(0o755)
    out = tmp_path / "App.AppImage"
    subprocess.run([str(PACKAGING / "linux" / "make_appimage.sh"), str(folder), str(out)], check=True,
                   capture_output=True, timeout=300)
    # extract-and-run: the same on any machine, FUSE or not
    run = subprocess.run([str(out), "train", "--preset", "tiny"], env={**os.environ, "APPIMAGE_EXTRACT_AND_RUN": "1"},
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.strip() == "in the AppImage: train --preset tiny"
    subprocess.run([str(out), "--appimage-extract"], cwd=tmp_path, capture_output=True, check=True, timeout=300)
    root = tmp_path / "squashfs-root"
    assert (root / "mlm-workbench.desktop").is_file() and (root / "mlm-workbench.png").is_file()
    assert (root / ".DirIcon").read_bytes() == (ICONS / "mlm-workbench-256.png").read_bytes()
