"""A content-keyed, crash-safe cache of stage outputs (datasets, models, interpretations, scores).

Each entry is a directory ``<root>/<stage>/<key>/`` written to a temporary sibling and
renamed into place only when complete, so an interrupted run never leaves a
half-written entry, and two runs sharing a cache folder cannot corrupt each other:
the second writer of the same key discards its copy.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Callable

_MARKER = ".complete"


class StageCache:
    """Get-or-compute for one cache folder; counts hits and misses per stage.

    Parameters
    ----------
    root : path
        The cache folder (created if missing).
    """

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()
        self._lock = threading.Lock()

    def path(self, stage: str, key: str) -> Path:
        if not key or any(c in key for c in "/\\.") or not stage.isidentifier():
            raise ValueError(f"cache stage {stage!r} and key {key!r} must be plain names")
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        return (self.path(stage, key) / _MARKER).exists()

    def get_or_compute(self, stage: str, key: str, compute: Callable[[Path], None], meta: dict | None = None) -> Path:
        """Return the entry's directory, calling ``compute(tmpdir)`` to fill it if absent."""
        final = self.path(stage, key)
        if (final / _MARKER).exists():
            with self._lock:
                self.hits[stage] += 1
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
        try:
            compute(tmp)
            (tmp / "meta.json").write_text(json.dumps(meta or {}, indent=1, sort_keys=True, default=str))
            (tmp / _MARKER).write_text("")
            try:
                os.rename(tmp, final)
            except OSError:
                if (final / _MARKER).exists():  # another run finished the same entry first
                    shutil.rmtree(tmp, ignore_errors=True)
                else:  # a stale, incomplete entry (from a crash before the marker): replace it
                    shutil.rmtree(final, ignore_errors=True)
                    os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._lock:
            self.misses[stage] += 1
        return final

    def counters(self) -> dict:
        stages = sorted(set(self.hits) | set(self.misses))
        return {s: {"hits": self.hits[s], "misses": self.misses[s]} for s in stages}


def atomic_write_text(path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
