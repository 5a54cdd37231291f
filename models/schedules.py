"""Per-epoch loss-weight schedules (notes §3.5).

A weight is either a scalar (constant), a sequence of per-epoch values, or a dict
``{burn_in, start_exp, end_exp, steps, hold}`` that expands, like the reference's
``make_piecewise_linear_scale.sh``, to ``burn_in`` zeros, ``10**linspace(start_exp, end_exp, steps)``
and ``hold`` copies of ``10**end_exp``. Epoch ``e`` (0-based) reads element ``min(e, len - 1)``.
That is the ``"paper"`` schedule (``schedule: paper``, for reproducing the paper).

The ``"adaptive"`` schedule, ``fit``'s default (:class:`AdaptiveController`, settings :class:`AdaptiveSettings`) keeps a
dict's ramp and hold but starts it once the unregularized model has learned, and undoes a collapse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

SCHEDULE_KEYS = ("burn_in", "start_exp", "end_exp", "steps", "hold")

#: notes §3.5 row 1: the schedules of the logged ARGMINN run and (inferred) the paper's simulated models
PAPER_OVERLAP = {"burn_in": 10, "start_exp": 0.5, "end_exp": 5.0, "steps": 20, "hold": 10}
PAPER_L1 = {"burn_in": 10, "start_exp": -3.0, "end_exp": -2.0, "steps": 20, "hold": 10}


def expand_schedule(weight, name: str = "weight") -> np.ndarray:
    """Expand a weight spec to its per-epoch array.

    Parameters
    ----------
    weight : float, sequence of float, or dict with keys ``SCHEDULE_KEYS``
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray, shape (E,)
        Non-negative finite weights; a scalar gives shape (1,).
    """
    if isinstance(weight, Mapping):
        unknown = set(weight) - set(SCHEDULE_KEYS)
        missing = set(SCHEDULE_KEYS) - set(weight)
        if unknown or missing:
            raise ValueError(
                f"{name}: a schedule dict needs exactly the keys {list(SCHEDULE_KEYS)}; "
                f"unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        burn_in, steps, hold = (int(weight[k]) for k in ("burn_in", "steps", "hold"))
        if min(burn_in, steps, hold) < 0 or burn_in + steps + hold == 0:
            raise ValueError(f"{name}: burn_in, steps and hold must be >= 0 and not all 0, got {dict(weight)}")
        end = float(weight["end_exp"])
        arr = np.concatenate([
            np.zeros(burn_in),
            10.0 ** np.linspace(float(weight["start_exp"]), end, steps),
            np.full(hold, 10.0 ** end),
        ])
    elif isinstance(weight, (int, float, np.floating, np.integer)) and not isinstance(weight, bool):
        arr = np.array([float(weight)])
    elif isinstance(weight, Sequence) and not isinstance(weight, str) and len(weight) > 0:
        arr = np.asarray(weight, dtype=np.float64).ravel()
    else:
        raise ValueError(f"{name} must be a number, a non-empty list, or a schedule dict {list(SCHEDULE_KEYS)}; "
                         f"got {weight!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {arr.tolist()}")
    return arr


def weight_at(weight, epoch: int, name: str = "weight") -> float:
    """The weight at 0-based ``epoch`` (the last value is held past the end)."""
    arr = expand_schedule(weight, name)
    return float(arr[min(int(epoch), len(arr) - 1)])


def ramp_end(weight, name: str = "weight") -> int:
    """First epoch from which the weight stays constant (0 for a scalar).

    Best-weight selection starts here: before it the regularizer has not reached its
    final strength, so a low prediction loss there says nothing about the regularized model.
    """
    arr = expand_schedule(weight, name)
    changes = np.nonzero(arr[1:] != arr[:-1])[0]
    return int(changes[-1] + 1) if len(changes) else 0


# --------------------------------------------------------------------------- the adaptive schedule
#
# ``TrainConfig(schedule="adaptive")``: the regularizers ramp up once the unregularized model has learned,
# a collapse to a constant output after the ramp began is undone, and early stopping waits for the model
# to learn. The decisions are made here, from each epoch's validation metrics alone, so they can be tested
# without training; ``models.train.fit`` carries them out (weights, copies, restores, stops).

SCHEDULES = ("paper", "adaptive")

#: the adaptive schedule's settings (``TrainConfig.adaptive``) and their defaults
ADAPTIVE_DEFAULTS = {
    "ramp_min_gain": 0.1,
    "ramp_patience": 5,
    "plateau_delta": 0.005,
    "max_burn_in": 30,
    "collapse_margin": 0.02,
    "dead_fraction": 1e-3,
    "max_gain_loss": 0.5,
    "max_retries": 2,
    "slowdown": 2.0,
    "max_epochs": None,
}

#: with ``max_epochs`` None, the hard cap is this many times ``TrainConfig.epochs``
MAX_EPOCHS_FACTOR = 4

#: (kind, lower bound, lower inclusive, upper bound, upper inclusive) of each setting
_ADAPTIVE_RANGES = {
    "ramp_min_gain": ("number", 0.0, False, 0.5, False),
    "ramp_patience": ("int", 1, True, None, False),
    "plateau_delta": ("number", 0.0, True, 0.5, False),
    "max_burn_in": ("int", 1, True, None, False),
    "collapse_margin": ("number", 0.0, True, 0.5, False),
    "dead_fraction": ("number", 0.0, True, 1.0, False),
    "max_gain_loss": ("number", 0.0, False, 1.0, True),
    "max_retries": ("int", 0, True, None, False),
    "slowdown": ("number", 1.0, True, None, False),
    "max_epochs": ("int", 1, True, None, False),
}


def _range_text(lo, lo_inc, hi, hi_inc) -> str:
    parts = [f"{'>=' if lo_inc else '>'} {lo}"]
    if hi is not None:
        parts.append(f"{'<=' if hi_inc else '<'} {hi}")
    return " and ".join(parts)


@dataclass(frozen=True)
class AdaptiveSettings:
    """Settings of the adaptive schedule (``TrainConfig.adaptive``); the defaults are ``ADAPTIVE_DEFAULTS``.

    Attributes
    ----------
    ramp_min_gain : float
        The model has *learned* once its validation auROC reaches ``0.5 + ramp_min_gain``.
    ramp_patience : int
        The ramp starts after this many epochs without a validation-auROC improvement of more than
        ``plateau_delta``, once the model has learned.
    plateau_delta : float
        The smallest validation-auROC gain that counts as an improvement for the plateau rule.
    max_burn_in : int
        Without a plateau, the ramp starts at epoch ``max(max_burn_in, learned epoch + max_burn_in)`` (0-based);
        never before the model has learned.
    collapse_margin : float
        After the ramp began, a validation auROC below ``0.5 + collapse_margin`` is a collapse when the
        best pre-ramp auROC was at least ``0.5 + 2 * collapse_margin``. 0 turns this rule off.
    dead_fraction : float
        After the ramp began, it is also a collapse when every filter's mean |activation| on the validation
        split falls below ``dead_fraction`` times the largest filter's at the ramp start while the validation
        auROC has lost at least half its gain over chance. 0 turns it off.
    max_gain_loss : float
        When a ramp's attempt ends, the copy it would return may have lost at most this share of the best
        pre-ramp validation auROC's gain over chance; below that it is a collapse (``lost_gain``) like the
        others: a partial collapse the per-epoch rules let through (measured: an ARGMINN on a one-motif
        grammar fell from 0.965 before the ramp to 0.649 at the kept epoch, above the chance rule's 0.52).
        1 turns the rule off.
    max_retries : int
        Ramps tried again after a collapse; one more collapse gives up and keeps the best pre-ramp weights.
    slowdown : float
        Retry ``k`` ramps over ``ceil(steps * slowdown**k)`` epochs.
    max_epochs : int or None
        Hard cap on the epochs trained, retries included (>= ``TrainConfig.epochs``); None (default) is
        ``MAX_EPOCHS_FACTOR`` (4) times ``TrainConfig.epochs``: room for a model that starts to learn late (the
        relative-strand grammar's ARGMINN left chance after 55 of the default suite's 25 planned epochs).
    """

    ramp_min_gain: float = ADAPTIVE_DEFAULTS["ramp_min_gain"]
    ramp_patience: int = ADAPTIVE_DEFAULTS["ramp_patience"]
    plateau_delta: float = ADAPTIVE_DEFAULTS["plateau_delta"]
    max_burn_in: int = ADAPTIVE_DEFAULTS["max_burn_in"]
    collapse_margin: float = ADAPTIVE_DEFAULTS["collapse_margin"]
    dead_fraction: float = ADAPTIVE_DEFAULTS["dead_fraction"]
    max_gain_loss: float = ADAPTIVE_DEFAULTS["max_gain_loss"]
    max_retries: int = ADAPTIVE_DEFAULTS["max_retries"]
    slowdown: float = ADAPTIVE_DEFAULTS["slowdown"]
    max_epochs: int | None = ADAPTIVE_DEFAULTS["max_epochs"]

    @classmethod
    def from_dict(cls, d, name: str = "adaptive") -> "AdaptiveSettings":
        """Validated settings from a (possibly partial) dict; None gives the defaults.

        Raises
        ------
        ValueError
            One line naming the field: not a dict, an unknown key, a wrong type or a value out of range.
        """
        if d is None:
            d = {}
        if not isinstance(d, Mapping):
            raise ValueError(f"{name} must be a dict of settings {sorted(ADAPTIVE_DEFAULTS)} or None, got {d!r}")
        unknown = sorted(str(k) for k in set(d) - set(ADAPTIVE_DEFAULTS))
        if unknown:
            raise ValueError(f"{name}: unknown key(s) {unknown}; valid keys: {sorted(ADAPTIVE_DEFAULTS)}")
        values = {}
        for key, default in ADAPTIVE_DEFAULTS.items():
            v = d.get(key, default)
            if key == "max_epochs" and v is None:
                values[key] = None
                continue
            kind, lo, lo_inc, hi, hi_inc = _ADAPTIVE_RANGES[key]
            bool_like = isinstance(v, (bool, np.bool_))
            if kind == "int":
                ok_type = not bool_like and isinstance(v, (int, np.integer))
            else:
                ok_type = (not bool_like and isinstance(v, (int, float, np.integer, np.floating))
                           and math.isfinite(float(v)))
            in_range = ok_type and ((v >= lo) if lo_inc else (v > lo)) and (
                hi is None or ((v <= hi) if hi_inc else (v < hi)))
            if not in_range:
                what = "an int" if kind == "int" else "a number"
                if key == "max_epochs":
                    what = "null or an int"
                raise ValueError(f"{name}.{key} must be {what} {_range_text(lo, lo_inc, hi, hi_inc)}, got {v!r}")
            values[key] = int(v) if kind == "int" else float(v)
        if values["max_epochs"] is not None and values["max_burn_in"] >= values["max_epochs"]:
            raise ValueError(f"{name}.max_burn_in must be < {name}.max_epochs ({values['max_epochs']}), "
                             f"got {values['max_burn_in']}")
        return cls(**values)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ADAPTIVE_DEFAULTS}


@dataclass(frozen=True)
class Ramp:
    """One regularizer's log ramp: ``10**linspace(start_exp, end_exp, steps)``, then ``10**end_exp`` held
    (for ``hold`` epochs in the planned length, and for as long as training goes on after that)."""

    start_exp: float
    end_exp: float
    steps: int
    hold: int

    def exponent(self, t: int) -> float:
        """log10 of the weight ``t`` epochs (0-based) after the ramp began."""
        if t < self.steps:
            return float(np.linspace(self.start_exp, self.end_exp, self.steps)[t])
        return float(self.end_exp)

    def weight(self, t: int) -> float:
        """The weight ``t`` epochs after the ramp began; the values of :func:`expand_schedule` after its burn-in."""
        if t < self.steps:
            return float((10.0 ** np.linspace(self.start_exp, self.end_exp, self.steps))[t])
        return float(10.0 ** self.end_exp)

    @property
    def length(self) -> int:
        return self.steps + self.hold

    @property
    def final_from(self) -> int:
        """First ``t`` from which the weight stays at its final value (as :func:`ramp_end` counts)."""
        return max(self.steps - 1, 0)


@dataclass
class Decision:
    """What the trainer does after one epoch of the adaptive schedule.

    Attributes
    ----------
    events : list of dict
        This epoch's events, e.g. ``{"event": "ramp_started", "epoch": 12, ...}`` (``epoch``: the epoch
        whose validation metrics led to it).
    save_pre_best : bool
        These weights are the best unregularized ones so far: keep a copy (kept if the run gives up).
    save_best : bool
        These weights are the best of the current ramp, from its final weight on: keep a copy.
    snapshot : bool
        The ramp starts with the next epoch: keep these weights and the optimizer state to restore.
    restore : bool
        A collapse: load the snapshot before the next epoch (the failed ramp's copy is dropped).
    stop : bool
        Training ends after this epoch.
    keep : str
        With ``stop``: ``"best"`` or ``"pre_ramp_best"``, the copy to return.
    """

    events: list = field(default_factory=list)
    save_pre_best: bool = False
    save_best: bool = False
    snapshot: bool = False
    restore: bool = False
    stop: bool = False
    keep: str = "best"


def _near_best(loss: float, best: float, have: bool, min_delta: float) -> tuple[bool, bool, float]:
    """The trainer's selection rule: (within ``min_delta`` of the lowest → keep, improved, new lowest)."""
    improved = loss < best - min_delta
    keep = (not have) or loss <= best + min_delta
    return keep, improved, min(best, loss)


class AdaptiveController:
    """The adaptive schedule's decisions from each epoch's validation metrics; no torch, no training.

    Call :meth:`weights` before each epoch and :meth:`observe` after it.

    Parameters
    ----------
    weights : dict
        Loss name → a number (constant from the first epoch) or a schedule dict (its ``start_exp``,
        ``end_exp``, ``steps`` and ``hold`` form the ramp; its ``burn_in`` is replaced by the start rule).
    settings : AdaptiveSettings
    epochs : int
        The planned length: training lasts ``max(epochs, ramp start + steps + hold)`` epochs unless stopped
        earlier, and never more than ``settings.max_epochs`` (None: ``MAX_EPOCHS_FACTOR`` x ``epochs``).
    patience : int or None
        Stop after this many eligible epochs without a validation-loss improvement of ``min_delta``,
        counted only once the model has learned (and, with a ramp, from its final weight on).
    min_delta : float
        As ``TrainConfig.min_delta`` (validation prediction loss).

    The rules
    ---------
    * *learned*: validation auROC >= 0.5 + ``ramp_min_gain`` at some epoch.
    * *ramp start*: after the epoch at which the model has learned and its auROC has not improved by more
      than ``plateau_delta`` for ``ramp_patience`` epochs, or, without a plateau, after epoch
      ``max(max_burn_in, learned epoch + max_burn_in) - 1``. A model still at chance at ``max_burn_in`` is
      not ramped (event ``ramp_deferred``): it trains on unregularized until it learns (then the same rules
      apply, counted from the epoch it learned) or ``max_epochs`` ends it
      (outcome "never learned", the best unregularized weights kept). On a relative-strand grammar the
      unregularized ARGMINN left chance only after 2,200 steps; any fixed burn-in shorter than that
      ramped it to a constant output.
    * *budget*: with a ramp, training lasts ``max(epochs, ramp start + steps + hold)`` epochs unless it
      stops earlier; without one (the baselines), until early stopping or ``max_epochs``: a model that
      starts to learn late is not cut off by a fixed count.
    * *collapse* (from the first ramped epoch on): auROC < 0.5 + ``collapse_margin`` while the best
      pre-ramp auROC was >= 0.5 + 2 ``collapse_margin``, or every filter's activation below
      ``dead_fraction`` × the largest at the ramp start with the auROC below halfway from chance to its
      pre-ramp best; and, when an attempt ends (its planned end, early stopping or the cap), a copy to keep
      whose auROC has lost more than ``max_gain_loss`` of the pre-ramp gain over chance (``lost_gain``: a
      partial collapse). Then the pre-ramp weights and optimizer are
      restored and the ramp starts again: over ``slowdown`` times the steps, ending at the last weight
      trained without a collapse (the weight of the epoch before the one that collapsed). Where that is
      no higher than the start weight (a collapse in the first ramped epoch), the whole ramp moves one
      decade down, ending at the old start weight. After ``max_retries`` retries, one more collapse gives
      up: the best pre-ramp weights are kept and the outcome is "collapsed, not recovered".
    * *selection and early stopping*: the best epoch is chosen as with the paper schedule (the latest within
      ``min_delta`` of the lowest validation loss) among the epochs of the current ramp from its final
      weight on (without a ramp: from the epoch the model learned, or every epoch if it never did; the best
      unregularized epoch kept for a give-up is chosen the same way); the patience counter runs on those
      epochs once the model has learned.
    """

    def __init__(self, weights: dict, settings: AdaptiveSettings, epochs: int, patience: int | None = None,
                 min_delta: float = 1e-3):
        self.settings = settings
        self.epochs = int(epochs)
        self.patience = patience
        self.min_delta = float(min_delta)
        #: the hard cap on the epochs trained
        self.max_epochs = (settings.max_epochs if settings.max_epochs is not None
                           else MAX_EPOCHS_FACTOR * self.epochs)
        if self.epochs > self.max_epochs:
            raise ValueError(f"epochs ({self.epochs}) must be <= adaptive.max_epochs ({self.max_epochs})")
        self._names = list(weights)
        self.constant, self.base_ramps = {}, {}
        for name, v in weights.items():
            if isinstance(v, Mapping):
                expand_schedule(v, name)
                ramp = Ramp(float(v["start_exp"]), float(v["end_exp"]), int(v["steps"]), int(v["hold"]))
                if ramp.length > 0:
                    self.base_ramps[name] = ramp
                else:
                    self.constant[name] = 0.0
            else:
                arr = expand_schedule(v, name)
                if len(arr) != 1:
                    raise ValueError(f"{name}: the adaptive schedule takes a number or a schedule dict, not a "
                                     f"per-epoch list")
                self.constant[name] = float(arr[0])
        self.ramps = dict(self.base_ramps)
        self.phase = "ramp_pending" if self.base_ramps else "unregularized"
        self.attempt = 0
        self.ramp_start = None  # first ramped epoch of the current attempt
        self.learned_epoch = None
        self.events = []
        self.outcome = None
        # plateau rule
        self._plateau_ref = None
        self._since_improved = 0
        # pre-ramp state
        self.pre_best_auroc = -math.inf
        self.pre_activation = None
        self.pre_best_epoch = None
        self._pre_best_loss = math.inf
        # selection in the current attempt
        self.best_epoch = None
        self._best_loss = math.inf
        self._best_auroc = -math.inf  # validation auROC of the copy kept as best
        self._stale = 0

    # ------------------------------------------------------------------ queries

    @property
    def regularized(self) -> bool:
        """Whether any loss weight ramps (else: no ramp, no collapse guard, selection from epoch 0)."""
        return bool(self.base_ramps)

    def weights(self, epoch: int) -> dict:
        """Loss name → weight for ``epoch``."""
        out = {}
        for name in self._names:
            if name in self.constant:
                out[name] = self.constant[name]
            elif self.ramp_start is None or epoch < self.ramp_start:
                out[name] = 0.0
            else:
                out[name] = self.ramps[name].weight(epoch - self.ramp_start)
        return out

    def select_from(self) -> int | None:
        """First epoch of the current attempt eligible as best (None while the ramp has not started)."""
        if not self.regularized:
            # from the epoch it learned: before it, a low loss is an untrained model's (measured: a small-data
            # CNN's validation loss rose from 0.71 at epoch 0 while its auROC rose to 0.71, and epoch 0 was kept)
            return self.learned_epoch if self.learned_epoch is not None else 0
        if self.ramp_start is None:
            return None
        final = self.ramp_start + max(r.final_from for r in self.ramps.values())
        return min(final, self.max_epochs - 1)

    def planned_end(self) -> int | None:
        """Epochs training lasts unless stopped earlier (None while the ramp has not started)."""
        if not self.regularized:
            # a budget by convergence: early stopping (counted once learned) or max_epochs ends it
            return None
        if self.ramp_start is None:
            return None
        return max(self.epochs, self.ramp_start + max(r.length for r in self.ramps.values()))

    # ------------------------------------------------------------------ decisions

    def _event(self, decision: Decision, name: str, epoch: int, **info) -> None:
        ev = {"event": name, "epoch": int(epoch), **info}
        decision.events.append(ev)
        self.events.append(ev)

    def collapse_reason(self, valid_auroc: float, activation: float | None) -> str | None:
        """``"chance"``, ``"dead_filters"`` or None for an epoch after the ramp began."""
        s = self.settings
        if (s.collapse_margin > 0 and self.pre_best_auroc >= 0.5 + 2 * s.collapse_margin
                and valid_auroc < 0.5 + s.collapse_margin):
            return "chance"
        # small first-layer activations alone are no collapse: ARGMINN normalizes them (batch norm) before
        # reading them, and its L1 penalty shrinks them (measured: activations at 2.4e-4 of the ramp start's
        # with validation auROC 0.934, from a best of 0.967); they count once the auROC has lost half its gain
        halfway = 0.5 + 0.5 * (self.pre_best_auroc - 0.5)
        if (s.dead_fraction > 0 and activation is not None and self.pre_activation
                and activation < s.dead_fraction * self.pre_activation and valid_auroc < halfway):
            return "dead_filters"
        return None

    def _retry_ramps(self, epoch: int) -> dict:
        """The ramps of the next attempt after a collapse seen at ``epoch``."""
        k = self.attempt + 1
        last_good = epoch - 1 - self.ramp_start  # t of the last epoch trained without a collapse
        out = {}
        for name, r in self.ramps.items():
            cap = r.exponent(last_good) if last_good >= 0 else -math.inf
            if cap > r.start_exp:
                start, end = r.start_exp, min(cap, r.end_exp)
            else:
                start, end = r.start_exp - 1.0, r.start_exp
            base = self.base_ramps[name]
            steps = int(math.ceil(base.steps * self.settings.slowdown ** k)) if base.steps else 0
            out[name] = Ramp(start, end, steps, base.hold)
        return out

    def observe(self, epoch: int, valid_loss: float, valid_auroc: float, activation: float | None = None) -> Decision:
        """Decide after ``epoch`` from its validation prediction loss, auROC and the largest filter's mean
        |activation| on the validation split (None: the dead-filter rule is skipped)."""
        s = self.settings
        d = Decision()
        auroc = float(valid_auroc) if valid_auroc is not None else float("nan")
        loss = float(valid_loss)
        if self.learned_epoch is None and auroc >= 0.5 + s.ramp_min_gain:
            self.learned_epoch = epoch
            self._event(d, "learned", epoch, valid_auroc=auroc)
            # the copies kept so far are of a model at chance: selection starts again from this epoch
            self.best_epoch, self._best_loss, self._best_auroc, self._stale = None, math.inf, -math.inf, 0
            self.pre_best_epoch, self._pre_best_loss = None, math.inf

        if self.phase == "ramp_pending":
            keep, _, self._pre_best_loss = _near_best(loss, self._pre_best_loss, self.pre_best_epoch is not None,
                                                      self.min_delta)
            if keep:
                d.save_pre_best, self.pre_best_epoch = True, epoch
            if auroc > self.pre_best_auroc:
                self.pre_best_auroc = auroc
            # the plateau is counted from the epoch the model learned: epochs flat at chance before it are no
            # plateau (a late learner was otherwise ramped in the epoch it first left chance)
            if (self._plateau_ref is None or auroc > self._plateau_ref + s.plateau_delta
                    or self.learned_epoch == epoch):
                self._plateau_ref, self._since_improved = auroc, 0
            else:
                self._since_improved += 1
            reason = None
            if self.learned_epoch is not None and self._since_improved >= s.ramp_patience:
                reason = "plateau"
            elif self.learned_epoch is not None and epoch + 1 >= max(s.max_burn_in, self.learned_epoch + s.max_burn_in):
                # past max_burn_in epochs of learning without a plateau (a slow, steady climb)
                reason = "max_burn_in"
            elif epoch + 1 == s.max_burn_in and self.learned_epoch is None:
                # a regularizer ramped onto a model still at chance ends it there (the fixed burn-in's
                # failure on grammars learned late): wait for it to learn, up to max_epochs
                self._event(d, "ramp_deferred", epoch, reason="not learned yet", valid_auroc=auroc)
            if reason:
                self.phase, self.ramp_start, d.snapshot = "ramp", epoch + 1, True
                self.pre_activation = activation
                self._event(d, "ramp_started", epoch, first_epoch=epoch + 1, reason=reason, attempt=0,
                            pre_ramp_best_auroc=self.pre_best_auroc, ramps=self._ramps_info())
        elif self.phase == "ramp":
            reason = self.collapse_reason(auroc, activation)
            if reason:
                self._event(d, "collapse_detected", epoch, reason=reason, attempt=self.attempt, valid_auroc=auroc,
                            valid_filter_activation=activation, weights=self.weights(epoch))
                if self._retry_or_give_up(d, epoch):
                    return d
            else:
                self._select(d, epoch, loss, auroc)
        else:
            self._select(d, epoch, loss, auroc)

        if not d.restore:
            self._check_stop(d, epoch)
        if d.stop and self.phase == "ramp" and d.keep == "best" and self._kept_lost_gain():
            # the attempt ends, and the copy it would return has lost half its gain (a partial collapse the
            # per-epoch rules let through): undo it like a collapse
            d.stop, d.save_best = False, False
            self._event(d, "collapse_detected", epoch, reason="lost_gain", attempt=self.attempt,
                        valid_auroc=auroc, kept_epoch=self.best_epoch, kept_valid_auroc=self._best_auroc,
                        pre_ramp_best_auroc=self.pre_best_auroc, weights=self.weights(epoch))
            if self._retry_or_give_up(d, epoch):
                return d
        if d.stop and self.outcome is None:
            self.outcome = ("never learned" if self.learned_epoch is None
                            else "recovered" if self.attempt > 0 else "learned")
        return d

    def _kept_lost_gain(self) -> bool:
        """Whether the copy the current ramp would return has lost more than ``max_gain_loss`` of the best
        pre-ramp auROC's gain over chance (only where the pre-ramp model had learned: best >= 0.5 + 2 margin)."""
        s = self.settings
        if s.max_gain_loss >= 1 or self.best_epoch is None or self.pre_best_auroc < 0.5 + 2 * s.collapse_margin:
            return False
        floor = self.pre_best_auroc - s.max_gain_loss * (self.pre_best_auroc - 0.5)
        return bool(self._best_auroc < floor)

    def _retry_or_give_up(self, d: Decision, epoch: int) -> bool:
        """After a collapse seen at ``epoch``: restore and ramp again more gently, or give up (keep the best
        pre-ramp weights). True when training stops here."""
        if self.attempt >= self.settings.max_retries:
            self.outcome = "collapsed, not recovered"
            self._event(d, "gave_up", epoch, outcome=self.outcome, kept_epoch=self.pre_best_epoch)
            d.stop, d.keep = True, "pre_ramp_best"
            return True
        self.ramps = self._retry_ramps(epoch)
        self.attempt += 1
        self.ramp_start = epoch + 1
        self.best_epoch, self._best_loss, self._best_auroc, self._stale = None, math.inf, -math.inf, 0
        d.restore = True
        self._event(d, "restored", epoch, first_epoch=epoch + 1, attempt=self.attempt, ramps=self._ramps_info())
        if epoch + 1 >= self.max_epochs:  # no epoch left for the retry
            self.outcome = "collapsed, not recovered"
            self._event(d, "hard_cap_reached", epoch, max_epochs=self.max_epochs, planned_end=self.planned_end())
            d.stop, d.keep = True, "pre_ramp_best"
            return True
        return False

    def _ramps_info(self) -> dict:
        return {name: {"start_exp": r.start_exp, "end_exp": r.end_exp, "steps": r.steps, "hold": r.hold}
                for name, r in self.ramps.items()}

    def _select(self, d: Decision, epoch: int, loss: float, auroc: float) -> None:
        start = self.select_from()
        if start is None or epoch < start:
            return
        keep, improved, self._best_loss = _near_best(loss, self._best_loss, self.best_epoch is not None,
                                                     self.min_delta)
        if keep:
            d.save_best, self.best_epoch, self._best_auroc = True, epoch, auroc
        if self.learned_epoch is not None:
            self._stale = 0 if improved else self._stale + 1
        if self.patience is not None and self._stale >= self.patience:
            d.stop = True
            self._event(d, "stopped_early", epoch, patience=self.patience,
                        counted_from=max(self.learned_epoch, start))

    def _check_stop(self, d: Decision, epoch: int) -> None:
        if d.stop:
            return
        end = self.planned_end()
        if end is not None and epoch + 1 >= end:
            d.stop = True
        elif epoch + 1 >= self.max_epochs:
            d.stop = True
            self._event(d, "hard_cap_reached", epoch, max_epochs=self.max_epochs, planned_end=end)
        if d.stop:
            d.keep = "best" if self.best_epoch is not None else "pre_ramp_best"
