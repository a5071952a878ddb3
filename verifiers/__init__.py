"""Verifier stages: everything that judges or filters items.

Importing this package registers every stage with `benchsmith.stages.verifiers`
(the registry imports it on first lookup). Shared helpers live beside the stages:
`textnorm` (normalisation), `groups` (union-find, keeper choice), `neighbours` (faiss).
"""

from verifiers import dedup, judge, rules
from verifiers import answerability, grounding, mcq, self_contained  # noqa: F401,E402  (document suites)

__all__ = ["dedup", "judge", "rules"]
