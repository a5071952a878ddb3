"""Writing an evaluation: the results JSON, a markdown summary and the accuracy plot (PNG)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _ci(row: dict[str, Any]) -> str:
    ci = row.get("ci95")
    return "" if not ci else f"[{ci[0]:.1%}, {ci[1]:.1%}]"


def markdown(data: dict[str, Any]) -> str:
    """The summary: the table per model and null model, the figures, warnings, the difficulty histogram."""
    lines = [f"# Evaluation of {data['suite']} {data['version']} ({data['run']})", "",
             f"{data['items']} items; panel: " + ", ".join(f"{p['name']} ({p['model']} at {p['base_url']})"
                                                          for p in data["panel"]), "",
             "| model | accuracy | 95% CI | correct | failed | note |", "| --- | ---: | --- | ---: | ---: | --- |"]
    for row in data["models"] + data["null_models"]:
        name = f"*{row['name']}* (null)" if row["null_model"] else row["name"]
        lines.append(f"| {name} | {_pct(row['accuracy'])} | {_ci(row)} | {row['correct']}/{row['scored']} | "
                     f"{row['failed']} | {row.get('note') or ('above chance' if row['above_chance'] else '')} |")
    sep = data["separability"]
    lines += ["", f"- chance accuracy (uniform guessing): {_pct(data['chance'])}",
              f"- separability (model pairs with non-overlapping 95% CIs): "
              f"{_pct(sep) if sep is not None else data['separability_note']}"]
    agr = data.get("agreement")
    if agr:
        tau, brier = agr["kendall_tau"], agr["pair_rank_brier"]
        tau_s = "n/a" if tau is None else f"{tau:.2f}"
        brier_s = "n/a" if brier is None else f"{brier:.3f}"
        lines.append(f"- agreement with the reference ranking ({len(agr['models'])} models): Kendall's tau "
                     f"{tau_s}, agreement with confidence {_pct(agr['agreement_with_confidence'])} of "
                     f"{agr['confident_pairs']} separated pair(s), pair-rank Brier {brier_s}"
                     + (f" ({agr['note']})" if agr.get("note") else ""))
    hist = data["difficulty_histogram"]
    bins = hist["bins"]
    lines += ["", "Difficulty (share of the panel that solved an item):", "",
              "| solved by | items |", "| --- | ---: |"]
    lines += [f"| {bins[i]:.0%}–{bins[i + 1]:.0%} | {n} |" for i, n in enumerate(hist["counts"])]
    if data["flagged"]:
        lines += ["", "Warnings:", ""] + [f"- {w}" for w in data["flagged"]]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    """Accuracy with 95% CI bars per model (null models in grey, chance as a dashed line)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib
    except ImportError:
        from benchsmith.errors import BenchsmithError

        raise BenchsmithError("the evaluation plot needs matplotlib: pip install matplotlib") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in data["models"] + data["null_models"] if r["accuracy"] is not None]
    failed = [r["name"] for r in data["models"] if r["accuracy"] is None]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * max(len(rows), 2) + 1.6), dpi=120)
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows, strict=True):
        acc, (lo, hi) = r["accuracy"], r["ci95"]
        color = "#9e9e9e" if r["null_model"] else "#1f77b4"
        ax.barh(y, acc, color=color, height=0.6)
        ax.errorbar(acc, y, xerr=[[acc - lo], [hi - acc]], fmt="none", ecolor="black", capsize=4, lw=1.2)
        ax.text(min(hi + 0.02, 0.98), y, f"{acc:.1%}", va="center", fontsize=8)
    ax.axvline(data["chance"], color="#d62728", ls="--", lw=1, label=f"chance {data['chance']:.1%}")
    ax.set_yticks(ys, [("(null) " if r["null_model"] else "") + r["name"] for r in rows], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy (95% bootstrap CI)")
    sep = data["separability"]
    title = f"{data['suite']} {data['version']}: {data['items']} items; separability " + (
        f"{sep:.0%}" if sep is not None else "undefined")
    if failed:
        title += "\nfailed every item (not shown): " + ", ".join(failed)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_results(folder: Path, run: str, data: dict[str, Any]) -> dict[str, Path]:
    """<run>.json, <run>.md and <run>.png in `folder`; refuses to overwrite an earlier run's files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / f"{run}.json", "markdown": folder / f"{run}.md", "plot": folder / f"{run}.png"}
    if any(p.exists() for p in paths.values()):
        from benchsmith.errors import BenchsmithError

        raise BenchsmithError(f"{paths['json']}: an evaluation run of this name exists; choose another --run")
    tmp = paths["json"].with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths["markdown"].write_text(markdown(data), encoding="utf-8")
        plot(data, paths["plot"])
        os.replace(tmp, paths["json"])  # last: a results file means the run is complete
    finally:
        tmp.unlink(missing_ok=True)
    return paths


def card_lines(data: dict[str, Any]) -> list[str]:
    """Markdown lines for a dataset card's quality section, from one evaluation's results
    (`latest_evaluation`): which panel, separability, agreement, the null-model floor, difficulty."""
    panel = ", ".join(p["name"] for p in data["panel"])
    scored = [m for m in data["models"] if m["accuracy"] is not None]
    sep = data["separability"]
    lines = [f"- Evaluated by a panel of {len(data['panel'])} model(s) ({panel}) on {data['items']} items "
             f"(run {data['run']}, {data['created_at'][:10]}).",
             "- Separability (model pairs with non-overlapping 95% CIs): "
             + (f"{sep:.1%}" if sep is not None else str(data["separability_note"])) + "."]
    if scored:
        lines.append("- Accuracy: " + "; ".join(f"{m['name']} {m['accuracy']:.1%} {_ci(m)}" for m in scored) + ".")
    agr = data.get("agreement")
    if agr and agr.get("kendall_tau") is not None:
        awc = agr.get("agreement_with_confidence")
        lines.append(f"- Agreement with the reference ranking: Kendall's tau {agr['kendall_tau']:.2f}"
                     + (f", agreement with confidence {awc:.1%}" if awc is not None else "") + ".")
    floor = max((n["accuracy"] for n in data["null_models"]), default=0.0)
    above = [n["name"] for n in data["null_models"] if n["above_chance"]]
    lines.append(f"- Null-model floor: {floor:.1%} (chance {data['chance']:.1%})"
                 + (f"; above chance: {', '.join(above)}" if above else "") + ".")
    hist = data["difficulty_histogram"]
    bins = hist["bins"]
    lines.append("- Difficulty (share of the panel solving an item): "
                 + ", ".join(f"{bins[i]:.0%}–{bins[i + 1]:.0%}: {n}" for i, n in enumerate(hist["counts"])) + ".")
    return lines


def evaluation_brief(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a listing of versions shows of its latest evaluation (`benchsmith versions`): the run, its date,
    the best model's accuracy, separability and whether a null model scored above chance; None for none."""
    if not data:
        return None
    scored = [m for m in data.get("models") or [] if m.get("accuracy") is not None]
    best = max(scored, key=lambda m: m["accuracy"], default=None)
    return {"run": data.get("run"), "created_at": data.get("created_at"), "items": data.get("items"),
            "panel": [p.get("name") for p in data.get("panel") or []],
            "best_model": None if best is None else best["name"],
            "best_accuracy": None if best is None else best["accuracy"],
            "separability": data.get("separability"),
            "null_above_chance": any(n.get("above_chance") for n in data.get("null_models") or [])}


def brief_cell(brief: dict[str, Any] | None) -> str:
    """One table cell of `evaluation_brief`: "alpha 75.0%, sep 67%, 2026-11-03" (or "-")."""
    if brief is None:
        return "-"
    best = "no model scored" if brief["best_model"] is None else f"{brief['best_model']} {brief['best_accuracy']:.1%}"
    sep = brief["separability"]
    cell = f"{best}, sep {'n/a' if sep is None else f'{sep:.0%}'}, {str(brief['created_at'] or '')[:10]}"
    return cell + (", null above chance" if brief["null_above_chance"] else "")
