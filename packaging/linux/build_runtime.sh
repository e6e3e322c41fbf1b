#!/usr/bin/env bash
# Builds the AppImage type 2 runtime (the small ELF program at the front of every AppImage, which mounts or
# extracts the squashfs image appended to it and runs its AppRun) from source, so that an AppImage can be made
# without appimagetool, which is a download from GitHub in neither PyPI nor Debian.
#   packaging/linux/build_runtime.sh [OUT]      (default OUT: build/packaging/runtime/runtime-x86_64)
#
# Sources, at pinned commits (nothing of them is copied into this repository):
#   AppImage/type2-runtime  src/runtime/runtime.c and data_sections.ld (the ELF sections .upd_info,
#                           .sha256_sig, .sig_key, .digest_md5 that appimagetool fills)
#   vasi/squashfuse 0.5.2   the squashfs reader the runtime links (Debian's libsquashfuse-dev is 0.1.105: no
#                           fuseprivate.h, which runtime.c includes)
# each from $TYPE2_RUNTIME_GIT / $SQUASHFUSE_GIT when set (a local git directory, bare or not, or a URL), else
# from GitHub. The rest comes from Debian, as static libraries:
#   apt-get install gcc make autoconf automake libtool pkg-config libfuse3-dev libzstd-dev zlib1g-dev
# The runtime is linked statically (static-pie, as upstream's), so it needs no libfuse2 and no other library
# on the user's system: only FUSE's setuid fusermount3 to mount (as a user who is not root), and with none it
# can still run with --appimage-extract-and-run.
#
# How this differs from upstream's build (Alpine, musl, clang), and why it is enough here:
# - glibc instead of musl: the link warns that libfuse's fuse_get_module calls dlopen, which a static glibc
#   program can only do with the same glibc installed; that loads FUSE's stacked file-system modules, which
#   the runtime never asks for (it uses the low-level API).
# - Debian's libfuse3.a (3.14) without upstream's patch to libfuse's mount.c: the patched libfuse runs the
#   setuid fusermount the runtime found on $PATH ($FUSERMOUNT_PROG, FUSE 2's fusermount too); this one runs
#   fusermount3 from /usr/bin or $PATH. On a system with only FUSE 2's fusermount the AppImage says it cannot
#   mount and how to extract instead; but the app inside needs glibc 2.36 or newer (the build's), and the
#   desktops of distributions that new (Debian 12, Ubuntu 23.04, Fedora 37 and later) come with fuse3
#   (GNOME's gvfs-fuse depends on it).
# - no mimalloc (upstream links it for musl's slow malloc; glibc's is fine), gcc instead of clang, so no
#   -Werror (gcc warns where clang does not).
set -euo pipefail
cd "$(dirname "$0")/../.."
TYPE2_RUNTIME_COMMIT=caf24f9f712084686bfc24a70b75e50df0aefb9c  # 2025-11-08, the newest at the time
SQUASHFUSE_COMMIT=775b4cc72ab47641637897f11ce0da15d5c1f115     # tag 0.5.2, the version upstream builds
TYPE2_RUNTIME_GIT="${TYPE2_RUNTIME_GIT:-https://github.com/AppImage/type2-runtime.git}"
SQUASHFUSE_GIT="${SQUASHFUSE_GIT:-https://github.com/vasi/squashfuse.git}"
WORK="$PWD/build/packaging/runtime"
OUT="${1:-$WORK/runtime-x86_64}"

# unpack(SOURCE, COMMIT, DIR): the tree of COMMIT of a git repository (a local directory or a URL) into DIR
unpack() {
    local source="$1" commit="$2" dir="$3" gitdir
    if [ -d "$source" ]; then
        gitdir="$source"
    else
        gitdir="$WORK/$(basename "$source" .git).git"
        [ -d "$gitdir" ] || git init -q --bare "$gitdir"
        git --git-dir="$gitdir" cat-file -e "$commit^{commit}" 2>/dev/null ||
            git --git-dir="$gitdir" fetch -q --depth 1 "$source" "$commit"
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    git --git-dir="$gitdir" archive "$commit" | tar -x -C "$dir"
}

rm -rf "$WORK/src" "$WORK/prefix"
unpack "$TYPE2_RUNTIME_GIT" "$TYPE2_RUNTIME_COMMIT" "$WORK/src/type2-runtime"
unpack "$SQUASHFUSE_GIT" "$SQUASHFUSE_COMMIT" "$WORK/src/squashfuse"

# squashfuse's libraries, static, into a prefix of our own (upstream's install-dependencies.sh, minus sudo)
(
    cd "$WORK/src/squashfuse"
    ./autogen.sh >/dev/null 2>&1
    CFLAGS="-ffunction-sections -fdata-sections -Os -fPIE" ./configure --quiet --prefix="$WORK/prefix" \
        --disable-shared --enable-static --without-lz4 --without-lzo --without-xz >/dev/null
    make -j"$(nproc)" >/dev/null
    make install >/dev/null
    install -m 644 ./*.h "$WORK/prefix/include/squashfuse/"  # runtime.c uses the private headers too
)

# the runtime, as upstream's Makefile and scripts/build-runtime.sh make it
cd "$WORK/src/type2-runtime/src/runtime"
gcc -std=gnu99 -Os -D_FILE_OFFSET_BITS=64 -DGIT_COMMIT=\"${TYPE2_RUNTIME_COMMIT:0:7}\" -T data_sections.ld \
    -ffunction-sections -fdata-sections -Wl,--gc-sections -static-pie -Wall \
    -I"$WORK/prefix/include" -I"$WORK/prefix/include/squashfuse" -I/usr/include/fuse3 \
    runtime.c -L"$WORK/prefix/lib" -lsquashfuse -lsquashfuse_ll -lzstd -lz -lfuse3 -lpthread -o runtime
strip --strip-debug --strip-unneeded runtime
# the AppImage type 2 magic, "AI" and 2 at offset 8 of the ELF header (its padding), after strip
printf 'AI\002' | dd of=runtime bs=1 count=3 seek=8 conv=notrunc status=none
mkdir -p "$(dirname "$OUT")"
cp runtime "$OUT"
echo "runtime: $OUT ($(stat -c %s "$OUT") bytes, type2-runtime ${TYPE2_RUNTIME_COMMIT:0:7}, squashfuse 0.5.2)"
