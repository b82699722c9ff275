"""``serve --reload``: which Python files changed under the app's directory.

A :class:`Watcher` runs ``watchfiles`` (inotify where there is one, else polling) in a thread
of the ``switchboard serve`` parent; the supervisor asks it between looks at its workers and
restarts them when a ``.py`` file changed. Virtualenvs, caches and VCS folders are not
watched. :func:`watched_root` is the folder holding the app's top-level module or package
(the project), found without importing it.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

from watchfiles import DefaultFilter, PythonFilter, watch

# watchfiles says "1 change detected" at INFO; the supervisor says which file changed
logging.getLogger("watchfiles").setLevel(logging.WARNING)

__all__ = ["Watcher", "watched_root"]


class _ProjectFiles(PythonFilter):
    ignore_dirs = (*DefaultFilter.ignore_dirs, "venv", "site-packages", "build", "dist")


def watched_root(app_path: str) -> Path:
    """The folder of the app's top-level module (``pizza_bot.app:app`` → the folder holding
    ``pizza_bot/``); the current folder when it cannot be found."""
    top = app_path.partition(":")[0].partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve().parent
    if spec is not None and spec.origin and spec.origin not in {"built-in", "frozen"}:
        return Path(spec.origin).resolve().parent
    return Path.cwd()


class Watcher:
    """Collects the ``.py`` files changed under ``root``; :meth:`take` hands them over."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._changed: set[str] = set()
        self._thread = threading.Thread(target=self._watch, name="reload-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        found_files = _ProjectFiles()
        for found in watch(self.root, watch_filter=found_files, stop_event=self._stop):
            with self._lock:
                self._changed.update(path for _, path in found)

    def take(self) -> list[str]:
        """The changed files since the last call, relative to ``root`` where they can be."""
        with self._lock:
            found, self._changed = self._changed, set()
        return sorted(_relative(Path(p), self.root) for p in found)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
