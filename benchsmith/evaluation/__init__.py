"""Running a solver panel on a published version: scores, CIs, separability, agreement, null models.

`evaluate_version` is the entry point (`benchsmith evaluate`); `evaluate_items` computes the
figures of items not yet published (a run's release, `flows.evaluate_release`) and
`write_evaluation` writes them. `scoring` reads one reply, `stats` computes the figures,
`panel` talks to the models, `report` writes the results.
"""

from __future__ import annotations

from benchsmith.evaluation.panel import parse_model_option
from benchsmith.evaluation.reference import load_reference
from benchsmith.evaluation.run import (
    Evaluation,
    ModelRow,
    evaluate_items,
    evaluate_version,
    evaluations_dir,
    latest_evaluation,
    write_evaluation,
)
from benchsmith.evaluation.scoring import Score, parse_choice, score_reply

__all__ = ["Evaluation", "ModelRow", "Score", "evaluate_items", "evaluate_version", "evaluations_dir",
           "latest_evaluation", "load_reference", "parse_choice", "parse_model_option", "score_reply",
           "write_evaluation"]
