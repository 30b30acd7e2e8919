"""The human-readable side of a RESULT: a Markdown table like the papers' and a per-person gain plot.

Table: one row per method, one column per shot count, "mean ± std" (std over trials), references labelled and
listed last. Zero-shot rows show their score on all test images under 0 and, in the k columns, their score on
exactly the same query sets as the k-shot methods (in brackets), so the columns compare like with like.

Plot (as Fig. 6 of the PA_IAA paper): for every method at the largest k, each person's SROCC gain over the
generic model on the same queries, sorted, one panel per method.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np


def _fmt(cell: Optional[dict]) -> str:
    if not cell or cell.get("srocc_mean") is None:
        return "–"
    std = cell.get("srocc_std")
    return f"{cell['srocc_mean']:.3f} ± {std:.3f}" if std is not None else f"{cell['srocc_mean']:.3f}"


def _shots(result: dict) -> List[str]:
    ks = {k for m in result["methods"].values() for k in m}
    ks |= {k for m in result.get("zero_shot_on_queries", {}).values() for k in m}
    return sorted(ks, key=int)


def markdown_report(result: dict, plot_name: Optional[str] = None) -> str:
    exp = result.get("experiment", {})
    refs = set(exp.get("references", []))
    zs = set(exp.get("zero_shot", []))
    shots = _shots(result)
    methods = [m for m in result["methods"] if m not in refs] + [m for m in result["methods"] if m in refs]
    lines = [f"# Evaluation: {exp.get('name', '')}", ""]
    if exp.get("description"):
        lines += [exp["description"], ""]
    env = exp.get("environment", {})
    mach = env.get("machine", {})
    lines += [
        f"- experiment file: `{exp.get('file')}`",
        f"- date: {env.get('date')}; machine: {mach.get('cpu_cores')} cores, {mach.get('platform')}; "
        f"piaa {env.get('piaa_version')} (commit {env.get('git_commit') or 'unknown'})",
        f"- folds: {', '.join(f['name'] for f in exp.get('folds', []))}; trials: {exp.get('test', {}).get('trials')}; "
        f"seed: {exp.get('test', {}).get('seed')}; wall time: {exp.get('wall_seconds', 0):.0f} s",
        "",
        "Per-person SROCC (mean over trials, then over people) ± std over trials of the per-trial means.",
        "Zero-shot rows: bracketed k-shot values are the zero-shot model scored on the same query images.",
        "",
    ]
    head = "| method | " + " | ".join(f"{k}-shot" for k in shots) + " | n_people | s/person |"
    lines += [head, "|" + "---|" * (len(shots) + 3)]
    zq = result.get("zero_shot_on_queries", {})
    for m in methods:
        cells = []
        res = result["methods"][m]
        for k in shots:
            if k in res:
                cells.append(_fmt(res[k]))
            elif m in zs and k in zq.get(m, {}):
                cells.append(f"({_fmt(zq[m][k])})")
            else:
                cells.append("–")
        main = [res[k] for k in res]
        n = max((c.get("n_people", 0) for c in main), default=0)
        last = res[max(res, key=int)] if res else {}
        spp = last.get("seconds_per_person")
        label = f"{m} (reference)" if m in refs else m
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {n} | {'–' if spp is None else f'{spp:.4f}'} |")
    lines.append("")
    plcc_rows = []
    for m in methods:
        vals = [f"{k}: {result['methods'][m][k]['plcc_mean']:.3f}" for k in result["methods"][m]
                if result["methods"][m][k].get("plcc_mean") is not None]
        if vals:
            plcc_rows.append(f"- {m}: " + ", ".join(vals))
    if plcc_rows:
        lines += ["Mean per-person PLCC:", ""] + plcc_rows + [""]
    if plot_name:
        lines += [f"![per-person SROCC gain over the generic model]({plot_name})", ""]
    warn = exp.get("warnings", [])
    if warn:
        lines += ["Warnings:", ""] + [f"- {w}" for w in warn] + [""]
    return "\n".join(lines)


def gain_series(result: dict, baseline: str = "generic") -> Dict[str, np.ndarray]:
    """Per method: sorted per-person SROCC gains over ``baseline`` at the largest k (same queries)."""
    base = result.get("zero_shot_on_queries", {}).get(baseline)
    if not base:
        return {}
    k = max(base, key=int)
    ref = base[k]["per_person"]
    out = {}
    for m, res in result["methods"].items():
        if m == baseline:
            continue
        cell = res.get(k)
        if cell is None:
            cell = result.get("zero_shot_on_queries", {}).get(m, {}).get(k)
        if not cell:
            continue
        gains = [v - ref[u] for u, v in cell["per_person"].items()
                 if v is not None and ref.get(u) is not None]
        if gains:
            out[m] = np.sort(np.array(gains))[::-1]
    return out


def gain_plot(result: dict, path, baseline: str = "generic") -> Optional[Path]:
    """Write the per-person gain plot; returns the path, or None when there is no baseline to compare with."""
    series = gain_series(result, baseline)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = result["zero_shot_on_queries"][baseline]
    k = max(base, key=int)
    refs = set(result.get("experiment", {}).get("references", []))
    n = len(series)
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.2 * n + 0.6), squeeze=False)
    for ax, (m, g) in zip(axes[:, 0], series.items()):
        colors = np.where(g >= 0, "#2b7bba", "#d95f02")
        ax.bar(np.arange(len(g)), g, width=1.0, color=colors)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xlim(-0.5, len(g) - 0.5)
        ax.set_ylabel("ΔSROCC")
        frac = float(np.mean(g > 0))
        ax.set_title(f"{m}{' (reference)' if m in refs else ''}: mean gain {g.mean():+.3f}, "
                     f"{100 * frac:.0f}% of {len(g)} people improve", fontsize=9)
    axes[-1, 0].set_xlabel(f"test people, sorted by gain ({k}-shot, same queries as {baseline})")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
