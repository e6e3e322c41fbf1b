"""What the frozen app leaves out: modules it never imports and files it never opens.

The spec (mlm-workbench.spec) applies these to PyInstaller's analysis; tests/test_packaging.py checks them
without a build, and packaging/smoke.sh checks the built app still trains, probes and exports without them.
Each entry says why it can go: guesses that break the app show up in the smoke test, not at a user's desk.
"""

from __future__ import annotations

from fnmatch import fnmatch

# Python packages that are importable in the build environment but that the app never imports.
EXCLUDED_MODULES = [
    "tkinter", "_tkinter",  # no Tk in a Qt app
    "IPython", "jupyter_client", "matplotlib", "pandas", "scipy", "PIL",  # pyqtgraph's optional extras
    "huggingface_hub", "hf_xet", "httpx", "httpx2", "httpcore", "httpcore2", "anyio", "requests", "urllib3",
    # tokenizers' download helpers: the app reads only local files, and a download library is what would
    # open a socket
    "pytest", "_pytest",  # test runners (torch.testing._internal stays: torch.utils.checkpoint imports it)
    "onnx", "onnxruntime", "onnxscript", "transformers",  # optional extras; the frozen app exports to HF
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtDBus",
    "PySide6.QtPdf", "PySide6.QtSql", "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtDesigner",
    "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtPrintSupport",  # Qt modules the app doesn't load
]

# Files (bundle-relative paths, as PyInstaller names them) that are never opened at run time.
DROPPED_FILES = [
    "torch/include/*", "torch/share/*", "torch/test/*", "*.a",  # C++ headers, CMake files, static libraries
    "torch/lib/libjitbackend_test.so", "torch/lib/libtorchbind_test.so",  # torch's own test libraries
    "torch/lib/libbackend_with_compiler.so", "torch/lib/libaoti_custom_ops.so",
    "torch/bin/test_*", "torch/bin/*Test", "torch/bin/protoc*",  # C++ test programs and the protobuf compiler
    "torch/bin/*.pt", "torch/bin/*.ptl",  # (torch_shm_manager stays: it shares tensors between processes)
    "*libtorch_cuda*", "*libcu*.so*", "*libnccl*", "*libnvrtc*", "*libnvJitLink*", "*libcupti*",
    "nvidia/*", "triton/*",  # GPU-only libraries: this is the CPU build (none are in the CPU wheel; a guard)
    "PySide6/Qt/translations/*",  # the window's text is English; these translate Qt's own dialogs only
    "PySide6/Qt/lib/libQt6Quick*", "PySide6/Qt/lib/libQt6Qml*", "PySide6/Qt/lib/libQt6Pdf*",
    "PySide6/Qt/lib/libQt6VirtualKeyboard*", "PySide6/Qt/plugins/platforminputcontexts/*",
    # display back-ends for kiosks and embedded boards, and a VNC server (a listening socket): a desktop app
    # needs xcb, wayland, and offscreen for the tests
    "PySide6/Qt/plugins/platforms/libqvnc.so", "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqeglfs.so", "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so", "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*",  # raw evdev/tuio input, for the same embedded set-ups
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",  # needs the system's GTK, which is not bundled
]


def keep(bundle_path: str) -> bool:
    """Whether a file PyInstaller collected goes into the app."""
    path = bundle_path.replace("\\", "/")
    return not any(fnmatch(path, pattern) for pattern in DROPPED_FILES)
