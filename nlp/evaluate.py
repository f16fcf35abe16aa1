"""Score an extractor against labelled rows: per-category P/R/F1, macro-F1, detection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from nlp.dataset import NEGATIVE_LABELS, Row
from nlp.decision import Decision, decide
from nlp.extractor import Extractor


def evaluate(extractor: Extractor, rows: Sequence[Row], labelled: bool) -> dict[str, Any]:
    """Run the extractor on every row and return the figures as a JSON-ready dict."""
    n = len(rows)
    results = [extractor.extract(r.text) for r in rows]
    flagged = sum(1 for x in results if x.is_report)
    report: dict[str, Any] = {"n": n, "report_rate": flagged / n if n else 0.0}
    # what the bot would do with each row heard in a grid group (default thresholds)
    decided = Counter(decide(x, "group") for x in results)
    report["group.ticket_rate"] = decided[Decision.TICKET] / n if n else 0.0
    report["group.prompt_rate"] = decided[Decision.ASK] / n if n else 0.0
    report["group.flagged_rate"] = report["group.ticket_rate"] + report["group.prompt_rate"]
    if not labelled:
        report["flagged_examples"] = [
            {"id": r.id, "text": r.text[:80], "category": x.category_label}
            for r, x in zip(rows, results, strict=True)
            if x.is_report
        ][:50]
        return report
    gold = [r.label or "-" for r in rows]
    positive = [g not in NEGATIVE_LABELS for g in gold]
    tp = sum(1 for p, x in zip(positive, results, strict=True) if p and x.is_report)
    n_pos = sum(positive)
    report["detection_recall"] = tp / n_pos if n_pos else None
    report["detection_precision"] = tp / flagged if flagged else None
    pairs = [
        (g, x.category[0] if x.category else "其他")
        for g, p, x in zip(gold, positive, results, strict=True)
        if p
    ]
    report.update(_classification(pairs))
    return report


def _classification(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    gold_counts = Counter(g for g, _ in pairs)
    pred_counts = Counter(p for _, p in pairs)
    hits = Counter(g for g, p in pairs if g == p)
    per: dict[str, dict[str, float]] = {}
    for label in sorted(set(gold_counts) | set(pred_counts)):
        tp = hits[label]
        precision = tp / pred_counts[label] if pred_counts[label] else 0.0
        recall = tp / gold_counts[label] if gold_counts[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {
            "precision": precision, "recall": recall, "f1": f1, "support": gold_counts[label]
        }
    gold_labels = sorted(gold_counts)
    macro = sum(per[g]["f1"] for g in gold_labels) / len(gold_labels) if gold_labels else 0.0
    confusion = Counter(pairs)
    predicted = sorted(pred_counts)
    return {
        "macro_f1": macro,
        "accuracy": sum(hits.values()) / len(pairs) if pairs else 0.0,
        "per_category": per,
        "confusion": {
            "labels": predicted,
            "rows": {g: [confusion[(g, p)] for p in predicted] for g in gold_labels},
        },
    }


def format_report(report: dict[str, Any]) -> str:
    """Render an evaluation dict as plain text tables."""
    lines = [
        f"rows: {report['n']}",
        f"flagged as reports: {report['report_rate']:.2%}",
        f"in a grid group: tickets {report['group.ticket_rate']:.2%}, "
        f"prompts {report['group.prompt_rate']:.2%}",
    ]
    if "per_category" not in report:
        lines.append("(no label column: every row is presumed not to be a report)")
        for ex in report.get("flagged_examples", [])[:20]:
            lines.append(f"  flagged {ex['id']}: {ex['text']}  [{ex['category']}]")
        return "\n".join(lines)
    recall, precision = report["detection_recall"], report["detection_precision"]
    lines.append(f"detection recall: {_pct(recall)}   detection precision: {_pct(precision)}")
    lines.append("")
    lines.append(f"{'category':<12}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}")
    for label, m in report["per_category"].items():
        lines.append(
            f"{label:<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}"
            f"{int(m['support']):>9}"
        )
    lines.append(f"macro-F1 (over gold labels): {report['macro_f1']:.3f}")
    lines.append(f"accuracy: {report['accuracy']:.3f}")
    lines.append("")
    lines.append("confusion (rows: gold, columns: predicted)")
    labels = report["confusion"]["labels"]
    lines.append(" " * 12 + "".join(f"{p[:4]:>8}" for p in labels))
    for gold, counts in report["confusion"]["rows"].items():
        lines.append(f"{gold[:6]:<12}" + "".join(f"{c:>8}" for c in counts))
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
