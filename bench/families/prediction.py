"""The ``prediction`` family: each trained model's held-out prediction (auROC, auPRC, accuracy).

Computed by the runner's training stage from the model's test metrics (``models.fit``), one value per
trained model.
"""

from __future__ import annotations

from . import Family

FAMILY = Family(
    name="prediction",
    description="held-out prediction of each trained model (test auROC, average precision, accuracy)",
    headline=("auroc", "average_precision", "accuracy"),
    computed_in="the training stage (bench.runner)",
    order=0,
)
