"""benchsmith: seed prompts or documents in, a verified, deduplicated, versioned benchmark out."""

from benchsmith.records import Citation, Item, Lineage, Seed, Verdict

__all__ = ["Citation", "Item", "Lineage", "Seed", "Verdict", "__version__"]
__version__ = "0.1.0"
