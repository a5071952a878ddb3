"""Verifier stages: everything that judges or filters items.

Importing this package registers every stage with `benchsmith.stages.verifiers`
(the registry imports it on first lookup). Shared helpers live beside the stages:
`textnorm` (normalisation), `groups` (union-find, keeper choice), `neighbours` (faiss).
"""

from benchsmith.verifiers import (
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
)

__all__ = ["answerability", "contamination", "dedup", "grounding", "judge", "mcq", "minhash", "novelty", "rules",
           "self_contained"]
