"""The learned gate: a model that did not learn its grammar is never scored as evidence.

A trained model *learned* when its test auROC closes at least :data:`LEARNED_SHARE` of the
distance from chance (0.5) to the grammar's ceiling, the test auROC of the simulator's own
likelihood ratio (:func:`bench.metrics.prediction.likelihood_ratio_oracle`). Without a ceiling
(a grammar the likelihood does not cover) the distance is taken to 1.0.

    bar = 0.5 + LEARNED_SHARE * (ceiling - 0.5)      ceiling 0.95 -> 0.6125, none -> 0.625

Interpretations of a model below the bar stay in the results with status ``not_learned`` and the
reason, never in a route's mean or a verdict. A quarter is deliberately lenient: the gate is there
to set aside models at or near chance (constant outputs, training that never left its plateau),
not to rank the ones that learned.
"""

from __future__ import annotations

import math

LEARNED_SHARE = 0.25


def learned_bar(ceiling: float | None) -> float:
    """The test auROC a model must reach to count as learned, given the grammar's ceiling (or None)."""
    c = ceiling if ceiling is not None and math.isfinite(ceiling) and ceiling > 0.5 else 1.0
    return 0.5 + LEARNED_SHARE * (min(c, 1.0) - 0.5)


def gate(test_auroc: float | None, ceiling: float | None) -> tuple[bool, str]:
    """``(learned, reason)``; the reason is empty for a learned model.

    A model without a test auROC (a graded task, no test split) is let through: the gate has
    nothing to judge it by, and the reason says so.
    """
    bar = learned_bar(ceiling)
    if test_auroc is None or not math.isfinite(test_auroc):
        return True, ""
    if test_auroc >= bar:
        return True, ""
    where = (f"the likelihood-ratio ceiling {ceiling:.3f}" if ceiling is not None and math.isfinite(ceiling)
             and ceiling > 0.5 else "1.0 (no ceiling for this grammar)")
    return False, (f"model did not learn: test auROC {test_auroc:.3f} < {bar:.3f}, a quarter of the way from "
                   f"chance to {where}")
