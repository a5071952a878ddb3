"""Verifier stages: everything that judges or filters items.

Importing this package registers every stage with `benchsmith.stages.verifiers`
(the registry imports it on first lookup). This package holds registered stages only;
the helpers they share (text normalisation, indexes, keeper choice) live in the core.
"""

from benchsmith.verifiers import (
                       answer_check,
                       answerability,
                       contamination,
                       dedup,
                       grounding,
                       judge,
                       mcq,
                       minhash,
                       novelty,
                       rules,
                       self_contained,
                       solver_panel,
)

__all__ = ["answer_check", "answerability", "contamination", "dedup", "grounding", "judge", "mcq", "minhash",
           "novelty", "rules", "self_contained",
           "solver_panel"]
