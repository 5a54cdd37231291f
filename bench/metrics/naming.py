"""Blind naming: would a user who does not know the truth name the right factor?

Every discovered motif that passes the benchmark's quality rule is IC-trimmed and compared by
Tomtom (memelite; complete score, both strands) with every JASPAR CORE vertebrate motif of one
release (latest versions; 1,019 in JASPAR 2026, read offline from the SQLite database pyjaspar
ships). Its *name* is its best target: smallest p-value (ties: larger Tomtom score, then JASPAR
order), provided that target's q-value (Benjamini-Hochberg over the query's p-values against the
whole database, as Tomtom reports) is at most ``q_threshold``; otherwise the motif stays unnamed.

A name is scored against the planted motifs' JASPAR matrices at three levels:

- ``matrix``: the same JASPAR base id (``MA0079``; versions ignored, since the database holds
  the latest version of each matrix);
- ``tf``: the same TF name, case-insensitively (``SPI1`` = ``Spi1``; a heterodimer's name is one
  name, ``GATA1::TAL1``);
- ``family``: the two share a TF family label of JASPAR's own (``tf_family``; a dimer carries
  one per partner). A matrix without a family label never matches at this level.

Recall at a level: planted motifs named (at that level) by at least one discovered motif /
planted motifs. Precision: named discovered motifs whose name matches some planted motif /
named discovered motifs.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulations.motifs import ALPHABET, DEFAULT_JASPAR_RELEASE, MotifError, from_counts

from .similarity import benjamini_hochberg, passes_quality, trim_by_ic

LEVELS = ("matrix", "tf", "family")
#: the q-value at or below which a Tomtom best hit names a motif (Tomtom's customary cut-off)
DEFAULT_Q_THRESHOLD = 0.05
_MATRIX_ID = re.compile(r"^MA\d{4}(\.\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class JasparEntry:
    """One JASPAR matrix: ids, TF name, JASPAR's family and class labels, PFM ``(4, W)``."""

    matrix_id: str
    base_id: str
    name: str
    families: tuple
    classes: tuple
    pfm: np.ndarray


def _entry(m) -> JasparEntry:
    counts = np.array([m.counts[b] for b in ALPHABET], dtype=np.float64)
    pfm = from_counts(m.matrix_id, counts).pfm
    return JasparEntry(str(m.matrix_id), str(m.base_id), str(m.name), tuple(m.tf_family or ()),
                       tuple(m.tf_class or ()), pfm)


@functools.lru_cache(maxsize=2)
def jaspar_library(release: str = DEFAULT_JASPAR_RELEASE) -> tuple:
    """Every JASPAR CORE vertebrate matrix of ``release`` (latest versions), read once per process.

    The same query as ``simulations.motifs`` uses to resolve motif names (pyjaspar's bundled
    database, offline), here with the counts, names and family labels kept.

    Returns
    -------
    tuple of :class:`JasparEntry`, sorted by matrix id.
    """
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise MotifError("pyjaspar is needed for blind naming: pip install pyjaspar") from exc
    motifs = jaspardb(release=release).fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False)
    return tuple(sorted((_entry(m) for m in motifs), key=lambda e: e.matrix_id))


@functools.lru_cache(maxsize=64)
def jaspar_entry(matrix_id: str, release: str = DEFAULT_JASPAR_RELEASE) -> JasparEntry:
    """One matrix by its id (any version, so also one older than the library's), from pyjaspar."""
    for e in jaspar_library(release):
        if e.matrix_id.upper() == matrix_id.upper():
            return e
    from pyjaspar import jaspardb

    m = jaspardb(release=release).fetch_motif_by_id(matrix_id)
    if m is None:
        raise MotifError(f"JASPAR ({release}) has no matrix {matrix_id!r}")
    return _entry(m)


def planted_jaspar_ids(spec: dict, names) -> dict:
    """The JASPAR matrix id each planted motif was loaded from, by motif name (None for motifs that
    came from a consensus, a matrix or a file).

    Parameters
    ----------
    spec : the simulation spec (``ds.spec``); ``spec["motifs"][name]`` is a JASPAR name or matrix
        id, or a mapping with a ``jaspar`` key (optionally ``release``)
    names : iterable of motif names
    """
    from simulations import jaspar_motif

    declared = spec.get("motifs", {}) if isinstance(spec, dict) else {}
    out = {}
    for name in names:
        source = declared.get(name)
        query, kwargs = None, {}
        if isinstance(source, str):
            query = source
        elif isinstance(source, dict) and source.get("jaspar"):
            query = source["jaspar"]
            if source.get("release"):
                kwargs["release"] = source["release"]
        if query is None:
            out[name] = None
        elif _MATRIX_ID.match(query) and "." in query:
            out[name] = query.upper()
        else:
            out[name] = jaspar_motif(query, **kwargs).source["jaspar"]
    return out


def _as_motifs(discovered) -> list:
    if not isinstance(discovered, (list, tuple)):
        raise ValueError(f"discovered must be a list of simulations.Motif, got {type(discovered).__name__}")
    for i, m in enumerate(discovered):
        if not (hasattr(m, "pfm") and hasattr(m, "name")):
            raise ValueError(f"discovered[{i}] must be a simulations.Motif (with .name and .pfm)")
    return list(discovered)


def name_motifs(discovered, library=None, q_threshold: float = DEFAULT_Q_THRESHOLD,
                quality: str | None = "uniform") -> pd.DataFrame:
    """The JASPAR name a user would give each discovered motif (see the module docstring).

    Parameters
    ----------
    discovered : list of simulations.Motif
    library : sequence of :class:`JasparEntry` or None (:func:`jaspar_library`)
    q_threshold : float in (0, 1]
    quality : {"uniform", "argminn", "modisco"} or None
        Motifs failing the rule (after IC trimming) are not named; None names every motif, untrimmed.

    Returns
    -------
    DataFrame, one row per discovered motif in input order: ``motif``, ``passes_quality``,
    ``matrix_id``, ``base_id``, ``tf``, ``families`` (tuple) of the best target, its ``p_value``
    and ``q_value`` (NaN and None for a motif not compared), and ``named`` (passes and q <=
    ``q_threshold``).
    """
    discovered = _as_motifs(discovered)
    if not 0 < q_threshold <= 1:
        raise ValueError(f"q_threshold must be in (0, 1], got {q_threshold!r}")
    library = jaspar_library() if library is None else tuple(library)
    rows = [{"motif": m.name, "passes_quality": True, "matrix_id": None, "base_id": None, "tf": None,
             "families": (), "p_value": np.nan, "q_value": np.nan, "named": False} for m in discovered]
    queries, where = [], []
    for i, m in enumerate(discovered):
        if quality is None:
            pfm = np.asarray(m.pfm, dtype=np.float64)
        elif passes_quality(m.pfm, quality):
            pfm = trim_by_ic(m.pfm)
        else:
            rows[i]["passes_quality"] = False
            continue
        queries.append(np.ascontiguousarray(pfm))
        where.append(i)
    if queries and library:
        from memelite import tomtom

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = tomtom(queries, [np.ascontiguousarray(e.pfm) for e in library], n_jobs=1)
        p = np.asarray(result[0], dtype=np.float64)
        score = np.asarray(result[1], dtype=np.float64)
        q = benjamini_hochberg(np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0))
        for r, i in enumerate(where):
            best = int(np.lexsort((-np.nan_to_num(score[r], nan=-np.inf), np.nan_to_num(p[r], nan=1.0)))[0])
            e = library[best]
            rows[i].update(matrix_id=e.matrix_id, base_id=e.base_id, tf=e.name, families=e.families,
                           p_value=float(p[r, best]), q_value=float(q[r, best]),
                           named=bool(q[r, best] <= q_threshold))
    return pd.DataFrame(rows, columns=["motif", "passes_quality", "matrix_id", "base_id", "tf", "families",
                                       "p_value", "q_value", "named"])


def _matches(name_row, planted: JasparEntry, level: str) -> bool:
    if level == "matrix":
        return name_row["base_id"] == planted.base_id
    if level == "tf":
        return str(name_row["tf"]).upper() == planted.name.upper()
    return bool(set(name_row["families"]) & set(planted.families))


def naming_scores(discovered, planted_ids, library=None, q_threshold: float = DEFAULT_Q_THRESHOLD,
                  quality: str | None = "uniform", release: str = DEFAULT_JASPAR_RELEASE) -> dict[str, float]:
    """Blind naming of discovered motifs against the planted JASPAR matrices.

    Parameters
    ----------
    discovered : list of simulations.Motif
    planted_ids : iterable of JASPAR matrix ids (``"MA0080.7"``) of the planted motifs (None
        entries, motifs not from JASPAR, are left out)
    library, q_threshold, quality : as in :func:`name_motifs`
    release : JASPAR release the planted ids are looked up in

    Returns
    -------
    dict: ``naming_recall_<level>`` and ``naming_precision_<level>`` for each level of
    :data:`LEVELS`, ``n_named`` (discovered motifs given a name), ``n_planted_named_tf`` (planted
    motifs with their TF named), ``n_planted``. Recall is NaN without planted JASPAR motifs,
    precision NaN without a named discovered motif.
    """
    ids = [i for i in planted_ids if i]
    planted = [jaspar_entry(i, release) for i in dict.fromkeys(ids)]
    names = name_motifs(discovered, library, q_threshold, quality)
    named = names[names["named"]]
    out = {}
    for level in LEVELS:
        hit = np.array([[_matches(r, p, level) for p in planted] for _, r in named.iterrows()],
                       dtype=bool).reshape(len(named), len(planted))
        out[f"naming_recall_{level}"] = float(hit.any(axis=0).mean()) if planted else np.nan
        out[f"naming_precision_{level}"] = float(hit.any(axis=1).mean()) if len(named) else np.nan
        if level == "tf":
            out["n_planted_named_tf"] = float(hit.any(axis=0).sum())
    out["n_named"] = float(len(named))
    out["n_planted"] = float(len(planted))
    return out
