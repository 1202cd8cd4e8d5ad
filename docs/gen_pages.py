"""Pages generated at `mkdocs build` time (mkdocs-gen-files): nothing here is typed by hand.

- configuration.md: the prose guide (docs/_partials/configuration-guide.md) + every key of the schema.
- performance.md: the notes (docs/_partials/performance-notes.md) + one table per benchmarks/results/*.json,
  with the machine and date each was measured on.
- results.md sections: numbers of the default run, from docs/results/demo.json (written by
  `python docs/snapshot_results.py` after `make demo`, with its date, machine and commit).
- figures.md: the index of the paper figures, from the registry saegeom.viz.figures.FIGURES (caption, table,
  sources, the command that regenerates each), showing docs/assets/figure_<name>.png where a demo run's
  snapshot put it.
- publication.md: the notes (docs/_partials/publication-notes.md) + the expected time of config/paper.yaml per
  stage, from benchmarks/results/paper_estimate.json (written by benchmarks/paper_estimate.py).
- families.md and synthetic.md: the hand-written pages with their ``<!-- demo:NAME -->`` markers replaced by
  the tables of docs/results/demo.json (seed-ceiling fractions, families validation, width-ladder validation;
  :func:`demo_sections`), so the numbers they quote come from the snapshot, not from typing.
- changelog.md: CHANGELOG.md.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import mkdocs_gen_files

from saegeom.schema_docs import load_schema, render_markdown

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.2e}"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, dict)):
        return "`" + json.dumps(v) + "`"
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict]) -> str:
    cols: list[str] = []
    for row in rows:
        cols += [c for c in row if c not in cols]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def configuration_page() -> str:
    guide = (DOCS / "_partials" / "configuration-guide.md").read_text()
    return (guide + "\n## Every key\n\nGenerated from `workflow/schemas/config.schema.yaml` (the schema is enforced "
            "before any job; `<name>` stands for a name you choose).\n\n" + render_markdown(load_schema()))


def performance_page() -> str:
    parts = [(DOCS / "_partials" / "performance-notes.md").read_text(), "\n## Measured results\n"]
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("benchmark") == "paper_estimate":  # an extrapolation, not a measurement
            parts.append(f"\n### `{path.name}`\n\nThe publication config's expected time: see "
                         "[Publication run](publication.md).\n")
            continue
        m = data.get("machine", {})
        parts.append(f"\n### `{path.name}`\n\n{m.get('when_utc', '?')} on {m.get('cpu', '?')}, "
                     f"{m.get('cores', '?')} cores, GPU: {m.get('gpu') or 'none (no GPU was available to this run)'}; "
                     f"arguments `{json.dumps(data.get('args', {}))}`.\n\n")
        extra = {k: v for k, v in data.items() if k not in {"benchmark", "machine", "args", "rows"}}
        if data.get("rows"):
            parts.append(table(data["rows"]))
        if extra:
            parts.append("\n" + table([extra]))
    return "".join(parts)


def results_page() -> str:
    path = DOCS / "results" / "demo.json"
    if not path.exists():
        return "# The default run\n\nNo snapshot yet: run `make demo`, then `python docs/snapshot_results.py`.\n"
    d = json.loads(path.read_text())
    m, run = d["machine"], d.get("run", {})
    took = (f"{run['seconds'] / 60:.1f} minutes, {run['jobs']} jobs" if run.get("seconds") and run.get("jobs")
            else "time not recorded")
    if run.get("note"):
        took += f" ({run['note']})"
    lines = [
        "# The default run\n",
        f"Generated from `docs/results/demo.json`: `make demo` at commit `{d['commit']}`, {d['when_utc']}, on "
        f"{m['cpu']} ({m['cores']} cores): {took}. Re-create with `python docs/snapshot_results.py` after a run.\n",
        "## `results/metrics.parquet`\n",
        table([{"rows": d["rows"], **{f"rows ({k})": v for k, v in d["rows_by_source"].items()},
                "comparisons": d["comparisons"], "rows with a p-value": d["p_values"],
                "p < 0.01": d["p_below_0.01"], **({"q < 0.05": d["q_below_0.05"]} if "q_below_0.05" in d else {}),
                **({"trusted rows": d["rows_trusted"]} if "rows_trusted" in d else {})}]),
    ]
    if d.get("calibration"):
        lines += ["\n## `results/calibration.parquet`\n",
                  "Every calibrated metric × representation × pairing × null of this run "
                  "(see [Statistics](statistics.md#calibration) "
                  "for how to read it).\n\n", table(d["calibration"])]
    return "\n".join(lines)


def figures_page() -> str:
    from saegeom.viz import figures

    lines = [(DOCS / "_partials" / "figures-notes.md").read_text(), "\n## The figures\n"]
    for name in figures.FIGURES:
        mod = figures.module(name)
        lines.append(f"\n### `{name}`: {mod.TITLE}\n")
        image = DOCS / "assets" / f"figure_{name}.png"
        if image.exists():
            lines.append(f"![{mod.TITLE}](assets/figure_{name}.png)\n")
        else:
            lines.append("*(no rendering yet: `make demo`, then `python docs/snapshot_results.py`)*\n")
        lines += [f"{mod.CAPTION}\n",
                  f"- **table**: `{figures.TABLE.format(name=name)}` (built from {mod.SOURCES})",
                  f"- **files**: `{figures.PNG.format(name=name)}`, `{figures.PDF.format(name=name)}`",
                  f"- **module**: `{figures.FIGURES[name]}`",
                  f"- **regenerate**: `snakemake {figures.PNG.format(name=name)} --cores 1` (after deleting the "
                  f"table, or with `--forcerun figure_{name}` to redraw it)\n"]
    return "\n".join(lines)


def publication_page() -> str:
    parts = [(DOCS / "_partials" / "publication-notes.md").read_text()]
    path = ROOT / "benchmarks" / "results" / "paper_estimate.json"
    if not path.exists():
        return parts[0] + "\nNo estimate yet: run `python benchmarks/paper_estimate.py`.\n"
    d = json.loads(path.read_text())
    cores = {k.removeprefix("wall_hours_on_").removesuffix("_cores"): v for k, v in d.items()
             if k.startswith("wall_hours_on_")}
    parts += [
        "\n## Expected time per stage\n",
        f"Generated from `benchmarks/results/paper_estimate.json` ({d['machine']['when_utc']}; "
        f"{d['machine']['cpu']}, {d['machine']['cores']} cores), written by `python benchmarks/paper_estimate.py`. "
        f"In total about **{d['total_cpu_hours']} CPU-hours**; the longest single job about "
        f"{d['longest_job_hours']} h; wall time at best "
        + ", ".join(f"{v} h on {c} cores" for c, v in cores.items()) + ".\n",
        "\n**Method.**\n\n" + "".join(f"{i}. {step}\n" for i, step in enumerate(d["method"], 1)) + "\n",
        table(d["rows"]),
    ]
    return "".join(parts)


def _f2(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def _stamp(d: dict, section: str) -> str:
    """Where a section's numbers come from: its own run (``sections_from``, a ``--merge`` snapshot) or the
    snapshot's."""
    src = d.get("sections_from", {}).get(section, d)
    m = src.get("machine", {})
    return (f"From `docs/results/demo.json` (run at commit `{src.get('commit', '?')}`, {src.get('when_utc', '?')}, "
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores; `python docs/snapshot_results.py` after the run).")


#: display order of the ceiling table (others after these, by name)
REPRESENTATION_ORDER = ("decoder", "activations", "ground_truth")
SUBSPACE_ORDER = ("all", "shared", "mixed", "private_a", "private_b")


def _order(first: tuple[str, ...]):
    return lambda name: (first.index(name), "") if name in first else (len(first), name)


def ceiling_section(d: dict) -> str:
    """Cross-model value as a fraction of the seed ceiling: per study × SAE, subspace rows × representation
    columns, median (min–max) over model pairs, pairings and similarity metrics."""
    recs = d.get("ceiling_fractions") or []
    if not recs:
        return "*(no snapshot with a seed ceiling yet: `make demo`, then `python docs/snapshot_results.py`)*\n"
    parts = [_stamp(d, "ceiling_fractions") + "\n"]
    for study, sae in dict.fromkeys((r["study"], r["sae"]) for r in recs):
        rows = [r for r in recs if (r["study"], r["sae"]) == (study, sae)]
        reps = sorted(dict.fromkeys(r["representation"] for r in rows), key=_order(REPRESENTATION_ORDER))
        subs = sorted(dict.fromkeys(r["subspace"] for r in rows), key=_order(SUBSPACE_ORDER))
        cell = {(r["subspace"], r["representation"]): r for r in rows}
        parts.append(f"\n**`{sae}` on `{study}`**: `value_vs_ceiling`, median (min–max) over model pairs, pairings "
                     "and similarity metrics:\n\n")
        parts.append("| subspace | " + " | ".join(reps) + " |\n|---|" + "---|" * len(reps) + "\n")
        for sub in subs:
            cells = []
            for rep in reps:
                r = cell.get((sub, rep))
                if r is None:
                    cells.append("—")
                elif r["n"] == 1 or r["min"] == r["max"]:
                    cells.append(_f2(r["median"]))
                else:
                    dash = " to " if r["min"] < 0 else "–"  # "−1.07–1.10" would read as a subtraction
                    cells.append(f"{_f2(r['median'])} ({_f2(r['min'])}{dash}{_f2(r['max'])})")
            parts.append(f"| {sub} | " + " | ".join(cells) + " |\n")
    return "".join(parts)


def families_section(d: dict) -> str:
    """Per families table: family counts by number of models, per-level validation, adjusted Rand index."""
    recs = d.get("families") or []
    if not recs:
        return "*(no snapshot with families yet: `make demo`, then `python docs/snapshot_results.py`)*\n"
    parts = [_stamp(d, "families") + "\n"]
    for r in recs:
        by = r["families_by_n_models"]
        counts = ", ".join(f"{n} held by {k} model{'s' if k != '1' else ''}" for k, n in by.items())
        parts.append(f"\n**Families of `{r['sae']}` on `{r['study']}`** ({len(r['models'])} models, "
                     f"{r['n_latents']} latents; {r['n_families']} families: {counts}):\n\n"
                     "| level | true features | recall | recall (recoverable) | precision | false model rate |\n"
                     "|---|---:|---:|---:|---:|---:|\n")
        for lv in r["levels"]:
            n_true = lv.get("n_true")
            parts.append(f"| {lv['level']} | {'–' if n_true is None else int(n_true)} | {_f2(lv.get('recall'))} | "
                         f"{_f2(lv.get('recall_recoverable'))} | {_f2(lv.get('precision'))} | "
                         f"{_f2(lv.get('false_model_rate'))} |\n")
        parts.append(f"\nAdjusted Rand index of families vs true features over labelled latents: {_f2(r['ari'])}.\n")
    return "".join(parts)


def widths_section(d: dict) -> str:
    """Per width ladder: one row per width but the narrowest (label counts, links, precision, recall)."""
    recs = d.get("width_ladders") or []
    if not recs:
        return "*(no snapshot with a width ladder yet: `make demo`, then `python docs/snapshot_results.py`)*\n"
    parts = [_stamp(d, "width_ladders") + "\n"]
    for r in recs:
        parts.append(f"\n**Ladder `{r['ladder']}` on `{r['study']}`** "
                     f"(`results/widths/{r['study']}/{r['ladder']}_validation.parquet`):\n\n"
                     "| width | same | split | merged | novel | dead | children present | recovered links (correct) "
                     "| precision | recall where children first appear |\n|---|" + "---|" * 9 + "\n")
        for w in r["rows"]:
            new = w.get("n_new_children") or 0
            recall_new = (f"{_f2(w.get('recall_new'))} ({round((w.get('recall_new') or 0) * new)} of {new})" if new
                          else "— (no new child)")
            present = "–" if w.get("children_present") is None else f"{w['children_present']:.0%}"
            parts.append(f"| {w['parent_width']} → {w['width']} | {w['n_same']} | {w['n_split']} | {w['n_merged']} | "
                         f"{w['n_novel']} | {w['n_dead']} | {present} | {w['n_recovered']} ({w['n_correct']}) | "
                         f"{_f2(w.get('precision'))} | {recall_new} |\n")
    return "".join(parts)


#: the ``<!-- demo:NAME -->`` markers of the hand-written pages and what replaces them
SECTIONS = {"ceiling": ceiling_section, "families": families_section, "widths": widths_section}
MARKER = re.compile(r"<!-- demo:([a-z_]+) -->")


def demo_sections(text: str, d: dict) -> str:
    """``text`` with every ``<!-- demo:NAME -->`` marker replaced by ``SECTIONS[NAME](d)`` (an unknown name is
    an error, so a typo cannot leave a page silently without its numbers)."""
    def fill(m: re.Match) -> str:
        if m.group(1) not in SECTIONS:
            raise KeyError(f"unknown demo section {m.group(1)!r} (known: {sorted(SECTIONS)})")
        return SECTIONS[m.group(1)](d)

    return MARKER.sub(fill, text)


def demo_pages() -> dict[str, str]:
    """The hand-written pages that quote the default run, with their markers filled from demo.json."""
    path = DOCS / "results" / "demo.json"
    d = json.loads(path.read_text()) if path.exists() else {}
    return {name: demo_sections((DOCS / name).read_text(), d) for name in ("families.md", "synthetic.md")}


def write(name: str, text: str) -> None:
    with mkdocs_gen_files.open(name, "w") as f:
        f.write(text)
    mkdocs_gen_files.set_edit_path(name, "gen_pages.py")


write("configuration.md", configuration_page())
write("performance.md", performance_page())
write("results.md", results_page())
write("figures.md", figures_page())
write("publication.md", publication_page())
write("changelog.md", (ROOT / "CHANGELOG.md").read_text())
for _name, _text in demo_pages().items():
    with mkdocs_gen_files.open(_name, "w") as _f:  # the page itself, markers filled (its edit path stays)
        _f.write(_text)
