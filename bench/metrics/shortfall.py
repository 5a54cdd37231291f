"""Where a model's auROC falls short of the simulation's ceiling.

A PFM-sampled site can look much like background. The positives are grouped by how strong their
weakest planted site is, and the auROC (of a model, or of the likelihood-ratio oracle) is split
exactly over those groups: each group's positives ranked against every negative, weighted by the
group's share of the positives. The group shares times the auROC differences add up to the whole gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._ranking import auroc_rows

# upper edges of the weakest-site quantile groups; a sequence without a functional site is its own group
SITE_STRENGTH_GROUPS = (("bottom quarter", 0.25), ("second quarter", 0.5), ("top half", 1.0))
NO_SITE = "no planted site"


def weakest_site_quantile(instances: pd.DataFrame, seqs) -> np.ndarray:
    """Quantile of each sequence's weakest functional planted site among the sites of its motif.

    A site's strength is its PFM log-odds ``score``; its quantile is its rank among every functional
    site of the same motif in ``instances`` (ties averaged), so motifs of different widths and
    information contents are put on one scale: 0.1 means only a tenth of the sites sampled from that
    PFM are weaker.

    Parameters
    ----------
    instances : DataFrame
        A dataset's planted instances (``seq, motif, score, functional``).
    seqs : array of int, shape (N,)
        The sequences asked about.

    Returns
    -------
    (N,) float64
        In (0, 1]; NaN for a sequence without a functional planted site.
    """
    missing = {"seq", "motif", "score", "functional"} - set(instances.columns)
    if missing:
        raise ValueError(f"instances needs columns {sorted(missing)}")
    sites = instances[instances["functional"].astype(bool)]
    quantile = sites.groupby("motif")["score"].rank(pct=True, method="average")
    weakest = quantile.groupby(sites["seq"].to_numpy()).min()
    return weakest.reindex(np.asarray(seqs, dtype=int)).to_numpy(dtype=float)


def site_strength_groups(quantile) -> np.ndarray:
    """Group name of each weakest-site quantile (:data:`SITE_STRENGTH_GROUPS`, or :data:`NO_SITE`)."""
    q = np.asarray(quantile, dtype=float).reshape(-1)
    out = np.full(q.shape, NO_SITE, dtype=object)
    lower = 0.0
    for name, upper in SITE_STRENGTH_GROUPS:
        out[(q > lower) & (q <= upper)] = name
        lower = upper
    return out


def auroc_by_positive_group(y, scores: dict, groups) -> pd.DataFrame:
    """Each group's positives ranked against all negatives, for several scorers.

    ``auroc`` of a group is the probability that one of its positives outscores a random negative
    (ties count half); ``share`` is the group's fraction of the positives. For every scorer,
    ``sum(share * auroc)`` over the groups is its auROC on the whole set.

    Parameters
    ----------
    y : (N,) in {0, 1}
    scores : dict of name -> (N,) float
        Higher means more likely positive.
    groups : (N,) labels
        Only the positives' labels are used.

    Returns
    -------
    DataFrame
        One row per group of positives (in order of first appearance): ``group, n_positives, share``
        and one column per scorer; empty when ``y`` holds one class only.
    """
    y = np.asarray(y).reshape(-1)
    groups = np.asarray(groups, dtype=object).reshape(-1)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold labels in {0, 1}")
    if groups.shape != y.shape:
        raise ValueError(f"groups has {groups.size} labels for {y.size} sequences")
    for name, s in scores.items():
        if np.shape(s) != y.shape:
            raise ValueError(f"scores[{name!r}] has shape {np.shape(s)}, expected {y.shape}")
    negatives = y == 0
    n_pos = int((y == 1).sum())
    if n_pos == 0 or negatives.sum() == 0:
        return pd.DataFrame(columns=["group", "n_positives", "share", *scores])
    rows = []
    for group in pd.unique(groups[y == 1]):
        member = (y == 1) & (groups == group)
        row = {"group": group, "n_positives": int(member.sum()), "share": float(member.sum() / n_pos)}
        keep = member | negatives
        for name, s in scores.items():
            s = np.asarray(s, dtype=float)
            row[name] = float(auroc_rows(s[keep][None, :], member[keep][None, :])[0])
        rows.append(row)
    return pd.DataFrame(rows)


def shortfall_record(instances: pd.DataFrame, y, test, model_scores, ratio_scores) -> dict:
    """Where one model falls short of the likelihood-ratio ceiling on a test split, as plain numbers.

    Parameters
    ----------
    instances : DataFrame
        The dataset's planted instances (``seq, motif, score, functional``).
    y : (n,) labels of the whole dataset; test : (N,) int, the test split's rows.
    model_scores, ratio_scores : (N,) float
        The model's logits and the likelihood ratio on the test split.

    Returns
    -------
    dict
        ``auroc``, ``ceiling``, ``gap`` (= ceiling - auroc, the sum of the ``gap: <group>`` entries: each
        group's share of positives times the two scorers' difference on it) and, for the bottom quarter
        and the top half, ``<group>: model`` and ``<group>: ceiling``; empty when no group can be scored.
    """
    test = np.asarray(test, dtype=int)
    scores = {"model": np.asarray(model_scores, dtype=float), "ceiling": np.asarray(ratio_scores, dtype=float)}
    groups = site_strength_groups(weakest_site_quantile(instances, test))
    split = auroc_by_positive_group(np.asarray(y)[test], scores, groups).set_index("group")
    if split.empty:
        return {}
    total = {name: float((split["share"] * split[name]).sum()) for name in scores}
    out = {"auroc": round(total["model"], 3), "ceiling": round(total["ceiling"], 3),
           "gap": round(total["ceiling"] - total["model"], 3)}
    for group in [name for name, _ in SITE_STRENGTH_GROUPS] + [NO_SITE]:
        gap = split["share"].get(group, 0.0) * (split["ceiling"].get(group, 0.0) - split["model"].get(group, 0.0))
        out[f"gap: {group}"] = round(float(gap), 3) + 0.0  # no "-0" in the table
    for group in ("bottom quarter", "top half"):
        for name in scores:
            out[f"{group}: {name}"] = round(float(split[name].get(group, float("nan"))), 3)
    return out
