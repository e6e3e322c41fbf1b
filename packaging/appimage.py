"""Makes a type 2 AppImage from a runtime and a squashfs image, as appimagetool does, without appimagetool.

    python3 packaging/appimage.py RUNTIME SQUASHFS OUT

A type 2 AppImage is the runtime (an ELF program with the magic bytes "AI" 2 at offset 8) followed by a
squashfs image of the AppDir; the runtime finds the image at the end of its own ELF section headers. Besides
the concatenation, appimagetool writes the update information into the runtime's `.upd_info` section (only when
given one: this app has no update channel, so it stays empty, as does the `.sha256_sig` signature of an
unsigned AppImage) and always writes an MD5 digest into `.digest_md5`: that of the whole file in 4 KiB chunks
with the `.digest_md5`, `.sha256_sig` and `.sig_key` sections read as zeros, which is what this writes too
(appimagetool's loop leaves those bytes, and the last chunk's tail, to an uninitialised buffer: zeros are what
it means).
Standard library only: packaging/linux/make_appimage.sh runs it with python3, and tests/test_packaging.py
without a build.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import struct
import sys
from pathlib import Path
from typing import BinaryIO

MAGIC = b"AI\x02"  # at offset 8 of the ELF header (its padding): "this is a type 2 AppImage"
ELF_MAGIC = b"\x7fELF"
DIGEST = ".digest_md5"
DIGEST_SKIPS = (DIGEST, ".sha256_sig", ".sig_key")  # what appimagetool's digest reads as zeros
CHUNK = 4096  # appimagetool digests in 4 KiB chunks, the last one padded with zeros


class AppImageError(Exception):
    """The runtime or the image is not what a type 2 AppImage is made of; the message says what."""


def elf_sections(data: bytes) -> dict[str, tuple[int, int]]:
    """The sections of a 64-bit little-endian ELF file: name -> (offset in the file, size)."""
    if data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        raise AppImageError("the runtime is not a 64-bit little-endian ELF program")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * entry_size) for i in range(count)]
    names_offset = headers[names_index][4]

    def name(offset: int) -> str:
        start = names_offset + offset
        return data[start:data.index(b"\0", start)].decode()

    return {name(header[0]): (header[4], header[5]) for header in headers}


def elf_end(data: bytes) -> int:
    """Where the runtime reads the squashfs image from: the end of its section header table."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    return shoff + entry_size * count


def zeroed(runtime: bytes, sections: dict[str, tuple[int, int]]) -> bytearray:
    """The runtime with the sections appimagetool's digest skips read as zeros."""
    copy = bytearray(runtime)
    for section in DIGEST_SKIPS:
        offset, size = sections[section]
        copy[offset:offset + size] = bytes(size)
    return copy


def digest_md5(head: bytes, image: BinaryIO) -> bytes:
    """MD5 of `head` (the zeroed runtime) then all of `image`, zero-padded to whole 4 KiB chunks."""
    md5, length = hashlib.md5(head), len(head)
    while block := image.read(1 << 20):
        md5.update(block)
        length += len(block)
    md5.update(bytes(-length % CHUNK))
    return md5.digest()


def check_runtime(runtime: bytes) -> dict[str, tuple[int, int]]:
    """The runtime's sections, once it is known to be a type 2 runtime that holds them all with room."""
    if runtime[8:11] != MAGIC:
        raise AppImageError("the runtime has no AppImage type 2 magic (AI 2 at offset 8)")
    sections = elf_sections(runtime)
    missing = [name for name in (*DIGEST_SKIPS, ".upd_info") if name not in sections]
    if missing:
        raise AppImageError(f"the runtime has no {', '.join(missing)} section(s)")
    if sections[DIGEST][1] < 16:
        raise AppImageError(f"the runtime's {DIGEST} section is smaller than an MD5 digest")
    if elf_end(runtime) != len(runtime):
        raise AppImageError("the runtime has bytes after its section headers, where its image must start")
    return sections


def assemble(runtime: Path, squashfs: Path, out: Path) -> None:
    """Write the AppImage `out`: the runtime, then the squashfs image, with the digest in the runtime's section.
    The image is streamed (it is hundreds of MB)."""
    with squashfs.open("rb") as image:
        if image.read(4) != b"hsqs":
            raise AppImageError(f"{squashfs} is not a squashfs file system")
        head = runtime.read_bytes()
        sections = check_runtime(head)
        head = zeroed(head, sections)
        image.seek(0)
        offset, _ = sections[DIGEST]
        head[offset:offset + 16] = digest_md5(bytes(head), image)
        image.seek(0)
        with out.open("wb") as appimage:
            appimage.write(head)
            shutil.copyfileobj(image, appimage, 1 << 20)
    out.chmod(0o755)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runtime", type=Path)
    parser.add_argument("squashfs", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    try:
        assemble(args.runtime, args.squashfs, args.out)
    except AppImageError as error:
        sys.exit(f"appimage.py: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
