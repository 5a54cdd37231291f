"""`SimulatedDataset`: one-hot sequences, labels, the planted truth, and its save/load.

On disk a dataset is one directory::

    arrays.npz        x (uint8, (N, 4, L)), y, split indices
    instances.parquet the ground-truth Instances table
    motifs.meme       the motifs that were planted
    spec.yaml         the simulation spec (and seed) it came from; it marks the folder as a saved
                      dataset, which a later save may replace (any other non-empty folder is refused)
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .motifs import Motif, read_meme, write_meme
from .validation import validate_one_hot_shape

INSTANCE_COLUMNS = ["seq", "start", "end", "strand", "motif", "score"]
TRUTH_COLUMNS = INSTANCE_COLUMNS + ["role", "functional"]
SPLITS = ("train", "valid", "test")


def empty_instances(truth: bool = False) -> pd.DataFrame:
    """An empty Instances table with the right columns and dtypes."""
    cols = TRUTH_COLUMNS if truth else INSTANCE_COLUMNS
    df = pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in cols})
    return df


_DTYPES = {
    "seq": "int64", "start": "int64", "end": "int64", "strand": "object", "motif": "object",
    "score": "float64", "role": "object", "functional": "bool",
}


def check_one_hot(x, name: str = "x") -> np.ndarray:
    """Validate a one-hot array of shape ``(N, 4, L)``; returns it as a numpy array.

    All-zero columns (N bases) are allowed; any other column must be a single 1.
    """
    return validate_one_hot_shape(np.asarray(x), name, one_hot=True)


def check_instances(df: pd.DataFrame, truth: bool = False, name: str = "instances") -> pd.DataFrame:
    """Validate an Instances table: required columns, 0-based half-open intervals, strands."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    needed = TRUTH_COLUMNS if truth else INSTANCE_COLUMNS
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}; an Instances table has {needed}")
    if len(df):
        if (df["start"] < 0).any() or (df["end"] <= df["start"]).any():
            raise ValueError(f"{name}: every row needs 0 <= start < end (0-based, half-open)")
        bad = set(df["strand"]) - {"+", "-"}
        if bad:
            raise ValueError(f"{name}: strand must be '+' or '-', found {sorted(bad)}")
    return df


def one_hot_to_strings(x) -> list[str]:
    """Decode ``(N, 4, L)`` one-hot to strings (``N`` where a column is all zero)."""
    x = np.asarray(x)
    idx = x.argmax(axis=1)
    letters = np.array(list("ACGT"))[idx]
    letters[x.sum(axis=1) == 0] = "N"
    return ["".join(row) for row in letters]


def strings_to_one_hot(seqs) -> np.ndarray:
    """Encode equal-length ``ACGTN`` strings to ``(N, 4, L)`` uint8."""
    seqs = list(seqs)
    if not seqs:
        raise ValueError("strings_to_one_hot needs at least one sequence")
    length = len(seqs[0])
    if any(len(s) != length for s in seqs):
        raise ValueError("strings_to_one_hot needs sequences of one length")
    table = np.full(256, 4, dtype=np.int64)
    for i, b in enumerate("ACGT"):
        table[ord(b)] = i
        table[ord(b.lower())] = i
    codes = table[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)].reshape(len(seqs), length)
    out = np.zeros((len(seqs), 5, length), dtype=np.uint8)
    np.put_along_axis(out, codes[:, None, :], 1, axis=1)
    return out[:, :4]


@dataclass
class SimulatedDataset:
    """Sequences with planted motifs and the record of where they were planted.

    Attributes
    ----------
    x : numpy.ndarray, uint8, shape (N, 4, L)
        One-hot sequences, rows ``A, C, G, T``.
    y : numpy.ndarray, float32, shape (N,) or (N, T)
        Labels (1 positive, 0 negative; one column per task for multi-task specs).
    instances : pandas.DataFrame
        Ground truth: ``seq, start, end, strand, motif, score, role, functional``.
        ``functional`` is False for decoys, which carry no label information.
    motifs : dict[str, Motif]
        Every motif the spec can plant, by name.
    spec : dict
        The validated simulation spec (plain data) the dataset came from.
    splits : dict[str, numpy.ndarray]
        Index arrays ``train``, ``valid``, ``test``.
    seed : int
        The seed it was simulated with.
    classes : numpy.ndarray of str, shape (N,)
        Which class of the spec each sequence was drawn from.
    """

    x: np.ndarray
    y: np.ndarray
    instances: pd.DataFrame
    motifs: dict
    spec: dict
    splits: dict
    seed: int
    classes: np.ndarray = field(default=None)

    def __post_init__(self):
        self.x = check_one_hot(self.x)
        n = self.x.shape[0]
        self.y = np.asarray(self.y, dtype=np.float32)
        if self.y.shape[0] != n:
            raise ValueError(f"y must have one label per sequence: x has {n}, y has shape {self.y.shape}")
        check_instances(self.instances, truth=True)
        if len(self.instances):
            if self.instances["seq"].max() >= n or self.instances["end"].max() > self.length:
                raise ValueError("instances point outside the sequences")
        for key in SPLITS:
            if key not in self.splits:
                raise ValueError(f"splits needs keys {SPLITS}, missing {key!r}")
            self.splits[key] = np.asarray(self.splits[key], dtype=np.int64)
        if self.classes is None:
            self.classes = np.where(self.y.reshape(n, -1)[:, 0] > 0, "positive", "negative")
        self.classes = np.asarray(self.classes).astype(str)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __repr__(self) -> str:
        """A summary (name, size, classes, splits, motifs, planted sites), not the arrays."""
        counts = pd.Series(self.classes).value_counts().sort_index()
        classes = ", ".join(f"{k} {v}" for k, v in counts.items())
        splits = ", ".join(f"{k} {len(self.splits[k])}" for k in SPLITS)
        functional = int(self.instances["functional"].sum()) if len(self.instances) else 0
        return (f"SimulatedDataset({self.name!r}: {len(self)} sequences x {self.length} bp, seed {self.seed}; "
                f"classes: {classes}; splits: {splits}; motifs: {', '.join(sorted(self.motifs))}; "
                f"{len(self.instances)} planted sites, {functional} functional)")

    @property
    def length(self) -> int:
        return self.x.shape[2]

    @property
    def name(self) -> str:
        return str(self.spec.get("name", "simulation"))

    def subset(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of one split, x as float32."""
        idx = self.splits[split]
        return self.x[idx].astype(np.float32), self.y[idx]

    def truth_for(self, index) -> pd.DataFrame:
        """Ground truth restricted to sequences ``index`` (renumbered 0..len(index)-1)."""
        index = np.asarray(index)
        remap = pd.Series(np.arange(len(index)), index=index)
        sub = self.instances[self.instances["seq"].isin(index)].copy()
        sub["seq"] = remap.loc[sub["seq"].to_numpy()].to_numpy()
        return sub.sort_values(["seq", "start"]).reset_index(drop=True)

    def fingerprint(self) -> str:
        """A content hash: same arrays, truth and spec → same string."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.x).tobytes())
        h.update(np.ascontiguousarray(self.y).tobytes())
        h.update(pd.util.hash_pandas_object(self.instances, index=False).to_numpy().tobytes())
        h.update(json.dumps(self.spec, sort_keys=True, default=str).encode())
        return h.hexdigest()[:16]

    # ----------------------------------------------------------------- I/O

    def save(self, directory) -> Path:
        """Write the dataset as one directory, atomically (a half-written directory never appears).

        ``directory`` must not exist, be empty, or hold a dataset saved before (recognised by its
        ``spec.yaml``, which records the seed, the fingerprint and the spec, beside only the other
        dataset files): that one is replaced in one step. Any other folder is refused with
        :class:`DatasetOutputError`, and nothing in it is touched.
        """
        directory = Path(directory).resolve()
        _check_output_folder(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            arrays = {"x": self.x.astype(np.uint8), "y": self.y, "classes": self.classes}
            arrays.update({f"split_{k}": v for k, v in self.splits.items()})
            np.savez_compressed(tmp / "arrays.npz", **arrays)
            self.instances.to_parquet(tmp / "instances.parquet", index=False)
            write_meme(tmp / "motifs.meme", list(self.motifs.values()))
            meta = {"seed": int(self.seed), "fingerprint": self.fingerprint(), "spec": self.spec}
            (tmp / DATASET_MARKER).write_text(yaml.safe_dump(meta, sort_keys=False))
            os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's 0700 would keep colleagues out
            _replace_dir(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory) -> "SimulatedDataset":
        """Read a dataset directory written by :meth:`save`, validating what it reads."""
        directory = Path(directory)
        expected = list(DATASET_FILES)
        missing = [f for f in expected if not (directory / f).exists()]
        if missing:
            raise ValueError(f"{directory} is not a saved SimulatedDataset: missing {missing}")

        def read(name, reader):
            try:
                return reader(directory / name)
            except Exception as exc:  # a cut or damaged file: say which one
                raise ValueError(f"{directory / name} is unreadable ({type(exc).__name__}: {exc})") from exc

        def arrays(path):
            with np.load(path, allow_pickle=False) as z:
                return z["x"], z["y"], z["classes"], {k: z[f"split_{k}"] for k in SPLITS}

        x, y, classes, splits = read("arrays.npz", arrays)
        meta = read("spec.yaml", lambda p: yaml.safe_load(p.read_text()))
        if not isinstance(meta, dict) or "spec" not in meta or "seed" not in meta:
            raise ValueError(f"{directory / 'spec.yaml'} does not record a saved dataset's seed and spec")
        instances = read("instances.parquet", pd.read_parquet)
        motifs = read("motifs.meme", read_meme)
        motifs = {k: Motif(k, m.pfm, {}) for k, m in motifs.items()}
        ds = cls(x=x, y=y, instances=instances, motifs=motifs, spec=meta["spec"], splits=splits,
                 seed=meta["seed"], classes=classes)
        if meta.get("fingerprint") and ds.fingerprint() != meta["fingerprint"]:
            raise ValueError(f"{directory}: contents do not match the fingerprint recorded at save time")
        return ds


# ----------------------------------------------------------------------------- the output folder

DATASET_FILES = ("arrays.npz", "instances.parquet", "motifs.meme", "spec.yaml")
# the file that marks a folder as a saved dataset: a YAML mapping with its seed, fingerprint and spec
DATASET_MARKER = "spec.yaml"


class DatasetOutputError(FileExistsError):
    """The folder a dataset is to be saved in holds something else: it is refused, not replaced."""


def is_saved_dataset(directory) -> bool:
    """Whether ``directory`` holds a dataset written by :meth:`SimulatedDataset.save`: its
    ``spec.yaml`` records a seed, a fingerprint and a spec."""
    marker = Path(directory) / DATASET_MARKER
    try:
        meta = yaml.safe_load(marker.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(meta, dict) and {"seed", "fingerprint", "spec"} <= set(meta)


def _check_output_folder(directory: Path) -> None:
    for parent in directory.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DatasetOutputError(f"{parent} is a file, so the folder {directory} cannot be made")
            break
    if not directory.exists() and not directory.is_symlink():
        return
    if not directory.is_dir():
        raise DatasetOutputError(f"{directory} exists and is not a folder; refusing to replace it with a dataset")
    contents = sorted(p.name for p in directory.iterdir())
    if not contents:
        return
    if not is_saved_dataset(directory):
        shown = ", ".join(contents[:5]) + (f" and {len(contents) - 5} more" if len(contents) > 5 else "")
        raise DatasetOutputError(
            f"{directory} is not empty and is not a saved dataset (no {DATASET_MARKER} recording one); it holds "
            f"{shown}. Refusing to replace it: choose a new or empty folder, or one written by `simulate`")
    others = [c for c in contents if c not in DATASET_FILES]
    if others:
        raise DatasetOutputError(f"{directory} holds a saved dataset and other files ({', '.join(others[:5])}); "
                                 "refusing to replace it and lose them")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc``): changing it to
    read it races with other threads creating files."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - no /proc
    os.umask(mask)
    return mask  # pragma: no cover


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # an old kernel or a file system without it
    raise OSError(err, os.strerror(err), str(b))


def _replace_dir(tmp: Path, directory: Path) -> None:
    """Put the finished folder ``tmp`` at ``directory``: a rename, or, over an earlier dataset, an
    atomic exchange (readers see the old dataset or the new one), then the old one goes."""
    if not directory.exists():
        try:
            os.rename(tmp, directory)
            return
        except FileExistsError:
            pass
    if not any(directory.iterdir()):
        os.rmdir(directory)
        os.rename(tmp, directory)
        return
    if _exchange(tmp, directory):
        shutil.rmtree(tmp)  # now the old dataset
        return
    old = directory.parent / f".{directory.name}.old.{os.getpid()}"
    os.rename(directory, old)
    os.rename(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
