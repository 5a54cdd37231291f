"""models.health.training_health on hand-made histories with known answers."""

import pytest

from models.health import training_health


def history(aurocs, ramp_from=None, best=None):
    best = len(aurocs) - 1 if best is None else best
    return [{"epoch": e, "valid_auroc": a, "weight_overlap": 0.0 if ramp_from is None or e < ramp_from else 10.0,
             "best": e == best} for e, a in enumerate(aurocs)]


def test_paper_schedule_collapse_is_found_in_the_curve():
    # the failure: rising to 0.53-0.6 before the ramp (epoch 10), at 0.500 from the first ramped epoch on
    curve = [0.50, 0.51, 0.52, 0.53, 0.55, 0.56, 0.57, 0.58, 0.59, 0.60] + [0.5] * 15
    h = training_health(history(curve, ramp_from=10, best=23))
    assert h["status"] == "collapsed, not recovered" and h["collapse_epochs"] == [10] and h["ramp_start"] == 10
    assert h["pre_ramp_best_auroc"] == 0.6 and not h["recovered"] and h["kept_valid_auroc"] == 0.5


def test_a_dip_that_comes_back_is_recovered_and_a_run_at_chance_never_learned():
    curve = [0.7, 0.8, 0.85, 0.85, 0.5, 0.51, 0.7, 0.84, 0.85, 0.85, 0.85, 0.85]
    h = training_health(history(curve, ramp_from=4))
    assert (h["status"], h["collapse_epochs"], h["recovered"]) == ("recovered", [4], True)
    # at chance throughout: nothing to lose, no collapse; never learned
    h = training_health(history([0.5, 0.51, 0.49, 0.5, 0.52, 0.5, 0.5], ramp_from=3))
    assert (h["status"], h["collapsed"]) == ("never learned", False)


def test_a_kept_epoch_that_lost_half_the_gain_is_a_partial_collapse():
    # never within 0.02 of chance, but kept at 0.65 from 0.96 before the ramp: more than half of 0.46 lost
    curve = [0.7, 0.9, 0.96, 0.96, 0.9, 0.8, 0.7, 0.66, 0.65, 0.65]
    h = training_health(history(curve, ramp_from=4))
    assert (h["status"], h["collapse_epochs"], h["recovered"]) == ("collapsed, not recovered", [9], False)
    # 0.74 keeps more than half (the floor is 0.96 - 0.23 = 0.73): a regularizer's cost, not a collapse
    h = training_health(history(curve[:5] + [0.8, 0.76, 0.75, 0.74, 0.74], ramp_from=4))
    assert (h["status"], h["collapsed"]) == ("converged", False)
    # the kept epoch before the ramp (a give-up) is not judged by it
    h = training_health(history(curve, ramp_from=4, best=3))
    assert h["collapsed"] is False


def test_still_rising_and_converged():
    rising = training_health(history([0.5, 0.55, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.72, 0.74]))
    assert rising["status"] == "still rising" and rising["still_rising"] and rising["ramp_start"] is None
    flat = training_health(history([0.6, 0.8, 0.9] + [0.9] * 10))
    assert flat["status"] == "converged" and not flat["still_rising"]
    # a gain of exactly the threshold (0.01) is not "rising"
    edge = training_health(history([0.8] * 6 + [0.81] * 5))
    assert not edge["still_rising"]


def test_adaptive_events_are_taken_as_reported():
    events = [{"event": "learned", "epoch": 2}, {"event": "ramp_started", "epoch": 7, "first_epoch": 8},
              {"event": "collapse_detected", "epoch": 9}, {"event": "restored", "epoch": 9}]
    curve = [0.5, 0.55, 0.65, 0.7, 0.75, 0.8, 0.8, 0.8, 0.8, 0.5] + [0.8] * 10
    h = training_health(history(curve, ramp_from=8), events, outcome="recovered")
    assert (h["status"], h["collapse_epochs"], h["ramp_start"]) == ("recovered", [9], 8)
    assert h["events"] == [["learned", 2], ["ramp_started", 7], ["collapse_detected", 9], ["restored", 9]]
    h = training_health(history(curve, ramp_from=8), events + [{"event": "gave_up", "epoch": 12}],
                        outcome="collapsed, not recovered")
    assert h["status"] == "collapsed, not recovered"


def test_empty_history_is_refused():
    with pytest.raises(ValueError, match="history must hold at least one epoch"):
        training_health([])
