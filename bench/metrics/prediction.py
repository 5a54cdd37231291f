"""Prediction quality on held-out sequences."""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.special import logsumexp
from scipy.stats import pearsonr, spearmanr

from simulations import parse_spec
from simulations.grammar import ResolvedSpec
from simulations.likelihood import class_log_likelihood_ratios

from ._ranking import auroc_rows, average_precision_rows


def paper_auprc(y: np.ndarray, z: np.ndarray) -> float:
    """The ARGMINN reference's auPRC: trapezoidal area under its own precision-recall curve.

    Distinct scores are the thresholds (ties merged); the curve stops at the first threshold
    reaching full recall and the point (recall 0, precision 1) is appended; the area is the
    trapezoidal rule over recall (``sklearn.metrics.auc``). Trapezoids interpolate precision
    linearly between operating points, which is optimistic; :func:`prediction_scores` reports
    the step-wise ``average_precision`` beside it.

    Parameters
    ----------
    y : (N,) in {0, 1}
    z : (N,) scores

    Returns
    -------
    float; NaN without positives (the reference crashes there).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    z = np.asarray(z, dtype=np.float64).ravel()
    n_pos = y.sum()
    if n_pos == 0:
        return np.nan
    order = np.argsort(-z, kind="stable")
    zs, ys = z[order], y[order]
    ends = np.flatnonzero(np.r_[zs[:-1] != zs[1:], True])  # last index of each tie group
    tp = np.cumsum(ys)[ends]
    precision = tp / (ends + 1.0)
    recall = tp / n_pos
    stop = int(np.argmax(tp == n_pos))
    recall = np.r_[0.0, recall[:stop + 1]]
    precision = np.r_[1.0, precision[:stop + 1]]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2.0))


def _binary_scores(y: np.ndarray, z: np.ndarray) -> dict[str, float]:
    pos = y == 1
    pred = z > 0  # logit > 0 ⇔ probability > 0.5, the paper's accuracy threshold
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    n_pred = int(pred.sum())
    return {
        "auroc": float(auroc_rows(z[None, :], pos[None, :])[0]),
        "average_precision": float(average_precision_rows(z[None, :], pos[None, :])[0]),
        "paper_auprc": paper_auprc(y, z),
        # no predicted positive: precision 0, as the reference (and sklearn's zero_division) set it
        "precision": float((pred & pos).sum() / n_pred) if n_pred else 0.0,
        "recall": float((pred & pos).sum() / n_pos) if n_pos else np.nan,
        "accuracy": float((pred == pos).mean()),
        "positive_accuracy": float(pred[pos].mean()) if n_pos else np.nan,
        "negative_accuracy": float((~pred[~pos]).mean()) if n_neg else np.nan,
        "n": float(y.size),
        "positive_fraction": float(n_pos / y.size),
    }


def _continuous_scores(y: np.ndarray, z: np.ndarray) -> dict[str, float]:
    const = np.ptp(y) == 0 or np.ptp(z) == 0
    return {
        "pearson": np.nan if const else float(pearsonr(y, z)[0]),
        "spearman": np.nan if const else float(spearmanr(y, z)[0]),
        "mse": float(np.mean((y - z) ** 2)),
        "n": float(y.size),
    }


def prediction_scores(y_true, logits, kind: str = "auto") -> dict[str, float]:
    """Prediction metrics for one task (or the macro mean over tasks).

    Parameters
    ----------
    y_true : (N,) or (N, T)
        Labels in {0, 1} (binary) or real values (continuous).
    logits : same shape as ``y_true``
        Binary: logits (accuracy thresholds at 0, i.e. probability 0.5); continuous: predictions.
    kind : {"auto", "binary", "continuous"}
        "auto" picks binary when every label is 0 or 1.

    Returns
    -------
    Binary: ``auroc``, ``average_precision`` (sklearn's step AP), ``paper_auprc`` (the
    reference's trapezoidal auPRC, see :func:`paper_auprc`), ``precision`` and ``recall`` at
    logit > 0, ``accuracy``, ``positive_accuracy``, ``negative_accuracy``, ``n``,
    ``positive_fraction``. Continuous: ``pearson``, ``spearman``, ``mse``, ``n``.
    With T tasks, each value is the mean over tasks (NaN tasks ignored).

    NaN only where undefined: auroc when one class is absent; average_precision, paper_auprc
    and recall with no positive (with no negative AP is 1); precision is 0 with no predicted
    positive; per-class accuracy for an absent class; correlations
    for a constant vector. Accuracy is always defined.
    """
    y = np.asarray(y_true, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ValueError(f"y_true must have shape (N,) or (N, T) with N > 0, got {y.shape}")
    if z.shape != y.shape:
        raise ValueError(f"logits must have the shape of y_true {y.shape}, got {z.shape}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise ValueError("y_true and logits must be finite")
    if kind not in ("auto", "binary", "continuous"):
        raise ValueError(f"kind must be 'auto', 'binary' or 'continuous', got {kind!r}")
    binary = np.all((y == 0) | (y == 1)) if kind == "auto" else kind == "binary"
    if binary and not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must be 0 or 1 for kind='binary'")
    fn = _binary_scores if binary else _continuous_scores
    y2, z2 = y.reshape(y.shape[0], -1), z.reshape(z.shape[0], -1)
    per_task = [fn(y2[:, t], z2[:, t]) for t in range(y2.shape[1])]
    if len(per_task) == 1:
        return per_task[0]
    out = {}
    for key in per_task[0]:
        vals = np.array([d[key] for d in per_task])
        out[key] = float(np.nanmean(vals)) if np.any(np.isfinite(vals)) else np.nan
    return out


def planted_content_oracle(instances, y, fit_index, test_index, spec=None) -> float:
    """auROC of a reader that sees exactly what was planted, and nothing of the sequence else.

    Each sequence is reduced to its functional planted content (empty for a background sequence):

    - its chain: the motifs and strands in positional order and the distances between consecutive starts;
    - its scattered sites: how many of each motif (on each strand, unless every scatter element of that
      motif in ``spec`` draws its strands at random, when the split carries no information), not where:
      a scattered site lands anywhere free in every class, so its position only fragments the content
      (with the positions in it, a count grammar's every sequence held a content of its own and the
      reader fell to chance).

    A planted instance is scattered when its ``role`` is a scatter role of ``spec`` (and no chain role),
    or, without ``spec``, when its role has the simulator's default form ``config:scatter:motif``; without
    a ``role`` column every instance counts as chain.

    The oracle scores a test sequence by the fraction of positives among the ``fit_index`` sequences with
    the same content (the overall fraction for content never seen there). Its auROC is the ceiling set by
    the grammar alone: where two classes plant the same content (a lone motif in positives and in
    negatives), no model can separate them. It ignores how recognizable each sampled site is, so a model
    can fall below it for that reason too; and it ignores where a chain sits, so a grammar whose classes
    differ only in chain position (centred against uniform) can be read better than it.

    Parameters
    ----------
    instances : DataFrame
        The dataset's planted instances (``seq, start, strand, motif, functional``, and ``role``).
    y : (N,) in {0, 1}
        Labels of every sequence.
    fit_index, test_index : array of int
        Sequences the content rates are counted on, and sequences scored.
    spec : dict, str, Path or ResolvedSpec, optional
        The grammar (``SimulatedDataset.spec``): which roles are scattered, and whose strands are random.

    Returns
    -------
    float
        NaN when the test labels hold one class only.
    """
    y = np.asarray(y).astype(int).reshape(-1)
    fit_index, test_index = np.asarray(fit_index), np.asarray(test_index)
    missing = {"seq", "start", "strand", "motif", "functional"} - set(instances.columns)
    if missing:
        raise ValueError(f"instances needs columns {sorted(missing)}")
    if len(test_index) == 0 or len(fit_index) == 0:
        raise ValueError("fit_index and test_index must name at least one sequence each")
    content = _planted_content(instances, len(y), spec)
    rates, counts = {}, {}
    for i in fit_index:
        c = content[i]
        rates[c] = rates.get(c, 0) + y[i]
        counts[c] = counts.get(c, 0) + 1
    overall = float(y[fit_index].mean())
    scores = np.array([rates[content[i]] / counts[content[i]] if content[i] in counts else overall
                       for i in test_index])
    y_test = y[test_index]
    if y_test.min() == y_test.max():
        return float("nan")
    return float(auroc_rows(scores[None, :], y_test[None, :].astype(bool))[0])


def _scatter_roles(spec):
    """The roles of a grammar's scattered elements (none that a chain element also has), and the motifs
    every scatter element of which draws its strands at random."""
    s = (spec if isinstance(spec, ResolvedSpec) else parse_spec(spec)).spec
    chain, scatter, orientations = set(), set(), {}
    for cls in s.classes:
        for cfg in cls.configs:
            chain.update(e.role or f"{cfg.name}:{e.motif}" for e in cfg.motifs)
            for e in cfg.scatter:
                scatter.add(e.role or f"{cfg.name}:scatter:{e.motif}")
                if e.functional:
                    orientations.setdefault(e.motif, set()).add(e.orientation)
    return scatter - chain, {m for m, o in orientations.items() if o == {"random"}}


def _planted_content(instances, n: int, spec=None) -> list:
    """Each sequence's functional planted content, as :func:`planted_content_oracle` reads it."""
    content = [()] * n
    planted = instances[instances["functional"]].sort_values(["seq", "start"], kind="stable")
    if spec is not None and "role" in planted.columns:
        roles, random_strands = _scatter_roles(spec)
        scattered = planted["role"].isin(roles).to_numpy()
    elif "role" in planted.columns:
        random_strands = set()
        scattered = planted["role"].astype(str).str.contains(":scatter:", regex=False).to_numpy()
    else:
        random_strands, scattered = set(), np.zeros(len(planted), dtype=bool)
    seqs = planted["seq"].to_numpy()
    starts, motifs, strands = planted["start"].to_numpy(), planted["motif"].to_numpy(), planted["strand"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, seqs[1:] != seqs[:-1], True]) if len(seqs) else np.zeros(1, int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        chain = np.arange(lo, hi)[~scattered[lo:hi]]
        scatter = np.arange(lo, hi)[scattered[lo:hi]]
        c = (tuple(zip(motifs[chain], strands[chain])), tuple(np.diff(starts[chain]).tolist()))
        if scatter.size:
            tally = Counter((m, "" if m in random_strands else st)  # "": the strand split is not read
                            for m, st in zip(motifs[scatter], strands[scatter]))
            c += (tuple(sorted(tally.items())),)
        content[int(seqs[lo])] = c
    return content


def _binary_grammar(spec):
    resolved = parse_spec(spec)
    labels = [c.label for c in resolved.spec.classes]
    if any(np.ndim(label) or label not in (0, 1) for label in labels) or set(labels) != {0, 1}:
        raise ValueError(f"the likelihood-ratio oracle needs classes labelled 0 and 1, got labels {labels}")
    return resolved


def likelihood_ratio_scores(spec, x) -> np.ndarray:
    """log P(x | label 1) - log P(x | label 0) of each sequence under the generative model.

    Each class's likelihood (:func:`simulations.likelihood.class_log_likelihood_ratios`, which states
    its simplifications) is weighted by its fraction within its label.

    Parameters
    ----------
    spec : dict, str, Path or ResolvedSpec
        The grammar the sequences were simulated from (``SimulatedDataset.spec`` or a preset name).
    x : (N, 4, L) one-hot
        The sequences scored.

    Returns
    -------
    (N,) float64
        Finite: a sequence only one label can emit gets +-1e300.
    """
    resolved = _binary_grammar(spec)
    labels = [c.label for c in resolved.spec.classes]
    log_lr = class_log_likelihood_ratios(resolved, x)
    fractions = np.array([c.fraction for c in resolved.spec.classes], dtype=float)
    label_of = np.array(labels, dtype=float)
    by_label = []
    for label in (1, 0):
        member = label_of == label
        weights = np.log(fractions[member] / fractions[member].sum())
        by_label.append(logsumexp(log_lr[:, member] + weights[None, :], axis=1))
    return np.nan_to_num(by_label[0] - by_label[1], nan=0.0, posinf=1e300, neginf=-1e300)


def likelihood_ratio_oracle(spec, x, y, scores=None) -> float:
    """auROC of the reader that knows the generative model: the grammar, the PFMs and the background.

    Each sequence is scored by :func:`likelihood_ratio_scores`. Unlike :func:`planted_content_oracle`
    it reads the sequence, so a PFM-sampled site that looks like background costs it what it costs a
    model: its auROC is the ceiling the simulation sets, grammar and site recognizability together.

    Parameters
    ----------
    spec : dict, str, Path or ResolvedSpec
        The grammar the sequences were simulated from (``SimulatedDataset.spec`` or a preset name).
    x : (N, 4, L) one-hot
        The sequences scored (e.g. the test split).
    y : (N,) in {0, 1}
        Their labels.
    scores : (N,) float, optional
        ``likelihood_ratio_scores(spec, x)`` when the caller has them already.

    Returns
    -------
    float
        NaN when ``y`` holds one class only.
    """
    resolved = _binary_grammar(spec)
    y = np.asarray(y).reshape(-1)
    if y.size != len(x):
        raise ValueError(f"y has {y.size} labels for {len(x)} sequences")
    if y.size == 0 or not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold labels in {0, 1} for at least one sequence")
    if y.min() == y.max():
        return float("nan")
    score = likelihood_ratio_scores(resolved, x) if scores is None else np.asarray(scores, dtype=float)
    return float(auroc_rows(score[None, :], (y == 1)[None, :])[0])


def held_out_ceilings(ds, ratio_scores=None) -> dict[str, float]:
    """Both oracles on a ``SimulatedDataset``'s test split: the likelihood ratio (a lower bound of the
    best auROC any model can reach; exact where :func:`simulations.likelihood.class_log_likelihood_ratios`
    makes no simplification) and the planted content, its rates fitted on train + valid (an upper bound
    where both classes draw the sequence from that content alike).

    ``ratio_scores``: the test split's :func:`likelihood_ratio_scores`, when the caller has them already.

    Returns
    -------
    ``ceiling_likelihood_ratio``, ``ceiling_planted_content``
    """
    test = ds.splits["test"]
    fit = np.concatenate([ds.splits["train"], ds.splits["valid"]])
    resolved = parse_spec(ds.spec)
    return {"ceiling_likelihood_ratio": likelihood_ratio_oracle(resolved, ds.x[test], ds.y[test], ratio_scores),
            "ceiling_planted_content": planted_content_oracle(ds.instances, ds.y, fit, test, resolved)}
