"""Seed-expansion stages. Importing this package registers every generator in it.

Each stage module registers itself with `@generators.register(name)`; the registry in
`benchsmith.stages` imports this package on first lookup, so a suite spec can name any
generator listed here. A new generator module must be added to the import below.
Helpers (`evolve_prompts`, `document_prompts`) are imported by the stages that use them.
"""

from benchsmith.generators import document_qa, evolve

__all__ = ["document_qa", "evolve"]
