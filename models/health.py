"""How a training run went, read off its per-epoch history: learned, collapsed (and recovered or not),
still rising at the end, when the regularizer started.

The same record for both schedules: the adaptive one reports its own events (``TrainResult.events``), and
for the paper schedule, which has none, a collapse is found in the validation curve by the adaptive
schedule's own rule (:meth:`models.schedules.AdaptiveController.collapse_reason`'s chance test), so the two
are counted alike.
"""

from __future__ import annotations

import math

import numpy as np

from .schedules import ADAPTIVE_DEFAULTS

#: validation auROC at which a model counts as having learned (the adaptive schedule's ``ramp_min_gain``)
LEARNED_AUROC = 0.5 + ADAPTIVE_DEFAULTS["ramp_min_gain"]
#: an epoch after the ramp began is at chance below 0.5 + this (the adaptive schedule's ``collapse_margin``)
CHANCE_MARGIN = ADAPTIVE_DEFAULTS["collapse_margin"]
#: a kept copy (after the ramp began) that lost more than this share of the pre-ramp gain over chance is a
#: partial collapse (the adaptive schedule's ``max_gain_loss``)
MAX_GAIN_LOSS = ADAPTIVE_DEFAULTS["max_gain_loss"]
#: the last ``RISING_WINDOW`` epochs beat every earlier one by more than ``RISING_GAIN``: still rising
RISING_WINDOW = 5
RISING_GAIN = 0.01

STATUSES = ("converged", "still rising", "recovered", "collapsed, not recovered", "never learned")


def training_health(history: list, events: list | None = None, outcome: str | None = None) -> dict:
    """A summary of one training run.

    Parameters
    ----------
    history : list of dict
        ``TrainResult.history``: one dict per epoch with ``epoch``, ``valid_auroc``, ``weight_overlap``
        (absent for models without the regularizer) and ``best`` (the epoch kept).
    events : list of dict, optional
        ``TrainResult.events`` (adaptive schedule); empty or None for the paper schedule.
    outcome : str, optional
        ``TrainResult.outcome`` (adaptive schedule).

    Returns
    -------
    dict
        ``status`` (one of :data:`STATUSES`), ``epochs_trained``, ``best_epoch``, ``best_valid_auroc``,
        ``kept_valid_auroc``, ``ramp_start`` (first epoch with the overlap weight on, or None),
        ``pre_ramp_best_auroc``, ``collapse_epochs`` (epochs a collapse was detected, or for the paper
        schedule the first epoch of each run of epochs at chance after the ramp began), ``collapsed``,
        ``recovered``, ``still_rising`` and ``events`` (``[[event, epoch], ...]``, the adaptive schedule's).
    """
    events = list(events or [])
    if not history:
        raise ValueError("history must hold at least one epoch")
    auroc = np.array([_num(h.get("valid_auroc")) for h in history])
    weight = np.array([_num(h.get("weight_overlap", 0.0)) for h in history])
    weight = np.nan_to_num(weight)
    kept = [i for i, h in enumerate(history) if h.get("best")]
    best_epoch = kept[-1] if kept else len(history) - 1
    on = np.flatnonzero(weight > 0)
    ramp_start = int(on[0]) if len(on) else None
    # the first ramp's start, as the adaptive schedule reports it (a restore zeroes no weight, but say it)
    for e in events:
        if e.get("event") == "ramp_started":
            ramp_start = int(e.get("first_epoch", ramp_start if ramp_start is not None else 0))
            break
    pre = auroc[:ramp_start] if ramp_start is not None else auroc
    pre_best = float(np.nanmax(pre)) if np.isfinite(pre).any() else math.nan

    if events:
        collapse_epochs = [int(e["epoch"]) for e in events if e.get("event") == "collapse_detected"]
    elif ramp_start is not None and pre_best >= 0.5 + 2 * CHANCE_MARGIN:
        at_chance = np.isfinite(auroc) & (auroc < 0.5 + CHANCE_MARGIN)
        at_chance[:ramp_start] = False
        starts = np.flatnonzero(at_chance & ~np.concatenate([[False], at_chance[:-1]]))
        collapse_epochs = [int(s) for s in starts]
    else:
        collapse_epochs = []
    kept_auroc = _num(auroc[best_epoch])
    if (not events and not collapse_epochs and ramp_start is not None and best_epoch >= ramp_start
            and pre_best >= 0.5 + 2 * CHANCE_MARGIN and kept_auroc < pre_best - MAX_GAIN_LOSS * (pre_best - 0.5)):
        # never at chance, but the kept copy lost more than MAX_GAIN_LOSS of the gain over chance (the
        # adaptive schedule's lost_gain rule): a partial collapse, at the kept epoch
        collapse_epochs = [int(best_epoch)]
    collapsed = bool(collapse_epochs)
    learned = np.isfinite(auroc).any() and float(np.nanmax(auroc)) >= LEARNED_AUROC
    if outcome == "collapsed, not recovered":
        recovered = False
    elif outcome == "recovered":
        recovered = True
    else:
        # recovered: the kept epoch is off chance again, after the collapse
        recovered = collapsed and math.isfinite(kept_auroc) and kept_auroc >= 0.5 + 2 * CHANCE_MARGIN and (
            best_epoch > collapse_epochs[-1])
    n = len(auroc)
    still_rising = bool(n > RISING_WINDOW and np.isfinite(auroc).any()
                        and np.nanmax(auroc[-RISING_WINDOW:]) > np.nanmax(np.r_[auroc[:-RISING_WINDOW], -np.inf])
                        + RISING_GAIN)
    if collapsed and not recovered:
        status = "collapsed, not recovered"
    elif not learned or outcome == "never learned":
        status = "never learned"
    elif collapsed:
        status = "recovered"
    elif still_rising:
        status = "still rising"
    else:
        status = "converged"
    return {"status": status, "epochs_trained": n, "best_epoch": int(best_epoch),
            "best_valid_auroc": _round(np.nanmax(auroc) if np.isfinite(auroc).any() else math.nan),
            "kept_valid_auroc": _round(kept_auroc), "ramp_start": ramp_start,
            "pre_ramp_best_auroc": _round(pre_best), "collapse_epochs": collapse_epochs, "collapsed": collapsed,
            "recovered": bool(recovered), "still_rising": still_rising,
            "events": [[str(e.get("event")), int(e.get("epoch", -1))] for e in events]}


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _round(v) -> float | None:
    v = float(v)
    return round(v, 4) if math.isfinite(v) else None
