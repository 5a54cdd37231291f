"""A content-keyed, crash-safe cache of stage outputs (datasets, models, interpretations, scores).

Each entry is a directory ``<root>/<stage>/<key>/`` written to a temporary sibling and
renamed into place only when complete, so an interrupted run never leaves a
half-written entry, and two runs sharing a cache folder cannot corrupt each other:
the second writer of the same key discards its copy.

Every entry carries ``manifest.json``, written last before the ``.complete`` marker: the size
and SHA-256 of each of its files (and the entries it was computed from, if the writer named
them). An entry is checked against it whenever it is read (``has``, ``get_or_compute``); a file
cut short, changed or deleted afterwards (a full disk, a copy interrupted, a hand edit) makes
the entry *corrupt*: it is logged (WARNING, with its path and what is wrong) and computed again,
instead of failing its stage on every run.

An entry written before manifests existed (a ``.complete`` marker, no manifest) is checked by
what its files are: JSON must parse, ``.npz``/``.pt``/``.zip`` archives must pass their CRC
check, parquet files must have their header and footer. One that passes is adopted (a manifest
is added, so later reads check hashes); one that fails is corrupt, as above.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import Callable

from simulations.dataset import current_umask

_MARKER = ".complete"
MANIFEST = "manifest.json"
_MANIFEST_VERSION = 1

log = logging.getLogger("bench.cache")

# entries this process has verified, by path: the (inode, size, mtime) of each file then. Reading
# one again with unchanged files skips the hashing (a long-lived worker reads the same model and
# dataset for many cells); any change to a file (a truncation, a replacement) verifies it again.
_verified: dict = {}
_warned: set = set()
_memo_lock = threading.Lock()


class CorruptEntry(Exception):
    """A cache entry whose files do not match its manifest (or, without one, do not open)."""


def apply_umask(path, directory: bool | None = None) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would have: 0666 (0777 for folders and
    executables) less the umask. ``mkstemp``/``mkdtemp`` create 0600/0700 whatever the umask,
    which keeps colleagues out of a shared run folder."""
    path = Path(path)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return
    is_dir = stat.S_ISDIR(mode) if directory is None else directory
    full = 0o777 if (is_dir or mode & 0o111) else 0o666
    os.chmod(path, full & ~current_umask())


def _files(entry: Path) -> list[Path]:
    """Every regular file under an entry (relative), but its manifest and marker."""
    out = []
    for dirpath, _dirs, names in os.walk(entry):
        for name in names:
            p = Path(dirpath) / name
            rel = p.relative_to(entry)
            if rel.as_posix() in (MANIFEST, _MARKER) or not p.is_file() or p.is_symlink():
                continue
            out.append(rel)
    return sorted(out)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_manifest(entry: Path, depends: dict | None = None) -> None:
    files = {rel.as_posix(): {"size": (entry / rel).stat().st_size, "sha256": _sha256(entry / rel)}
             for rel in _files(entry)}
    manifest = {"version": _MANIFEST_VERSION, "files": files}
    if depends:
        manifest["depends"] = {stage: sorted(set(keys)) for stage, keys in depends.items()}
    atomic_write_text(entry / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


def _check_format(path: Path) -> None:
    """An entry without a manifest: does each file at least open as what its name says?"""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            json.loads(path.read_text())
        elif suffix in (".npz", ".pt", ".zip"):
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            if bad is not None:
                raise CorruptEntry(f"{path.name}: member {bad} fails its CRC check")
        elif suffix == ".parquet":
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(4)
                f.seek(max(0, size - 4))
                tail = f.read(4)
            if size < 12 or head != b"PAR1" or tail != b"PAR1":
                raise CorruptEntry(f"{path.name}: not a complete parquet file")
    except CorruptEntry:
        raise
    except Exception as exc:  # JSONDecodeError, BadZipFile, UnicodeDecodeError, OSError ...
        raise CorruptEntry(f"{path.name}: {type(exc).__name__}: {exc}") from exc


def _stats(entry: Path, rels) -> tuple:
    out = []
    for rel in rels:
        st = (entry / rel).stat()
        out.append((str(rel), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def verify_entry(entry) -> dict:
    """Check a finished entry's files; return its manifest, or raise :class:`CorruptEntry`.

    ``FileNotFoundError`` if the entry is not finished (no marker): that is *absent*, not corrupt.
    """
    entry = Path(entry)
    if not (entry / _MARKER).exists():
        raise FileNotFoundError(entry)
    mpath = entry / MANIFEST
    if not mpath.exists():
        return _adopt_legacy(entry)
    try:
        manifest = json.loads(mpath.read_text())
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptEntry(f"{MANIFEST} unreadable ({type(exc).__name__}: {exc})") from exc
    rels = sorted(files)
    try:
        stats = _stats(entry, rels) + _stats(entry, [MANIFEST])
    except FileNotFoundError as exc:
        raise CorruptEntry(f"{Path(exc.filename).relative_to(entry)} is missing") from exc
    with _memo_lock:
        if _verified.get(str(entry)) == stats:
            return manifest
    for rel in rels:
        want = files[rel]
        size = (entry / rel).stat().st_size
        if size != want.get("size"):
            raise CorruptEntry(f"{rel} has {size} bytes, {want.get('size')} were written")
        if _sha256(entry / rel) != want.get("sha256"):
            raise CorruptEntry(f"{rel} does not match the SHA-256 recorded when it was written")
    with _memo_lock:
        _verified[str(entry)] = stats
    return manifest


def _adopt_legacy(entry: Path) -> dict:
    for rel in _files(entry):
        _check_format(entry / rel)
    try:  # best effort: a read-only cache is still read, only checked again next time
        _write_manifest(entry)
    except OSError:
        pass
    log.info("cache entry %s predates manifests; its files open, so it is kept", entry)
    return {"version": 0, "files": {}}


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

    # ------------------------------------------------------------------ checking

    def check(self, stage: str, key: str, _seen: set | None = None) -> str | None:
        """``None`` if the entry is finished and intact (and so is every entry it depends on),
        else why not: ``"absent"`` or what is corrupt. A corrupt entry is logged (WARNING), once
        per state of its files and process."""
        final = self.path(stage, key)
        try:
            manifest = verify_entry(final)
        except FileNotFoundError:
            return "absent"
        except CorruptEntry as exc:
            self._warn(final, str(exc))
            return f"corrupt: {exc}"
        seen = set() if _seen is None else _seen
        seen.add((stage, key))
        for dep_stage, keys in (manifest.get("depends") or {}).items():
            for dep in keys:
                if (dep_stage, dep) in seen:
                    continue
                why = self.check(dep_stage, dep, seen)
                if why is not None:
                    self._warn(final, f"it was computed from {dep_stage}/{dep}, which is {why.split(':')[0]}")
                    return f"its input {dep_stage}/{dep} is {why}"
        return None

    def _warn(self, final: Path, reason: str) -> None:
        token = (str(final), reason)
        with _memo_lock:
            if token in _warned:
                return
            _warned.add(token)
        log.warning("corrupt cache entry %s: %s; it is computed again", final, reason)

    def has(self, stage: str, key: str) -> bool:
        """Whether the entry is finished and intact (see :meth:`check`)."""
        return self.check(stage, key) is None

    # ------------------------------------------------------------------ computing

    def get_or_compute(self, stage: str, key: str, compute: Callable[[Path], None], meta: dict | None = None,
                       depends: dict | None = None) -> Path:
        """Return the entry's directory, calling ``compute(tmpdir)`` to fill it if absent or corrupt.

        ``depends`` (``{stage: [key, ...]}``) names the entries this one was computed from: when
        one of them is gone or corrupt, this entry counts as absent too, so that everything
        downstream of a damaged file is computed again rather than served from above it.
        """
        final = self.path(stage, key)
        if self.check(stage, key) is None:
            with self._lock:
                self.hits[stage] += 1
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
        try:
            compute(tmp)
            (tmp / "meta.json").write_text(json.dumps(meta or {}, indent=1, sort_keys=True, default=str))
            for dirpath, dirs, names in os.walk(tmp):
                for name in dirs + names:
                    apply_umask(Path(dirpath) / name)
            apply_umask(tmp, directory=True)
            _write_manifest(tmp, depends)
            (tmp / _MARKER).write_text("")
            self._install(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._lock:
            self.misses[stage] += 1
        return final

    def _install(self, tmp: Path, final: Path) -> None:
        try:
            os.rename(tmp, final)
            return
        except OSError:
            pass
        if _intact(final):  # another run finished the same entry first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return
        # a stale entry (a crash before the marker, or corrupt): move it aside, then put ours in
        stale = final.parent / f".{final.name}.stale.{uuid.uuid4().hex[:8]}"
        try:
            os.rename(final, stale)
        except FileNotFoundError:
            pass
        try:
            os.rename(tmp, final)
        except OSError:
            if not _intact(final):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another writer replaced it meanwhile
        shutil.rmtree(stale, ignore_errors=True)

    def counters(self) -> dict:
        stages = sorted(set(self.hits) | set(self.misses))
        return {s: {"hits": self.hits[s], "misses": self.misses[s]} for s in stages}


def _intact(final: Path) -> bool:
    try:
        verify_entry(final)
        return True
    except (FileNotFoundError, CorruptEntry):
        return False


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a uniquely named temporary file in the same folder and an
    atomic rename: readers see the old file or the new one, never a part, and concurrent writers
    never collide. The file gets the umask's mode, as ``open`` would give it."""
    return atomic_write_with(path, lambda tmp: Path(tmp).write_text(text))


def atomic_write_with(path, write: Callable[[str], None]) -> Path:
    """Like :func:`atomic_write_text`, for a writer that takes a file name (``df.to_parquet``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        apply_umask(tmp, directory=False)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
