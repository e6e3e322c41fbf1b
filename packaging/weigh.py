"""What each big part of a built app folder weighs: `python packaging/weigh.py dist/mlm-workbench`.

Parts are matched by the first pattern that fits a file's path inside the folder; the table is what
packaging/README.md reports, so a change in the bundle's make-up shows up in one line of it.
"""

from __future__ import annotations

import argparse
from fnmatch import fnmatch
from pathlib import Path

MB = 1024 * 1024

# (part, patterns), first match wins
PARTS = [
    ("torch: libtorch_cpu (the CPU kernels)", ["_internal/torch/lib/libtorch_cpu.so*"]),
    ("torch: other native libraries", ["_internal/torch/lib/*", "_internal/torch/*.so*", "_internal/libgomp*"]),
    ("torch: Python sources", ["_internal/torch/*", "_internal/torchgen/*", "_internal/functorch/*"]),
    ("Qt: libraries", ["_internal/PySide6/Qt/lib/*"]),
    ("Qt: plugins", ["_internal/PySide6/Qt/plugins/*"]),
    ("Qt: PySide6 and shiboken bindings", ["_internal/PySide6/*", "_internal/shiboken6/*"]),
    ("numpy (and its OpenBLAS)", ["_internal/numpy/*", "_internal/numpy.libs/*"]),
    ("sympy, networkx (torch's symbolic shapes)", ["_internal/sympy/*", "_internal/mpmath/*",
                                                   "_internal/networkx/*"]),
    ("tokenizers, safetensors", ["_internal/tokenizers/*", "_internal/safetensors/*"]),
    ("resources/ (sample data, demo model, icons)", ["_internal/resources/*"]),
    ("Python: interpreter and standard library", ["_internal/libpython*", "_internal/base_library.zip",
                                                  "_internal/python3*/*", "_internal/lib-dynload/*"]),
    ("the app's executables (with the bytecode archive)", ["mlm-workbench*", "MLM Workbench*"]),
]


def weigh(folder: Path) -> list[tuple[str, int]]:
    """(part, bytes) for each part with files, biggest first, then "everything else"."""
    totals: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        part = next((name for name, patterns in PARTS if any(fnmatch(relative, p) for p in patterns)),
                    "everything else")
        totals[part] = totals.get(part, 0) + path.stat().st_size
    rest = totals.pop("everything else", 0)
    return sorted(totals.items(), key=lambda item: -item[1]) + [("everything else", rest)]


def table(folder: Path) -> str:
    rows = weigh(folder)
    lines = ["| part | MB |", "| --- | ---: |"]
    lines += [f"| {name} | {size / MB:.0f} |" for name, size in rows]
    lines.append(f"| **the folder** | **{sum(size for _, size in rows) / MB:.0f}** |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    print(table(parser.parse_args().folder))


if __name__ == "__main__":
    main()
