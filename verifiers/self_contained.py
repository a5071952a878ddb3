"""Self-containedness: a test item must not point at a passage the model under test never sees.

Document generators tend to write "According to the passage, ..." or "What does this
document say about ...?". Such an item is unanswerable once the passage is gone. The check
is a phrase list matched on word boundaries after normalisation (case, punctuation and
spacing do not matter), over the prompt and the options.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from benchsmith.records import Item, Verdict
from benchsmith.stages import ItemVerifier, StageConfig, StageContext, verifiers
from benchsmith.text import contains_phrase, normalize_text

DEFAULT_PHRASES: tuple[str, ...] = (
    "according to the passage", "according to the text", "according to the document",
    "according to the context", "according to the excerpt", "according to the article",
    "according to this document", "according to the given", "according to the provided",
    "in the above", "the above passage", "the above text", "the text above", "the passage above",
    "as mentioned", "as stated above", "as described above", "mentioned above",
    "the passage", "this passage", "the given passage", "the provided passage",
    "this document", "the given document", "the provided document", "the given text", "the provided text",
    "this text", "the excerpt", "this excerpt", "the provided context", "the given context",
    "the passages", "these passages", "in passages", "passage 1", "passage 2", "passage 3",
    "document 1", "document 2", "document 3",
    # Items written about a given fact ('evidence: facts' in document_qa) may point at it.
    "this fact", "the fact above", "the facts above", "the given fact", "the given facts",
)


class SelfContainedConfig(StageConfig):
    """Which phrases make an item depend on unseen context."""

    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_PHRASES),
                               description="Phrases that point at unseen context (replaces the default list).")
    extra_phrases: list[str] = Field(default_factory=list, description="More phrases, added to `phrases`.")
    check_choices: bool = Field(default=True, description="Also look in multiple-choice options.")


@verifiers.register("self_contained")
class SelfContained(ItemVerifier):
    """Drops items whose prompt (or options) refer to a passage or document the reader does not have."""

    Config: ClassVar[type[StageConfig]] = SelfContainedConfig
    scope: ClassVar[Literal["item", "set"]] = "item"
    config: SelfContainedConfig

    def __init__(self, config: SelfContainedConfig | dict[str, object] | None = None) -> None:
        super().__init__(config)  # type: ignore[arg-type]
        phrases = [normalize_text(p) for p in [*self.config.phrases, *self.config.extra_phrases]]
        self._phrases = [p for p in dict.fromkeys(phrases) if p]

    def find(self, item: Item) -> tuple[str, str] | None:
        """(field, phrase) of the first context reference in the item, or None."""
        fields = [("prompt", item.prompt)]
        if self.config.check_choices:
            fields += [(f"choices[{i}]", c) for i, c in enumerate(item.choices)]
        for name, text in fields:
            norm = normalize_text(text)
            for phrase in self._phrases:
                if contains_phrase(norm, phrase):
                    return name, phrase
        return None

    def check(self, item: Item, ctx: StageContext) -> Verdict:
        hit = self.find(item)
        if hit is None:
            return self.verdict(True)
        return self.verdict(False, reason="not_self_contained", field=hit[0], phrase=hit[1])
