"""Start-up: process start to the main window's first paint, against a bare PySide6 QMainWindow.

Both run in fresh processes on the offscreen platform (no display needed), in
alternation, several times; the figure is median(console) / median(bare).
The console is started with no profile (an empty config dir), which is the
path every start takes up to the first paint: the profile opens after it.
The console's window paints its frame first and builds its menus, panes and
models right after; the time until that is done ("complete") is printed too.
Target: first paint <= 1.5 x bare.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import Result, say, temp_dir

BARE = r"""
import time, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

class Probe(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(f"FIRST_PAINT {time.time():.6f}", flush=True)
            QTimer.singleShot(0, app.quit)
            obj.removeEventFilter(self)
        return False

app = QApplication(sys.argv[:1])
win = QMainWindow()
win.setWindowTitle("bare")
win.resize(1280, 800)
probe = Probe()
win.installEventFilter(probe)
win.show()
app.exec()
"""

CONSOLE = "from lms_console.cli import main; raise SystemExit(main([]))"


def one(code: str, env: dict, marks: dict | None = None) -> float:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    seen = {}
    for line in out.stdout.splitlines():
        name, _, stamp = line.partition(" ")
        if name in ("FIRST_PAINT", "WINDOW_COMPLETE"):
            seen[name] = float(stamp) - t0
    if "FIRST_PAINT" not in seen:
        raise RuntimeError(f"no first paint reported (exit {out.returncode}): {out.stderr[-2000:]}")
    if marks is not None and "WINDOW_COMPLETE" in seen:
        marks.setdefault("complete", []).append(seen["WINDOW_COMPLETE"])
    return seen["FIRST_PAINT"]


def run(quick: bool) -> Result:
    repeats = 5 if quick else 15
    with temp_dir() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LMS_CONSOLE_STARTUP_PROBE="1",
                   LMS_CONSOLE_CONFIG_DIR=str(tmp / "config"), LMS_CONSOLE_DATA_DIR=str(tmp / "data"))
        # An installed console starts from compiled bytecode (pip and PyInstaller both ship it); with
        # PYTHONDONTWRITEBYTECODE set (as on these build machines) every start would compile ~500 modules
        # from source instead, a cost the bare window's few imports hardly pay.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        one(BARE, env), one(CONSOLE, env)  # warm the disk cache (and write the bytecode) for both
        bare, console, marks = [], [], {}
        for _ in range(repeats):
            bare.append(one(BARE, env))
            console.append(one(CONSOLE, env, marks))
    b, c = statistics.median(bare), statistics.median(console)
    full = statistics.median(marks.get("complete", [float("nan")]))
    say(f"bare QMainWindow: median {b * 1000:.0f} ms (min {min(bare) * 1000:.0f}); "
        f"lms-console first paint: median {c * 1000:.0f} ms (min {min(console) * 1000:.0f}); "
        f"window complete: median {full * 1000:.0f} ms ({full / b:.2f}x bare); {repeats} runs each")
    return Result("startup", c / b, "ratio", 1.5, lower_is_better=True)
