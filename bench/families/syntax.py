"""The ``syntax`` family: in-silico experiments on each trained model against the planted grammar.

For each two-motif chain of a positive class: the model's response to the pair embedded at every
spacing, against the planted spacing distribution; for a chain of a negative class (a repressor):
the pair's interaction at its planted spacing. Computed by the runner once per trained model
(``bench.registry.score_syntax``), on backgrounds drawn from the grammar's own background model.
"""

from __future__ import annotations

import json

import numpy as np

from . import Family


def planted_pair_rules(spec: dict) -> list[dict]:
    """Two-motif chains of the grammar: which class they define, and their planted gaps."""
    rules = []
    for cls in spec["classes"]:
        label = np.atleast_1d(cls["label"])[0]
        for cfg in cls["configs"]:
            chain = cfg.get("motifs") or []
            if len(chain) != 2:
                continue
            rules.append({"class": cls["name"], "positive": bool(label > 0), "a": chain[0]["motif"],
                          "b": chain[1]["motif"], "gaps": gap_support(chain[1].get("gap", 0)),
                          "config": cfg["name"]})
    return rules


def gap_support(gap) -> tuple[np.ndarray, np.ndarray]:
    """The gaps a chain element's ``gap`` (as written in a spec) draws, and their probabilities: the
    simulator's own distribution (:func:`simulations.likelihood.dist_log_pmf`; a normal rounded and
    clipped as :func:`simulations.grammar.sample_dist` draws it)."""
    from simulations.grammar import ChainElement
    from simulations.likelihood import dist_log_pmf

    values, log_p = dist_log_pmf(ChainElement.model_validate({"motif": "_", "gap": gap}).gap)
    return values, np.exp(log_p)


def _background(ds, n: int, seed: int) -> np.ndarray:
    from simulations import BackgroundModel
    from simulations.grammar import Background

    bg = BackgroundModel(Background(**ds.spec["background"]))
    codes = bg.sample(n, ds.length, np.random.default_rng(seed))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.float32)


def score_syntax(model, ds, seed: int, n_background: int = 64) -> dict:
    """In-silico experiments on the trained model against the planted grammar."""
    import models

    from bench import metrics as M

    rules = planted_pair_rules(ds.spec)
    if not rules:
        return {}
    background = _background(ds, n_background, seed)

    def predict_fn(xb):
        return models.predict(model, np.asarray(xb, dtype=np.float32))

    out = {}
    for rule in rules:
        a, b = ds.motifs[rule["a"]].pfm, ds.motifs[rule["b"]].pfm
        gaps, probs = rule["gaps"]
        name = f"{rule['a']}+{rule['b']}"
        if rule["positive"]:
            spacings = np.arange(0, int(gaps.max()) + 11)
            curve = M.spacing_curve(predict_fn, background, a, b, spacings, seed=seed)
            agreement = M.curve_agreement(curve, gaps, probs)
            out.update({f"syntax/{name}_{k}": v for k, v in agreement.items()})
            # the whole curve travels in the detail column, so the report can draw it
            detail = json.dumps({"spacing": curve["spacing"].tolist(), "delta": curve["delta"].round(5).tolist(),
                                 "delta_sem": curve["delta_sem"].round(5).tolist(),
                                 "planted": gaps.tolist(), "planted_weight": np.round(probs, 5).tolist()})
            out[f"syntax/{name}_peak_delta"] = (float(curve["delta"].max()), detail)
        else:
            inter = M.interaction(predict_fn, background, a, b, int(gaps[np.argmax(probs)]), seed=seed)
            out[f"syntax/{name}_interaction"] = inter["interaction"]
            out[f"syntax/{name}_repression_recovered"] = float(inter["interaction"] < 0)
    return out


FAMILY = Family(
    name="syntax",
    description="in-silico spacing curves and repressor interactions of each trained model against the grammar",
    headline=None,  # every pair's measures; the spacing curves get a figure of their own
    computed_in="the in-silico stage of each cell (bench.runner, bench.registry.score_syntax)",
    order=50,
)
