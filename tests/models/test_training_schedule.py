"""The regularizer schedules of ``fit``: the adaptive one (the default) and the paper's (``schedule: paper``).

The adaptive schedule's decisions are driven directly here (``AdaptiveController`` on hand-made validation
curves); the fits are a few batches each. The slow test trains ARGMINN on a grammar the paper schedule
collapses on: ``.venv/bin/pytest tests/models/test_training_schedule.py -m slow``.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

import simulations
from models import TrainConfig, build_model, fit
from models.schedules import (ADAPTIVE_DEFAULTS, PAPER_L1, PAPER_OVERLAP, AdaptiveController, AdaptiveSettings,
                              expand_schedule)
from models.train import _Snapshot

PAPER_WEIGHTS = {"overlap": dict(PAPER_OVERLAP), "l1": dict(PAPER_L1), "att_entropy": 0.0}
UNREGULARIZED = {"overlap": 0.0, "l1": 0.0, "att_entropy": 0.0}
TINY = dict(epochs=2, batches_per_epoch=3, batch_size=16, progress=False, patience=None)
#: the history keys every reader knows (bench/report_figures.py reads epoch, valid_auroc, best, weight_overlap)
LEGACY_KEYS = {"epoch", "train_total", "train_pred", "weight_overlap", "weight_l1", "weight_att_entropy", "valid_loss",
               "valid_auroc", "valid_accuracy", "epoch_time_s", "best"}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny fits run ~50x faster on one thread when the machine is busy; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def controller(weights=None, epochs=40, patience=10, min_delta=1e-3, **settings):
    return AdaptiveController(PAPER_WEIGHTS if weights is None else weights, AdaptiveSettings.from_dict(settings),
                              epochs, patience, min_delta)


def drive(ctrl, aurocs, losses=None, activations=None):
    """Feed per-epoch metrics until the controller stops; returns [(weights, decision)] per epoch."""
    out = []
    for epoch, auroc in enumerate(aurocs):
        w = ctrl.weights(epoch)
        loss = 0.69 if losses is None else losses[epoch]
        act = 1.0 if activations is None else activations[epoch]
        d = ctrl.observe(epoch, loss, auroc, act)
        out.append((w, d))
        if d.stop:
            break
    return out


def events(ctrl, name=None):
    return [e for e in ctrl.events if name is None or e["event"] == name]


def first_ramped_epoch(ctrl):
    (started,) = events(ctrl, "ramp_started")
    return started["first_epoch"]


# --------------------------------------------------------------------------- when the ramp starts


def test_ramp_starts_once_the_learned_model_plateaus():
    ctrl = controller(ramp_patience=3)
    curve = [0.5, 0.55, 0.65, 0.75, 0.80, 0.802, 0.801, 0.803] + [0.80] * 40
    steps = drive(ctrl, curve)
    assert events(ctrl, "learned") == [{"event": "learned", "epoch": 2, "valid_auroc": 0.65}]
    # last improvement > plateau_delta (0.005) at epoch 4; three epochs without one: decided after epoch 7
    (started,) = events(ctrl, "ramp_started")
    assert (started["epoch"], started["first_epoch"], started["reason"]) == (7, 8, "plateau")
    assert steps[7][1].snapshot and not any(d.snapshot for _, d in steps[:7] + steps[8:])
    assert steps[7][0]["overlap"] == 0.0 and steps[8][0]["overlap"] == expand_schedule(PAPER_OVERLAP)[10]
    assert started["pre_ramp_best_auroc"] == 0.803


def test_ramp_and_hold_are_the_paper_schedule_shifted():
    ctrl = controller(ramp_patience=2, patience=None)
    steps = drive(ctrl, [0.7, 0.7, 0.7] + [0.7] * 60)
    r = first_ramped_epoch(ctrl)
    assert r == 3
    paper = {k: expand_schedule(v) for k, v in PAPER_WEIGHTS.items() if isinstance(v, dict)}
    for t in range(len(steps) - r):
        for name, arr in paper.items():
            assert steps[r + t][0][name] == arr[min(10 + t, len(arr) - 1)], (name, t)  # bit for bit
        assert steps[r + t][0]["att_entropy"] == 0.0
    # ramp + hold = 30 epochs after the start, at least `epochs`: max(40, 3 + 30) = 40 epochs in all
    assert ctrl.planned_end() == 40 and len(steps) == 40 and steps[-1][1].stop
    assert ctrl.select_from() == r + 19  # where the ramp reaches 1e5, as the paper's ramp_end (29 = 10 + 19)
    assert ctrl.outcome == "learned" and events(ctrl, "stopped_early") == []


def test_late_learner_ramps_after_it_learned_not_at_epoch_10():
    # the curve: 0.52-0.54 and rising at epoch 9, then learning
    curve = [0.50, 0.50, 0.51, 0.50, 0.51, 0.52, 0.52, 0.53, 0.53, 0.54, 0.55, 0.56, 0.58, 0.61, 0.65,
             0.70, 0.75, 0.80, 0.84, 0.86, 0.87, 0.87, 0.871, 0.87, 0.872, 0.87] + [0.87] * 60
    ctrl = controller()
    drive(ctrl, curve)
    assert events(ctrl, "learned")[0]["epoch"] == 13  # first >= 0.6
    (started,) = events(ctrl, "ramp_started")
    # last improvement at 20 (0.87); five epochs without one -> decided after 25, the ramp from 26
    assert (started["reason"], started["epoch"], started["first_epoch"]) == ("plateau", 25, 26)
    assert started["first_epoch"] > 10


def test_model_that_never_learns_is_never_ramped_and_trains_to_the_cap():
    rng = np.random.default_rng(0)
    curve = list(0.5 + rng.uniform(-0.02, 0.02, size=200))
    for max_burn_in in (30, 7):
        ctrl = controller(max_burn_in=max_burn_in, max_epochs=90)
        steps = drive(ctrl, curve)
        assert events(ctrl, "ramp_started") == []
        (deferred,) = events(ctrl, "ramp_deferred")
        assert deferred["epoch"] == max_burn_in - 1 and deferred["reason"] == "not learned yet"
        assert all(w["overlap"] == 0 and w["l1"] == 0 for w, _ in steps)
        assert len(steps) == 90 and steps[-1][1].stop and steps[-1][1].keep == "pre_ramp_best"
        assert events(ctrl, "learned") == [] and ctrl.outcome == "never learned"
        assert events(ctrl, "hard_cap_reached")[0]["epoch"] == 89
        # a pre-ramp best at chance is nothing to lose: staying at chance is no collapse
        assert events(ctrl, "collapse_detected") == []


def test_model_that_learns_after_max_burn_in_is_ramped_once_it_plateaus():
    """The relative-strand grammar's shape: at chance for 55 epochs, then learning (measured, 40-batch epochs)."""
    curve = [0.5 + 0.01 * ((e * 7) % 3 - 1) for e in range(55)]
    curve += [0.61, 0.64, 0.76, 0.76, 0.82, 0.82, 0.84, 0.84, 0.85, 0.855, 0.866, 0.869, 0.877, 0.882] + [0.882] * 60
    ctrl = controller(max_burn_in=30)
    steps = drive(ctrl, curve)
    assert events(ctrl, "ramp_deferred")[0]["epoch"] == 29
    assert events(ctrl, "learned")[0]["epoch"] == 55
    (started,) = events(ctrl, "ramp_started")
    # last improvement > plateau_delta (0.005) at 67 (0.877 after 0.866); five epochs without one -> ramp from 73
    assert (started["reason"], started["first_epoch"]) == ("plateau", 73)
    assert all(w["overlap"] == 0 for w, _ in steps[:73]) and steps[73][0]["overlap"] > 0
    assert ctrl.outcome == "learned"


def test_plateau_is_counted_from_the_epoch_the_model_learned():
    """Measured on a spacing-only grammar: flat near 0.58 for 60 epochs, 0.60 at epoch 93; the ramp started in
    that same epoch, before the model had learned anything more. Now it waits ramp_patience epochs."""
    curve = [0.58] * 60 + [0.61] + [0.615] * 40
    ctrl = controller(max_burn_in=30)
    drive(ctrl, curve)
    assert events(ctrl, "learned")[0]["epoch"] == 60
    (started,) = events(ctrl, "ramp_started")
    assert (started["reason"], started["epoch"], started["first_epoch"]) == ("plateau", 65, 66)


def test_ramp_waits_for_learning_not_for_a_plateau_at_chance():
    """A flat curve below the learned bar is no plateau: the ramp waits for learning (19), then for its plateau."""
    ctrl = controller(ramp_patience=2, max_burn_in=20)
    drive(ctrl, [0.55] * 19 + [0.61] * 60)
    assert first_ramped_epoch(ctrl) == 22 and events(ctrl, "ramp_started")[0]["reason"] == "plateau"


# --------------------------------------------------------------------------- the collapse guard


def _collapse_curve(collapse_at):
    """Learns to 0.8 by epoch 2 and plateaus (with ramp_patience 3 the ramp starts at epoch 6); at chance (0.5)
    at the epochs in ``collapse_at``."""
    curve = [0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8] + [0.8] * 200
    for e in collapse_at:
        curve[e] = 0.5
    return curve


def test_collapse_restores_and_ramps_slower_with_a_lower_cap_then_gives_up():
    ctrl = controller(ramp_patience=3)
    # the ramp starts at 6 (improvements up to epoch 2, three flat epochs 3-5)
    curve = _collapse_curve(collapse_at=[8, 9, 12])
    steps = drive(ctrl, curve)
    assert first_ramped_epoch(ctrl) == 6
    names = [e["event"] for e in ctrl.events]
    assert names == ["learned", "ramp_started", "collapse_detected", "restored", "collapse_detected", "restored",
                     "collapse_detected", "gave_up"]
    exps = np.linspace(0.5, 5.0, 20)
    # 1st collapse at epoch 8 (t = 2): restore; 40 steps from 10**0.5 up to the weight of epoch 7 (t = 1)
    c1, r1 = events(ctrl, "collapse_detected")[0], events(ctrl, "restored")[0]
    assert (c1["epoch"], c1["reason"], c1["attempt"]) == (8, "chance", 0)
    assert c1["weights"]["overlap"] == steps[8][0]["overlap"]
    assert steps[8][1].restore and not steps[8][1].stop and r1["first_epoch"] == 9
    assert r1["ramps"]["overlap"] == {"start_exp": 0.5, "end_exp": float(exps[1]), "steps": 40, "hold": 10}
    assert steps[9][0]["overlap"] == 10 ** 0.5
    assert max(w["overlap"] for w, _ in steps[9:]) <= steps[7][0]["overlap"]  # capped at the last good weight
    l1 = r1["ramps"]["l1"]
    assert (l1["start_exp"], l1["steps"]) == (-3.0, 40) and l1["end_exp"] == pytest.approx(-3 + 1 / 19)
    # 2nd collapse in the retry's first epoch (9): no good weight in it, so the ramp moves a decade down
    r2 = events(ctrl, "restored")[1]
    assert r2["ramps"]["overlap"] == {"start_exp": -0.5, "end_exp": 0.5, "steps": 80, "hold": 10}
    assert steps[10][0]["overlap"] == pytest.approx(10 ** -0.5)
    # 3rd collapse: max_retries (2) used up -> keep the best pre-ramp weights, stop
    (gave_up,) = events(ctrl, "gave_up")
    assert gave_up == {"event": "gave_up", "epoch": 12, "outcome": "collapsed, not recovered",
                       "kept_epoch": ctrl.pre_best_epoch}
    assert steps[-1][1].stop and steps[-1][1].keep == "pre_ramp_best" and len(steps) == 13
    assert ctrl.outcome == "collapsed, not recovered"
    # the pre-ramp best: the latest epoch within min_delta of the lowest loss, among epochs 0-5 (all 0.69)
    assert ctrl.pre_best_epoch == 5 and [d.save_pre_best for _, d in steps[:6]] == [True] * 6
    assert not any(d.save_pre_best for _, d in steps[6:])


def test_collapse_in_the_hold_keeps_the_cap_and_recovers():
    ctrl = controller(ramp_patience=3, epochs=40)
    curve = _collapse_curve(collapse_at=[6 + 25])  # t = 25: in the hold, at 1e5
    losses = [0.69] * 200
    steps = drive(ctrl, curve, losses)
    (restored,) = events(ctrl, "restored")
    assert restored["ramps"]["overlap"] == {"start_exp": 0.5, "end_exp": 5.0, "steps": 40, "hold": 10}
    # the retry starts at 32: 40 steps + 10 hold -> 82 epochs, selection from 32 + 39
    assert ctrl.planned_end() == 82 and ctrl.select_from() == 71 and len(steps) == 82
    assert ctrl.outcome == "recovered" and steps[-1][1].keep == "best"
    kept = [e for e, (_, d) in enumerate(steps) if d.save_best]
    assert kept[:6] == [25, 26, 27, 28, 29, 30]  # the failed attempt's (dropped by the restore) ...
    assert min(e for e in kept if e > 31) == 71 and ctrl.best_epoch == 81  # ... and the retry's, from its 1e5
    assert steps[31][1].restore and not steps[31][1].save_best


def test_dead_filters_are_a_collapse_once_the_auroc_lost_half_its_gain():
    acts = [1.0] * 5 + [0.5, 0.1, 5e-4] + [5e-4] * 50
    # the auROC holds (the quick suite's ARGMINN: activations at 2.4e-4 of the ramp start's, auROC 0.934): no collapse
    ctrl = controller(max_burn_in=5, max_retries=0)
    drive(ctrl, [0.9] * 60, activations=acts)
    assert events(ctrl, "collapse_detected") == []
    # halfway from chance to the pre-ramp best is 0.7: 0.68 with dead filters is a collapse
    ctrl = controller(max_burn_in=5, max_retries=0)
    steps = drive(ctrl, [0.9] * 5 + [0.68] * 55, activations=acts)
    (collapse,) = events(ctrl, "collapse_detected")
    # 0.5 and 0.1 of the pre-ramp activation are not dead; 5e-4 < 1e-3 x 1.0 is
    assert (collapse["epoch"], collapse["reason"], collapse["valid_filter_activation"]) == (7, "dead_filters", 5e-4)
    assert steps[-1][1].keep == "pre_ramp_best" and ctrl.outcome == "collapsed, not recovered"


def test_guard_rules_can_be_turned_off_and_nan_is_no_collapse():
    ctrl = controller(ramp_patience=2, collapse_margin=0.0, dead_fraction=0.0, max_gain_loss=1.0)
    drive(ctrl, [0.8, 0.8, 0.8] + [0.5] * 60, activations=[1.0] * 3 + [0.0] * 60)
    assert events(ctrl, "collapse_detected") == []
    ctrl = controller(ramp_patience=2)
    drive(ctrl, [0.8, 0.8, 0.8] + [float("nan")] * 60)
    assert events(ctrl, "collapse_detected") == []


def _partial_collapse_curve(after_ramp: float, retry: float = 0.9) -> list:
    # learned at once, flat from epoch 2 (ramp from 6 with ramp_patience 3); after_ramp for the first attempt
    # (epochs 6-39; the paper ramp's 20 steps + 10 held end at 40), retry for every epoch after it
    return [0.7, 0.9, 0.96, 0.96, 0.96, 0.96] + [after_ramp] * 34 + [retry] * 200


def test_a_kept_copy_that_lost_half_its_gain_is_undone_like_a_collapse():
    # the default suite's ARGMINN on SPI1 (seed 1): 0.965 before the ramp, 0.649 kept, above the chance rule
    ctrl = controller(ramp_patience=3, patience=None)
    steps = drive(ctrl, _partial_collapse_curve(0.65))
    assert [e["event"] for e in ctrl.events] == ["learned", "ramp_started", "collapse_detected", "restored"]
    collapse = events(ctrl, "collapse_detected")[0]
    # judged when the attempt ends (its planned end, epoch 39), on the copy it would keep
    assert (collapse["epoch"], collapse["reason"], collapse["kept_valid_auroc"]) == (39, "lost_gain", 0.65)
    assert collapse["pre_ramp_best_auroc"] == 0.96
    assert steps[39][1].restore and not steps[39][1].stop
    # the retry ramps at half the speed to the same weight (no epoch of the first attempt was at chance)
    assert events(ctrl, "restored")[0]["ramps"]["overlap"] == {"start_exp": 0.5, "end_exp": 5.0, "steps": 40,
                                                               "hold": 10}
    assert ctrl.outcome == "recovered" and steps[-1][1].keep == "best" and ctrl.best_epoch >= 40 + 39


def test_a_kept_copy_that_kept_half_its_gain_is_no_collapse():
    # 0.74 >= 0.96 - 0.5 x 0.46 = 0.73: the regularizer's cost, kept
    ctrl = controller(ramp_patience=3, patience=None)
    steps = drive(ctrl, _partial_collapse_curve(0.74))
    assert events(ctrl, "collapse_detected") == [] and ctrl.outcome == "learned" and len(steps) == 40
    # a stricter setting undoes it; 1 turns the rule off
    ctrl = controller(ramp_patience=3, patience=None, max_gain_loss=0.25)
    drive(ctrl, _partial_collapse_curve(0.74))
    assert events(ctrl, "collapse_detected")[0]["reason"] == "lost_gain"
    ctrl = controller(ramp_patience=3, patience=None, max_gain_loss=1.0)
    drive(ctrl, _partial_collapse_curve(0.55))
    assert events(ctrl, "collapse_detected") == [] and ctrl.outcome == "learned"


def test_partial_collapses_give_up_on_the_pre_ramp_best():
    # every attempt keeps 0.6: two retries, then the unregularized best weights
    ctrl = controller(ramp_patience=3, patience=None)
    steps = drive(ctrl, [0.7, 0.9, 0.96, 0.96, 0.96, 0.96] + [0.6] * 400)
    reasons = [e["reason"] for e in events(ctrl, "collapse_detected")]
    assert reasons == ["lost_gain"] * 3 and [e["event"] for e in ctrl.events][-1] == "gave_up"
    assert steps[-1][1].stop and steps[-1][1].keep == "pre_ramp_best" and ctrl.outcome == "collapsed, not recovered"


def test_chance_rule_needs_a_pre_ramp_best_well_above_chance():
    # 0.55 >= 0.5 + 2 x 0.02 guards a ramp (learned at a low ramp_min_gain, started at max_burn_in)
    ctrl = controller(max_burn_in=4, max_retries=0, ramp_min_gain=0.05)
    drive(ctrl, [0.55] * 4 + [0.51] * 10)
    assert events(ctrl, "collapse_detected")[0]["epoch"] == 4
    ctrl = controller(max_burn_in=4, max_retries=0, ramp_min_gain=0.03)
    drive(ctrl, [0.53] * 5 + [0.51] * 60)
    assert events(ctrl, "ramp_started")[0]["first_epoch"] == 4
    assert events(ctrl, "collapse_detected") == []


def test_restore_on_the_last_allowed_epoch_keeps_the_pre_ramp_best():
    ctrl = controller(ramp_patience=1, max_burn_in=3, max_epochs=6, epochs=6)
    steps = drive(ctrl, [0.8, 0.8, 0.8, 0.8, 0.8, 0.5])
    assert [e["event"] for e in ctrl.events][-3:] == ["collapse_detected", "restored", "hard_cap_reached"]
    assert steps[-1][1].stop and steps[-1][1].keep == "pre_ramp_best"
    assert ctrl.outcome == "collapsed, not recovered"


# --------------------------------------------------------------------------- early stopping


def test_patience_counts_only_once_the_model_has_learned():
    ctrl = controller(UNREGULARIZED, epochs=40, patience=10)
    curve = [0.5] * 25 + [0.8] * 60
    losses = [0.693] * 25 + [0.5] * 60
    steps = drive(ctrl, curve, losses)
    # the paper's rule (patience from epoch 0) would have stopped at epoch 9; here it counts from 25
    (stopped,) = events(ctrl, "stopped_early")
    assert stopped == {"event": "stopped_early", "epoch": 35, "patience": 10, "counted_from": 25}
    assert len(steps) == 36 and ctrl.best_epoch == 35 and ctrl.outcome == "learned"
    assert all(w == UNREGULARIZED for w, _ in steps) and events(ctrl, "ramp_started") == []


def test_a_baseline_at_chance_trains_to_the_cap_and_a_learned_one_stops_on_its_plateau():
    # budget by convergence: no fixed count cuts off a model that has not started to learn
    ctrl = controller(UNREGULARIZED, epochs=40, patience=5, max_epochs=70)
    steps = drive(ctrl, [0.5] * 100, [0.693] * 100)
    assert len(steps) == 70 and events(ctrl, "stopped_early") == [] and ctrl.outcome == "never learned"
    assert steps[-1][1].keep == "best" and ctrl.best_epoch == 69
    # learned at 50, loss improving to 59, then flat: five stale epochs stop it at 64 (not at `epochs`)
    curve = [0.5] * 50 + [0.8] * 50
    losses = [0.693] * 50 + [0.6 - 0.01 * i for i in range(10)] + [0.51] * 40
    ctrl = controller(UNREGULARIZED, epochs=40, patience=5, max_epochs=120)
    steps = drive(ctrl, curve, losses)
    (stopped,) = events(ctrl, "stopped_early")
    assert stopped["epoch"] == 64 and len(steps) == 65 and ctrl.outcome == "learned" and ctrl.best_epoch == 64


def test_regularized_patience_counts_from_the_final_weight():
    ctrl = controller(epochs=40, patience=3, ramp_patience=2)
    steps = drive(ctrl, [0.8] * 100, [0.4] * 100)
    r = first_ramped_epoch(ctrl)
    (stopped,) = events(ctrl, "stopped_early")
    assert stopped["counted_from"] == r + 19 and stopped["epoch"] == r + 19 + 3
    assert len(steps) == r + 23


def test_hard_cap_ends_a_late_ramp():
    ctrl = controller(max_epochs=50, ramp_patience=45)
    steps = drive(ctrl, [0.8] * 100)
    assert first_ramped_epoch(ctrl) == 30 and len(steps) == 50
    (cap,) = events(ctrl, "hard_cap_reached")
    assert cap == {"event": "hard_cap_reached", "epoch": 49, "max_epochs": 50, "planned_end": 60}
    assert steps[-1][1].keep == "best" and ctrl.best_epoch == 49  # selection capped at the last epoch


def test_constant_and_list_weights_under_the_adaptive_schedule():
    ctrl = controller({"overlap": 2.0, "l1": 0.0, "att_entropy": 0.0}, epochs=5, patience=3)
    steps = drive(ctrl, [0.8] * 10)
    assert not ctrl.regularized and all(w["overlap"] == 2.0 for w, _ in steps) and len(steps) == 4
    with pytest.raises(ValueError, match="overlap: the adaptive schedule takes a number or a schedule dict"):
        controller({"overlap": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"epochs \(200\) must be <= adaptive.max_epochs \(120\)"):
        controller(epochs=200, max_epochs=120)
    assert controller(epochs=200).max_epochs == 800  # None: four times the planned epochs


# --------------------------------------------------------------------------- TrainConfig


def test_train_config_schedule_defaults_and_roundtrip():
    cfg = TrainConfig()
    assert (cfg.schedule, cfg.adaptive) == ("adaptive", ADAPTIVE_DEFAULTS)  # the full settings are stored
    assert TrainConfig(schedule="paper").adaptive is None
    partial = TrainConfig.from_dict({"schedule": "adaptive", "adaptive": {"max_burn_in": 12}})
    assert partial.adaptive == {**ADAPTIVE_DEFAULTS, "max_burn_in": 12}
    assert TrainConfig.from_dict(partial.to_dict()) == partial
    json.dumps(partial.to_dict())


@pytest.mark.parametrize("kwargs,message", [
    ({"schedule": "Adaptive"}, r"TrainConfig.schedule must be one of \['paper', 'adaptive'\], got 'Adaptive'"),
    ({"schedule": None}, r"TrainConfig.schedule must be one of"),
    ({"schedule": "paper", "adaptive": {"max_burn_in": 3}}, r"TrainConfig.adaptive is read only with schedule 'adaptive'"),
    ({"select_from_epoch": 5}, r"select_from_epoch must be None with schedule 'adaptive' \(the default;.*set schedule: paper"),
    ({"schedule": "adaptive", "adaptive": {"ramp_patiense": 3}},
     r"TrainConfig.adaptive: unknown key\(s\) \['ramp_patiense'\]; valid keys"),
    ({"schedule": "adaptive", "adaptive": "fast"}, r"TrainConfig.adaptive must be a dict"),
    ({"schedule": "adaptive", "adaptive": {"max_retries": 1.5}},
     r"TrainConfig.adaptive.max_retries must be an int >= 0, got 1.5"),
    ({"schedule": "adaptive", "epochs": 200, "adaptive": {"max_epochs": 120}},
     r"TrainConfig.adaptive.max_epochs must be >= TrainConfig.epochs \(200\)"),
    ({"schedule": "adaptive", "select_from_epoch": 5}, r"TrainConfig.select_from_epoch must be None with schedule"),
    ({"schedule": "adaptive", "overlap_weight": [0.0, 1.0]},
     r"TrainConfig.overlap_weight must be a number or a schedule dict with schedule 'adaptive'"),
    ({"schedule": "adaptive", "l1_weight": {**PAPER_L1, "start_exp": -1.0, "end_exp": -2.0}},
     r"TrainConfig.l1_weight.end_exp must be >= its start_exp"),
])
def test_train_config_rejects_bad_schedule_settings(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        TrainConfig(**kwargs)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- fits


def _strip_times(history):
    return [{k: v for k, v in e.items() if k != "epoch_time_s"} for e in history]


SHORT_RAMP = {"burn_in": 1, "start_exp": 0.0, "end_exp": 1.0, "steps": 2, "hold": 0}


@pytest.mark.parametrize("name,weights", [("argminn", {"overlap_weight": SHORT_RAMP,
                                                       "l1_weight": {**SHORT_RAMP, "start_exp": -3, "end_exp": -2}}),
                                          ("cnn", {"patience": 1})])
def test_default_is_adaptive_and_paper_follows_its_weights(tiny_dataset, name, weights):
    """No ``schedule`` key trains exactly as ``schedule: adaptive``; ``schedule: paper`` follows each weight's own
    spec epoch by epoch for the fixed epoch count, reads no adaptive setting and records no event."""
    cfg = {**TINY, "epochs": 3, **weights}
    default, adaptive, paper = (fit(build_model(name, {}, 100), tiny_dataset, TrainConfig.from_dict(c), seed=3)
                                for c in (cfg, {**cfg, "schedule": "adaptive"}, {**cfg, "schedule": "paper"}))
    for (k, a), b in zip(default.model.state_dict().items(), adaptive.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert _strip_times(default.history) == _strip_times(adaptive.history) and default.events == adaptive.events
    for e in paper.history:  # the loss terms in use that epoch, and nothing else new
        assert set(e) - {"train_overlap", "train_l1"} == LEGACY_KEYS, set(e) ^ LEGACY_KEYS
    assert paper.events == [] and paper.outcome is None and default.outcome is not None
    if name == "argminn":
        assert [e["weight_overlap"] for e in paper.history] == [0.0, 1.0, 10.0]
    else:
        assert len(paper.history) <= 3


@pytest.fixture
def learned_at_once(monkeypatch):
    """The trainer's validation reports auROC 0.9 (its loss unchanged), so a few-batch fit has "learned" and its
    ramp follows the rules; when the ramp starts is tested on hand-made curves above."""
    import models.train as train_module

    real = train_module.evaluate

    def evaluate(*args, **kwargs):
        return {**real(*args, **kwargs), "auroc": 0.9}

    monkeypatch.setattr(train_module, "evaluate", evaluate)


def test_adaptive_fit_records_events_readers_can_take(tiny_dataset, learned_at_once):
    cfg = TrainConfig(**{**TINY, "epochs": 3, "patience": 2}, schedule="adaptive", overlap_weight=SHORT_RAMP,
                      l1_weight=0.0,
                      adaptive={"max_burn_in": 2, "max_epochs": 6, "collapse_margin": 0.0, "dead_fraction": 0.0})
    r = fit(build_model("argminn", {}, 100), tiny_dataset, cfg, seed=0)
    assert [e["weight_overlap"] for e in r.history][:4] == [0.0, 0.0, 1.0, 10.0]
    assert r.events[0]["event"] in ("learned", "ramp_started")
    assert [e for h in r.history for e in h["events"]] == r.events
    started = [e for e in r.events if e["event"] == "ramp_started"]
    assert started and started[0]["first_epoch"] == 2
    assert r.outcome in ("learned", "never learned")
    for h in r.history:
        assert LEGACY_KEYS <= set(h) and h["valid_filter_activation"] > 0
    json.dumps({"history": r.history, "events": r.events})  # as bench/registry.py saves the history
    # bench/report_figures.py's reading: one kept row, with a validation auROC
    hist = pd.DataFrame(r.history)
    kept = hist[hist["best"].astype(bool)]
    assert len(kept) == 1 and kept.iloc[-1]["epoch"] == r.best_epoch and not math.isnan(kept.iloc[-1]["valid_auroc"])


def test_giving_up_returns_the_pre_ramp_best_weights(tiny_dataset, monkeypatch, learned_at_once):
    """A collapse on the first ramped epoch with no retry left: the model returned is the best unregularized
    one, the very weights a fit without regularizers over the burn-in epochs selects."""
    monkeypatch.setattr(AdaptiveController, "collapse_reason", lambda self, auroc, act: "chance")
    cfg = TrainConfig(**{**TINY, "epochs": 3}, schedule="adaptive", overlap_weight=SHORT_RAMP, l1_weight=0.0,
                      adaptive={"max_burn_in": 3, "max_retries": 0, "max_epochs": 6})
    r = fit(build_model("argminn", {}, 100), tiny_dataset, cfg, seed=1)
    assert [e["event"] for e in r.events][-2:] == ["collapse_detected", "gave_up"]
    assert r.outcome == "collapsed, not recovered" and len(r.history) == 4 and r.best_epoch <= 2
    plain = fit(build_model("argminn", {}, 100), tiny_dataset,
                TrainConfig(**{**TINY, "epochs": 3}, overlap_weight=0.0, l1_weight=0.0, schedule="paper"), seed=1)
    assert r.best_epoch == plain.best_epoch
    for (k, a), b in zip(r.model.state_dict().items(), plain.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_retry_after_a_collapse_starts_from_the_snapshot(tiny_dataset, monkeypatch, learned_at_once):
    calls = []

    def collapse_once(self, auroc, act):
        calls.append(auroc)
        return "chance" if len(calls) == 1 else None

    restored = []
    original = _Snapshot.restore

    def spy(self, model, opt):
        original(self, model, opt)
        restored.append(({k: v.clone() for k, v in model.state_dict().items()}, self.model_state))

    monkeypatch.setattr(AdaptiveController, "collapse_reason", collapse_once)
    monkeypatch.setattr(_Snapshot, "restore", spy)
    cfg = TrainConfig(**{**TINY, "epochs": 3}, schedule="adaptive", overlap_weight=SHORT_RAMP, l1_weight=0.0,
                      adaptive={"max_burn_in": 2, "max_retries": 1, "max_epochs": 12})
    r = fit(build_model("argminn", {}, 100), tiny_dataset, cfg, seed=0)
    assert [e["event"] for e in r.events if e["event"] != "learned"][:3] == ["ramp_started", "collapse_detected",
                                                                           "restored"]
    assert len(restored) == 1
    state, snap = restored[0]
    assert all(torch.equal(state[k], snap[k]) for k in snap)
    # the retry: twice the steps, capped one decade lower (the collapse came on the first ramped epoch)
    assert [e["weight_overlap"] for e in r.history][:6] == [0.0, 0.0, 1.0, 0.1, pytest.approx(10 ** -(2 / 3)),
                                                           pytest.approx(10 ** -(1 / 3))]
    learned = any(e["event"] == "learned" for e in r.events)  # "never learned" outranks "recovered"
    assert r.outcome == ("recovered" if learned else "never learned")
    assert r.history[r.best_epoch]["weight_overlap"] == 1.0 and len(r.history) == 7  # 3 + 4 steps


def test_snapshot_restores_model_and_optimizer_without_aliasing():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)

    def step(n):
        for _ in range(n):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()

    step(3)
    snap = _Snapshot(model, opt)
    want_model = {k: v.clone() for k, v in model.state_dict().items()}
    want_opt = {i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
                for i, s in opt.state_dict()["state"].items()}
    after = []
    for _ in range(2):  # restore twice: the steps after the first restore must not have moved the snapshot
        step(4)
        snap.restore(model, opt)
        for k, v in model.state_dict().items():
            assert torch.equal(v, want_model[k]), k
        for i, s in opt.state_dict()["state"].items():
            for k, v in s.items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(want_opt[i][k])), (i, k)
        step(2)
        after.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*after))


# --------------------------------------------------------------------------- slow: where the paper schedule collapses


#: the default suite's ARGMINN training (25 x 40 batches, a 10-epoch burn-in then a 10-epoch ramp to 1e5)
SUITE_ARGMINN = {"epochs": 25, "batches_per_epoch": 40, "patience": 10, "progress": False,
                 "overlap_weight": {"burn_in": 10, "start_exp": 0.5, "end_exp": 5, "steps": 10, "hold": 5},
                 "l1_weight": {"burn_in": 10, "start_exp": -3, "end_exp": -2, "steps": 10, "hold": 5}}


@pytest.mark.slow
def test_adaptive_schedule_learns_where_the_paper_schedule_collapses():
    """ARGMINN on the relative-strand preset (FOXA1 and SOX2 on a Markov background; likelihood-ratio ceiling
    0.995) at the default suite's budget: the fixed burn-in ends long before the model leaves chance (about
    epoch 55) and the ramp holds it at a constant output; the adaptive schedule waits for it to learn.
    Measured 2026-12-02 (12,000 sequences, seed 0): paper 0.500; adaptive 0.894, learned at 55, ramp from 74.
    About 5 minutes on 2 idle cores."""
    ds = simulations.simulate(simulations.load_preset("foxa1_sox2_relative_strand"), n=12000, seed=0)
    runs = {schedule: fit(build_model("argminn", {}, ds.length, seed=0), ds,
                          TrainConfig.from_dict({**SUITE_ARGMINN, "schedule": schedule}), seed=0)
            for schedule in ("paper", "adaptive")}
    paper, adaptive = runs["paper"], runs["adaptive"]
    summary = {k: (r.test_metrics["auroc"], r.outcome, [(e["event"], e["epoch"]) for e in r.events])
               for k, r in runs.items()}
    assert abs(paper.test_metrics["auroc"] - 0.5) < 0.02, summary
    from models.health import training_health

    assert training_health(paper.history)["status"] in ("collapsed, not recovered", "never learned"), summary
    assert adaptive.test_metrics["auroc"] > 0.8, summary
    assert adaptive.outcome in ("learned", "recovered"), summary
    started = [e for e in adaptive.events if e["event"] == "ramp_started"]
    learned = [e for e in adaptive.events if e["event"] == "learned"]
    assert started and learned and started[0]["first_epoch"] > learned[0]["epoch"] > 10, summary


def test_selection_starts_when_the_model_learns():
    """Measured on the quick suite's CNN: validation loss rose from 0.71 (epoch 0) while auROC rose to 0.71;
    the lowest loss was the untrained epoch 0, and it was kept. Selection now starts at the learned epoch."""
    curve = [0.45, 0.45, 0.5, 0.55, 0.61, 0.65, 0.7, 0.71, 0.71, 0.71, 0.71]
    losses = [0.71, 0.72, 0.75, 0.8, 0.88, 0.86, 0.80, 0.82, 0.83, 0.84, 0.85]
    ctrl = controller(UNREGULARIZED, epochs=10, patience=3)
    steps = drive(ctrl, curve, losses)
    assert events(ctrl, "learned")[0]["epoch"] == 4
    assert ctrl.best_epoch == 6 and steps[-1][1].stop and steps[-1][1].keep == "best"
    assert [d.save_best for _, d in steps[:4]] == [True, False, False, False]  # kept at chance, then dropped
    assert events(ctrl, "stopped_early")[0]["epoch"] == 9
    # the give-up copy of a regularized model: the best unregularized epoch once it learned
    ctrl = controller(ramp_patience=2)
    drive(ctrl, [0.45, 0.5, 0.65, 0.7, 0.7, 0.7] + [0.5] * 20, [0.70, 0.70, 0.8, 0.75, 0.76, 0.77] + [0.7] * 20)
    assert ctrl.pre_best_epoch == 3
