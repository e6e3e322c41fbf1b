"""Starting the desktop app: display check, logging to the home folder, exception hook, main window."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from workbench.paths import HomeLayout, resolve_home, resources_dir

ICON_SIZES = (16, 32, 48, 64, 128, 256)  # resources/icons/, drawn by packaging/make_icons.py

NO_DISPLAY_MESSAGE = (
    "mlm-workbench: no display found. Run it in a desktop session, or without a screen use "
    "`xvfb-run -a mlm-workbench` (Debian: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1) or set "
    "QT_QPA_PLATFORM=offscreen. Every engine feature is also in the CLI: `mlm-workbench --help`."
)


def has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def setup_logging(log_path: Path) -> None:
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def install_exception_hook(window: object) -> None:
    """Unhandled exceptions are logged to the home folder and shown, never a silent crash."""

    def hook(kind: type[BaseException], error: BaseException, tb: object) -> None:
        details = "".join(traceback.format_exception(kind, error, tb))
        logging.getLogger("workbench").error("unhandled exception\n%s", details)
        show = getattr(window, "show_error", None)
        if show is not None:
            show(f"Unexpected error: {error}", details)

    sys.excepthook = hook


def app_icon_files() -> list[Path]:
    """The icon at each size it is drawn in; none in an install without resources/ (a wheel)."""
    return [path for size in ICON_SIZES if (path := resources_dir() / "icons" / f"mlm-workbench-{size}.png").is_file()]


def run_app(cli_home: str | None = None, quick_start: bool = False, project: Path | None = None) -> int:
    """Open the main window (and once it is painted, start its Quick start or open `project`, when asked); returns
    the exit code."""
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    home = resolve_home(cli_home)
    setup_logging(HomeLayout(home).log_path)
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from workbench.gui.gui_gc import collect_garbage_on_gui_thread
    from workbench.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_garbage_on_gui_thread()
    app.setApplicationName("MLM Workbench")
    app.setOrganizationName("mlm-workbench")
    app.setDesktopFileName("mlm-workbench")  # Wayland finds the launcher's icon and name by this
    icon = QIcon()
    for path in app_icon_files():
        icon.addFile(str(path))
    app.setWindowIcon(icon)
    window = MainWindow(home, quick_start=quick_start, project=project)
    install_exception_hook(window)
    window.show()
    return app.exec()
