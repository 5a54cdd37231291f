"""Motifs: position probability matrices, JASPAR lookup and MEME / JASPAR file I/O.

A motif is a named position probability matrix (PPM) of shape ``(4, W)`` in
``A, C, G, T`` row order, whose columns sum to one. The reverse complement
flips both axes.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .user_files import read_text_file

ALPHABET = "ACGT"
BACKGROUND_UNIFORM = np.full(4, 0.25)


class MotifError(ValueError):
    """A motif could not be found, read or validated."""


@dataclass(frozen=True)
class Motif:
    """A named position probability matrix.

    Parameters
    ----------
    name : str
        The name the grammar and the results use for this motif.
    pfm : numpy.ndarray, shape (4, W)
        Probabilities, rows ``A, C, G, T``; every column sums to one.
    source : dict
        Provenance (e.g. ``{"jaspar": "MA0080.7", "release": "JASPAR2026"}``).
    """

    name: str
    pfm: np.ndarray
    source: dict = field(default_factory=dict)

    def __post_init__(self):
        pfm = np.asarray(self.pfm, dtype=np.float64)
        if pfm.ndim != 2 or pfm.shape[0] != 4 or pfm.shape[1] < 1:
            raise MotifError(f"motif {self.name!r}: pfm must have shape (4, W), got {pfm.shape}")
        if not np.all(np.isfinite(pfm)) or np.any(pfm < 0):
            raise MotifError(f"motif {self.name!r}: pfm must be finite and non-negative")
        sums = pfm.sum(axis=0)
        if not np.allclose(sums, 1.0, atol=1e-3):
            raise MotifError(
                f"motif {self.name!r}: every column of pfm must sum to 1, got sums {np.round(sums, 4).tolist()}"
            )
        pfm = pfm / sums
        pfm.setflags(write=False)
        object.__setattr__(self, "pfm", pfm)

    @property
    def width(self) -> int:
        return self.pfm.shape[1]

    def reverse_complement(self) -> "Motif":
        return Motif(self.name, self.pfm[::-1, ::-1].copy(), dict(self.source))

    def consensus(self) -> str:
        return "".join(ALPHABET[i] for i in self.pfm.argmax(axis=0))

    def information_content(self) -> np.ndarray:
        """Per-column information content in bits against a uniform background, shape (W,)."""
        return information_content(self.pfm)

    def log_odds(self, background=BACKGROUND_UNIFORM, pseudocount: float = 1e-3) -> np.ndarray:
        """Log2-odds scoring matrix ``(4, W)`` against a background of base frequencies."""
        p = (self.pfm + pseudocount) / (1 + 4 * pseudocount)
        return np.log2(p / np.asarray(background, dtype=np.float64)[:, None])

    def sliced(self, start: int, end: int, name: str | None = None) -> "Motif":
        """Columns ``[start, end)`` as a new motif (e.g. a half-site)."""
        if not 0 <= start < end <= self.width:
            raise MotifError(
                f"motif {self.name!r}: columns [{start}, {end}) are outside its width {self.width}"
            )
        source = dict(self.source, columns=[start, end])
        return Motif(name or self.name, self.pfm[:, start:end].copy(), source)

    def renamed(self, name: str) -> "Motif":
        return Motif(name, self.pfm, dict(self.source))


def information_content(pfm: np.ndarray, pseudocount: float = 1e-3) -> np.ndarray:
    """Information content per column (bits, uniform background) of a ``(4, W)`` PPM."""
    pfm = np.asarray(pfm, dtype=np.float64)
    p = (pfm + pseudocount) / (pfm.sum(axis=0, keepdims=True) + 4 * pseudocount)
    return np.sum(p * np.log2(p / 0.25), axis=0)


def from_counts(name: str, counts, source: dict | None = None, pseudocount: float = 0.0) -> Motif:
    """A motif from a ``(4, W)`` count (or unnormalized weight) matrix."""
    counts = np.asarray(counts, dtype=np.float64) + pseudocount
    sums = counts.sum(axis=0, keepdims=True)
    if np.any(sums <= 0):
        raise MotifError(f"motif {name!r}: a column has no counts")
    return Motif(name, counts / sums, source or {})


def from_matrix(name: str, rows, source: dict | None = None) -> Motif:
    """A motif from a matrix written as 4 rows (A, C, G, T), one column per position (counts or
    probabilities; each column is normalized).

    Refused with a :class:`MotifError`: ragged rows, any other number of rows, and a 4 x 4 matrix that
    reads as written positions-first (every row sums to the same total but the columns do not: rows
    are positions, so reading them as bases would silently give another motif).
    """
    rows = list(rows)
    lengths = [len(r) if isinstance(r, (list, tuple, np.ndarray)) else None for r in rows]
    if None in lengths:
        raise MotifError(f"motif {name!r}: matrix must be a list of 4 rows (A, C, G, T), each a list of numbers")
    if len(set(lengths)) > 1:
        raise MotifError(f"motif {name!r}: matrix rows have different lengths {lengths}; give 4 rows (A, C, G, T) "
                         f"of one length, one column per position")
    counts = np.asarray(rows, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != 4 or counts.shape[1] < 1:
        hint = " (written positions-first? transpose it)" if counts.ndim == 2 and counts.shape[1] == 4 else ""
        raise MotifError(f"motif {name!r}: matrix must have shape (4, W): 4 rows A, C, G, T, one column per "
                         f"position; got {counts.shape[0]} rows of {counts.shape[1] if counts.ndim == 2 else 0}"
                         + hint)
    if counts.shape == (4, 4) and np.all(np.isfinite(counts)):
        row_sums, col_sums = counts.sum(axis=1), counts.sum(axis=0)
        rows_even = np.allclose(row_sums, row_sums.mean(), rtol=1e-3, atol=1e-6)
        cols_even = np.allclose(col_sums, col_sums.mean(), rtol=1e-3, atol=1e-6)
        if rows_even and not cols_even:
            raise MotifError(
                f"motif {name!r}: this 4 x 4 matrix looks written positions-first: every row sums to "
                f"{row_sums[0]:g} but the columns sum to {np.round(col_sums, 4).tolist()}; the rows must be the "
                f"bases A, C, G, T and the columns the positions (transpose it)")
    return from_counts(name, counts, source)


def from_consensus(name: str, consensus: str, strength: float = 0.97) -> Motif:
    """A motif from an IUPAC-free consensus string (``ACGT`` and ``N``).

    Each letter gets probability ``strength``; the rest is shared by the other bases.
    """
    consensus = consensus.upper()
    bad = set(consensus) - set("ACGTN")
    if not consensus or bad:
        raise MotifError(f"motif {name!r}: consensus must use A, C, G, T, N; got {consensus!r}")
    pfm = np.full((4, len(consensus)), (1 - strength) / 3)
    for j, base in enumerate(consensus):
        if base == "N":
            pfm[:, j] = 0.25
        else:
            pfm[ALPHABET.index(base), j] = strength
    return Motif(name, pfm, {"consensus": consensus})


# --------------------------------------------------------------------------- JASPAR


DEFAULT_JASPAR_RELEASE = "JASPAR2026"
_MATRIX_ID = re.compile(r"^MA\d{4}(\.\d+)?$", re.IGNORECASE)


@functools.lru_cache(maxsize=4)
def _jaspar_index(release: str) -> dict:
    """Name (upper case) and matrix id → list of (id, name) of CORE vertebrate motifs, latest versions."""
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:  # pragma: no cover - pyjaspar is a hard dependency
        raise MotifError("pyjaspar is needed to load JASPAR motifs: pip install pyjaspar") from exc
    db = jaspardb(release=release)
    motifs = db.fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False)
    index: dict[str, list] = {}
    for m in motifs:
        entry = (m.matrix_id, m.name)
        index.setdefault(m.name.upper(), []).append(entry)
        index.setdefault(m.matrix_id.upper(), []).append(entry)
        index.setdefault(m.base_id.upper(), []).append(entry)
    return index


@functools.lru_cache(maxsize=256)
def _jaspar_fetch(matrix_id: str, release: str):
    from pyjaspar import jaspardb

    m = jaspardb(release=release).fetch_motif_by_id(matrix_id)
    if m is None:
        raise MotifError(f"JASPAR ({release}) has no matrix {matrix_id!r}")
    counts = np.array([m.counts[b] for b in ALPHABET], dtype=np.float64)
    return m.matrix_id, m.name, counts


def jaspar_motif(query: str, release: str = DEFAULT_JASPAR_RELEASE, name: str | None = None) -> Motif:
    """Load a JASPAR CORE vertebrate motif by TF name (``"SPI1"``, ``"GATA1::TAL1"``) or matrix id.

    Works offline: pyjaspar ships the JASPAR SQLite databases. A name with several
    matrices (``GATA1`` has two) resolves to the lowest matrix id; pass a matrix id to
    choose. Unversioned ids (``MA0139``) take the latest version.

    Raises
    ------
    MotifError
        If nothing matches; the message lists close names.
    """
    if not isinstance(query, str) or not query.strip():
        raise MotifError(f"a JASPAR motif is named by a TF name or matrix id, got {query!r}")
    query = query.strip()
    if _MATRIX_ID.match(query) and "." in query:
        # a specific (possibly older) version: fetched directly, without the index of every motif
        # (about 2 s to build in each new process)
        return _from_jaspar(query.upper(), release, name)
    index = _jaspar_index(release)
    if _MATRIX_ID.match(query):
        key = query.upper()
        if key not in index:
            raise MotifError(f"JASPAR ({release}) CORE vertebrates has no matrix {query!r}")
        return _from_jaspar(index[key][0][0], release, name)
    hits = index.get(query.upper())
    if not hits:
        names = sorted({n for _, n in (e for v in index.values() for e in v)})
        close = difflib.get_close_matches(query.upper(), [n.upper() for n in names], n=5, cutoff=0.6)
        upper_to_name = {n.upper(): n for n in names}
        suggestion = ", ".join(upper_to_name[c] for c in close) or "none"
        raise MotifError(
            f"unknown motif {query!r}: no JASPAR ({release}) CORE vertebrate motif has that name "
            f"or matrix id; close names: {suggestion}"
        )
    return _from_jaspar(sorted(set(h[0] for h in hits))[0], release, name)


def _from_jaspar(matrix_id: str, release: str, name: str | None) -> Motif:
    matrix_id, tf_name, counts = _jaspar_fetch(matrix_id, release)
    return from_counts(name or tf_name, counts, {"jaspar": matrix_id, "tf": tf_name, "release": release})


# --------------------------------------------------------------------------- files


def read_meme(path) -> dict[str, Motif]:
    """Read every motif of a MEME-format file into ``{name: Motif}``.

    The name is the first word after ``MOTIF`` (the matrix id in JASPAR exports);
    the second word, if present, is kept in ``source["alt_name"]``.
    """
    path = Path(path)
    lines = read_text_file(path, "motif", MotifError).splitlines()
    motifs: dict[str, Motif] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MOTIF"):
            words = line.split()
            if len(words) < 2:
                raise MotifError(f"{path}: line {i + 1}: MOTIF line without a name")
            name = words[1]
            alt = words[2] if len(words) > 2 else None
            i += 1
            while i < len(lines) and "letter-probability" not in lines[i]:
                if lines[i].strip().startswith("MOTIF"):
                    raise MotifError(f"{path}: motif {name!r} has no letter-probability matrix")
                i += 1
            if i == len(lines):
                raise MotifError(f"{path}: motif {name!r} has no letter-probability matrix")
            header = lines[i]
            m = re.search(r"w=\s*(\d+)", header)
            width = int(m.group(1)) if m else None
            rows = []
            i += 1
            while i < len(lines):
                parts = lines[i].split()
                if not parts:
                    if rows:
                        break
                    i += 1
                    continue
                try:
                    values = [float(v) for v in parts]
                except ValueError:
                    break
                if len(values) != 4:
                    raise MotifError(f"{path}: line {i + 1}: expected 4 probabilities, got {len(values)}")
                rows.append(values)
                i += 1
                if width is not None and len(rows) == width:
                    break
            if not rows:
                raise MotifError(f"{path}: motif {name!r} has an empty matrix")
            if width is not None and len(rows) < width:
                raise MotifError(f"{path}: motif {name!r} declares w= {width} but holds {len(rows)} rows of "
                                 f"probabilities (a truncated file?)")
            if width is not None and i < len(lines) and _probability_row(lines[i]):
                raise MotifError(f"{path}: line {i + 1}: motif {name!r} declares w= {width} but holds more rows")
            source = {"file": str(path)}
            if alt:
                source["alt_name"] = alt
            motifs[name] = from_counts(name, np.array(rows).T, source)
            continue
        i += 1
    if not motifs:
        raise MotifError(f"motif file {str(path)!r} holds no MEME motifs (no MOTIF lines)")
    return motifs


def _probability_row(line: str) -> bool:
    parts = line.split()
    try:
        return len(parts) == 4 and all(np.isfinite(float(v)) for v in parts)
    except ValueError:
        return False


def read_jaspar(path) -> dict[str, Motif]:
    """Read a JASPAR-format count file (``>ID NAME`` then ``A [ ... ]`` rows)."""
    path = Path(path)
    text = read_text_file(path, "motif", MotifError)
    motifs: dict[str, Motif] = {}
    blocks = [b for b in text.split(">") if b.strip()]
    for block in blocks:
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        header = lines[0].split()
        name = header[0]
        rows = {}
        for ln in lines[1:]:
            m = re.match(r"\s*([ACGT])\s*\[?([^\]]*)\]?", ln)
            if not m:
                raise MotifError(f"{path}: motif {name!r}: cannot parse row {ln!r}")
            try:
                rows[m.group(1)] = [float(v) for v in m.group(2).split()]
            except ValueError:
                raise MotifError(f"{path}: motif {name!r}: row {m.group(1)} holds something that is not a number: "
                                 f"{ln.strip()!r}") from None
        if set(rows) != set(ALPHABET):
            raise MotifError(f"{path}: motif {name!r} needs rows A, C, G and T, found {sorted(rows)}")
        lengths = {len(v) for v in rows.values()}
        if len(lengths) != 1:
            raise MotifError(f"{path}: motif {name!r}: rows have different lengths {sorted(lengths)}")
        source = {"file": str(path)}
        if len(header) > 1:
            source["alt_name"] = header[1]
        motifs[name] = from_counts(name, np.array([rows[b] for b in ALPHABET]), source)
    if not motifs:
        raise MotifError(f"motif file {str(path)!r} holds no JASPAR motifs")
    return motifs


def read_motif_file(path) -> dict[str, Motif]:
    """Read MEME or JASPAR format, by content."""
    path = Path(path)
    head = read_text_file(path, "motif", MotifError)[:4096]
    if "MOTIF" in head or "MEME version" in head:
        return read_meme(path)
    if head.lstrip().startswith(">"):
        return read_jaspar(path)
    raise MotifError(f"motif file {str(path)!r} is neither MEME nor JASPAR format")


def write_meme(path, motifs) -> Path:
    """Write motifs (a list or a ``{name: Motif}`` dict) to a MEME v4 file."""
    if isinstance(motifs, dict):
        motifs = list(motifs.values())
    path = Path(path)
    out = ["MEME version 4", "", f"ALPHABET= {ALPHABET}", "", "strands: + -", "",
           "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for m in motifs:
        out.append(f"MOTIF {m.name}")
        out.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= 20 E= 0")
        for col in m.pfm.T:
            out.append(" ".join(f"{v:.6f}" for v in col))
        out.append("")
    path.write_text("\n".join(out))
    return path
