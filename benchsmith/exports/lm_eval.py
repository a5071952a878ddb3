"""Export a published version as an lm-evaluation-harness task folder.

Layout of the folder (`lm_eval --include_path DIR --tasks NAME`)::

    data/open.parquet      open items (open_qa, code): prompt, target = the reference answer
    data/choice.parquet    choice items (mcq, true_false): lettered options, answer_index, target = the letter
    NAME_open.yaml         generate_until, exact match (case and punctuation ignored)
    NAME_choice.yaml       multiple_choice over the option letters (log-likelihood: local and completions models)
    NAME_choice_gen.yaml   generate_until, the letter read from the reply, exact match (chat endpoints)
    NAME.yaml              group NAME = NAME_open + NAME_choice_gen: exact match over every item
    benchsmith-export.json what was exported from where (sha256 of the published parquet), the commands

Why two forms of the choice items: `multiple_choice` scores the log-likelihood of each
option, which chat-completions endpoints cannot give (lm-eval's `local-chat-completions`
raises NotImplementedError for loglikelihood); `NAME` is what runs against any
OpenAI-compatible chat endpoint, `NAME_choice` is the classic form for local models and
completions endpoints with logprobs (its `acc` is not averaged with the open items'
exact match: they are different figures).

Why derived parquet files instead of the published one: the harness needs the lettered
options and the index of the correct one, which a published row holds only implicitly (the
answer is an option's text or its letter, matched after Unicode normalisation). Computing
them once here, with the code `benchsmith evaluate` uses, keeps every harness asking the
same question and needs no `utils.py` that would duplicate benchsmith's normalisation; the
export's manifest records the sha256 of the published parquet it came from.

`data_files` are absolute paths (lm-eval's `datasets.load_dataset` resolves relative ones
against the working directory, not the YAML file), so the folder runs from anywhere but
not after it is moved: export again to move it.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from benchsmith.exports.formats import ItemView

# The letter a chat model names: "B", "B.", "(B)", "The answer is B", "Answer: (b)" (after uppercasing).
CHOICE_LETTER_REGEX = r"(?:^\s*|ANSWER(?:\s+IS)?\s*:?\s*|\()\(?([A-Z])(?![A-Z])"
_GEN_KWARGS = {"until": ["\n\n"], "max_gen_toks": 256, "temperature": 0.0, "do_sample": False}
_EXACT = {"metric": "exact_match", "aggregation": "mean", "higher_is_better": True, "ignore_case": True,
          "ignore_punctuation": True}


def _base(task: str, data_file: Path) -> dict[str, Any]:
    return {"task": task, "dataset_path": "parquet",
            "dataset_kwargs": {"data_files": {"test": str(data_file)}},
            "test_split": "test", "metadata": {"version": 1.0}}


def open_task(task: str, data_file: Path) -> dict[str, Any]:
    """generate_until over the open items."""
    return {**_base(task, data_file), "output_type": "generate_until", "doc_to_text": "{{prompt}}",
            "doc_to_target": "{{target}}", "generation_kwargs": dict(_GEN_KWARGS),
            "filter_list": [{"name": "answer", "filter": [{"function": "take_first"}]}],
            "metric_list": [dict(_EXACT)]}


def choice_task(task: str, data_file: Path) -> dict[str, Any]:
    """multiple_choice (log-likelihood of each option letter) over the choice items."""
    return {**_base(task, data_file), "output_type": "multiple_choice", "doc_to_text": "{{question}}\nAnswer:",
            "doc_to_choice": "letters", "doc_to_target": "answer_index",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}


def choice_gen_task(task: str, data_file: Path) -> dict[str, Any]:
    """generate_until over the choice items: the reply's option letter, exact match with the target letter."""
    return {**_base(task, data_file), "output_type": "generate_until", "doc_to_text": "{{prompt}}",
            "doc_to_target": "{{target}}", "generation_kwargs": dict(_GEN_KWARGS),
            "filter_list": [{"name": "answer", "filter": [
                {"function": "uppercase"},
                {"function": "regex", "regex_pattern": CHOICE_LETTER_REGEX, "group_select": 0},
                {"function": "take_first"}]}],
            "metric_list": [dict(_EXACT)]}


def group(name: str, tasks: list[str], metric: str, filter_name: str | None) -> dict[str, Any]:
    """A group of `tasks` whose score is `metric` averaged over all their items."""
    agg: dict[str, Any] = {"metric": metric, "aggregation": "mean", "weight_by_size": True}
    if filter_name is not None:
        agg["filter_list"] = filter_name
    return {"group": name, "task": tasks, "aggregate_metric_list": [agg], "metadata": {"version": 1.0}}


def write(folder: Path, dest: Path, name: str, views: list[ItemView]) -> tuple[list[str], list[str]]:
    """Write the task folder's YAML files into `folder` (data files must be there already, under
    data/); `dest` is where the folder will live. Returns (task names, commands)."""
    families = {v.family for v in views}
    files: dict[str, dict[str, Any]] = {}
    chat: list[str] = []
    if "open" in families:
        files[f"{name}_open"] = open_task(f"{name}_open", dest / "data" / "open.parquet")
        chat.append(f"{name}_open")
    if "choice" in families:
        files[f"{name}_choice_gen"] = choice_gen_task(f"{name}_choice_gen", dest / "data" / "choice.parquet")
        files[f"{name}_choice"] = choice_task(f"{name}_choice", dest / "data" / "choice.parquet")
        chat.append(f"{name}_choice_gen")
    files[name] = group(name, chat, "exact_match", "answer")
    tasks = [name, *chat, *([f"{name}_choice"] if "choice" in families else [])]
    for stem, data in files.items():
        (folder / f"{stem}.yaml").write_text(
            "# Generated by `benchsmith export`; edit the suite, not this file.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")
    return tasks, commands(dest, name, families)


def commands(dest: Path, name: str, families: Collection[str]) -> list[str]:
    """The lm_eval commands that run the export as written, against $OPENAI_BASE_URL / $OPENAI_MODEL."""
    inc = shlex.quote(str(dest))
    chat = (f'lm_eval --model local-chat-completions --model_args "model=$OPENAI_MODEL,'
            f'base_url=$OPENAI_BASE_URL/chat/completions,num_concurrent=8,max_retries=3,tokenized_requests=False" '
            f"--apply_chat_template --include_path {inc} --tasks {name}")
    out = [chat]
    if "choice" in families:
        out.append(f"lm_eval --model hf --model_args pretrained=YOUR_MODEL --include_path {inc} "
                   f"--tasks {name}_choice  # log-likelihood form (local models)")
    return out
