"""The `huiyin nlp` commands: explain, eval, suggest, fit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nlp.dataset import Row, read_label_map, read_rows
from nlp.decision import GROUP_ASK_AT, GROUP_TICKET_AT
from nlp.errors import RuleFileError
from nlp.extractor import Extractor


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `nlp` command with its explain / eval / suggest / fit sub-commands."""
    nlp = subparsers.add_parser("nlp", help="诉求识别规则：解释、评估、改进")
    sub = nlp.add_subparsers(dest="nlp_command", required=True)

    explain = sub.add_parser("explain", help="print the Extraction of a text and the rules fired")
    explain.add_argument("text", nargs="+", help="the message (several words are joined)")
    explain.add_argument("--json", action="store_true", help="print JSON")
    _rule_options(explain)
    explain.set_defaults(func=cmd_explain)

    ev = sub.add_parser("eval", help="measure the rules on a CSV file")
    _data_options(ev)
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument("--ticket-at", type=float, default=GROUP_TICKET_AT,
                    help="group report score for a ticket (channel/kind files)")
    ev.add_argument("--ask-at", type=float, default=GROUP_ASK_AT,
                    help="group report score for a one-tap question (channel/kind files)")
    ev.set_defaults(func=cmd_eval)

    sg = sub.add_parser("suggest", help="propose keywords per category from labelled data")
    _data_options(sg)
    sg.add_argument("--negatives", type=Path, help="CSV of non-reports (column 'text')")
    sg.add_argument("--min-support", type=int, default=5, help="messages a word must appear in")
    sg.add_argument("--min-precision", type=float, default=0.6, help="share in its category")
    sg.add_argument("--top", type=int, default=30, help="candidates per category")
    sg.add_argument("--data-dir", type=Path,
                    help="directory of dev_colloquial/dev_appeals/dev_chitchat.csv to measure "
                         "each proposed change on (for a file of labelled examples)")
    sg.set_defaults(func=cmd_suggest)

    ft = sub.add_parser("fit", help="fit the weights of the category keyword lines (offline)")
    _data_options(ft)
    ft.add_argument("--also-text-columns", default="subject",
                    help="a second view of each row added to the fit ('' for none)")
    ft.add_argument("--negatives", type=Path, help="CSV of non-reports, fitted as no category")
    ft.add_argument("--l2", type=float, default=0.001, help="pull towards the current weights")
    ft.add_argument("--cap", type=float, default=3.0, help="largest weight a line may get")
    ft.add_argument("--epochs", type=int, default=200)
    ft.add_argument("--write", action="store_true",
                    help="rewrite the weights in --rules-dir (default: print the changes)")
    ft.set_defaults(func=cmd_fit)

    fc = sub.add_parser("fit-cues", help="fit the weights of the report cues (cues.txt) on a "
                        "file with channel and kind columns (offline)")
    fc.add_argument("file", type=Path, help="CSV in the dev_colloquial format")
    fc.add_argument("--split", choices=("even", "odd"), help="fit only even or odd ids")
    fc.add_argument("--negatives", type=Path, help="CSV of chit-chat (column 'text'), as chatter")
    fc.add_argument("--l2", type=float, default=0.01, help="pull towards the current weights")
    fc.add_argument("--chatter-weight", type=float, default=2.0,
                    help="weight of a chatter row against a report (chit-chat counts 0.5)")
    fc.add_argument("--write", action="store_true",
                    help="rewrite the weights in --rules-dir (default: print the changes)")
    _rule_options(fc)
    fc.set_defaults(func=cmd_fit_cues)


def _rule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules-dir", type=Path, help="rule directory (default: shipped rules)")
    p.add_argument("--extra-dir", type=Path, action="append", default=[],
                   help="deployment rule directory added to the rules (repeatable)")
    p.add_argument("--user-dict", type=Path, help="jieba-format user dictionary")


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="CSV with a text column (and a label column)")
    p.add_argument("--text-columns", default=None,
                   help="comma-separated columns joined as the text (default: subject,text)")
    p.add_argument("--label-map", type=Path, help="CSV 'source,target' mapping labels")
    p.add_argument("--split", choices=("even", "odd"), help="only rows with even / odd ids")
    _rule_options(p)


def _load(args: argparse.Namespace) -> Extractor:
    return Extractor.load(args.rules_dir, args.extra_dir, args.user_dict)


def cmd_explain(args: argparse.Namespace) -> int:
    """Print the Extraction of one text and the rules that fired."""
    try:
        extractor = _load(args)
    except RuleFileError as exc:
        print(f"rule error: {exc}", file=sys.stderr)
        return 2
    text = " ".join(args.text)
    result = extractor.extract(text)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"text:        {text}")
    print(f"normalised:  {extractor.normalise(text)}")
    print(f"is_report:   {result.is_report}")
    print(f"intent:      {result.intent}")
    print(f"category:    {result.category_label}")
    print(f"urgency:     {result.urgency} {' '.join(result.urgent_words)}".rstrip())
    print(f"location:    {result.location or '-'}")
    print(f"confidence:  {result.confidence:.2f}")
    print("rules fired:")
    for line in result.explanation:
        print(f"  - {line}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print precision/recall/F1 per category, macro-F1, confusion and detection figures."""
    from nlp.dialogue import (
        evaluate_messages,
        format_messages_report,
        is_dialogue_file,
        read_messages,
    )
    from nlp.evaluate import evaluate, format_report

    try:
        extractor = _load(args)
        if is_dialogue_file(args.file):
            messages = read_messages(args.file, args.split)
            figures = evaluate_messages(
                extractor.extract, messages, args.ticket_at, args.ask_at
            )
            if args.json:
                print(json.dumps(figures, ensure_ascii=False, indent=2))
            else:
                print(format_messages_report(figures))
            return 0
        rows, labelled = _rows(args)
    except (RuleFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(extractor, rows, labelled)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print candidate keywords per category with their evidence, for a person to review."""
    from nlp.dialogue import is_dialogue_file
    from nlp.suggest import format_candidates, suggest

    try:
        if is_dialogue_file(args.file):
            return _suggest_from_examples(args)
        extractor = _load(args)
        rows, labelled = _rows(args)
        negatives = []
        if args.negatives:
            neg_rows, _ = read_rows(args.negatives, ["text"])
            negatives = [extractor.normalise(r.text) for r in neg_rows]
    except (RuleFileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not labelled:
        print("error: suggest needs a label column", file=sys.stderr)
        return 2
    found = suggest(extractor, rows, negatives, args.min_support, args.min_precision, args.top,
                    args.user_dict)
    print("# Candidates only: review each word before adding it to a rule file.")
    print(format_candidates(found))
    return 0


def _suggest_from_examples(args: argparse.Namespace) -> int:
    """Propose keyword lines from labelled examples; show each one's effect on the figures."""
    from nlp.corrections import checks_on, format_effects, measure, propose
    from nlp.dialogue import read_messages

    extractor = _load(args)
    examples = read_messages(args.file, args.split)
    data: dict[str, object] = {}
    for name, path in _data_files(args.data_dir).items():
        if name == "dev_colloquial":
            data[name] = read_messages(path)
        else:
            data[name] = read_rows(path, ["text"] if name == "dev_chitchat" else None)
    changes = propose(extractor, examples, args.min_support, args.top)
    print("# Proposed keyword lines, each tried alone: review before adding one to a rule file.")
    print(format_effects(measure(extractor, changes, checks_on(data, examples))))
    return 0


def _data_files(data_dir: Path | None) -> dict[str, Path]:
    """The data files found in data_dir (dev_colloquial, dev_appeals, dev_chitchat)."""
    if data_dir is None:
        return {}
    names = ("dev_colloquial", "dev_appeals", "dev_chitchat")
    return {n: data_dir / f"{n}.csv" for n in names if (data_dir / f"{n}.csv").exists()}


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the category line weights on the rows; print or write the changed lines."""
    from nlp.fit import fit, write
    from nlp.rulefiles import SHIPPED_RULES

    extractor = _load(args)
    rows, labelled = _rows(args)
    if not labelled:
        print("error: fit needs a label column", file=sys.stderr)
        return 2
    if args.also_text_columns:
        label_map = read_label_map(args.label_map) if args.label_map else None
        rows += read_rows(args.file, args.also_text_columns.split(","), label_map, args.split)[0]
    negatives: list[str] = []
    if args.negatives:
        negatives = [r.text for r in read_rows(args.negatives, ["text"], None, args.split)[0]]
    fitted = fit(extractor, rows, negatives, args.l2, args.cap, args.epochs)
    for (name, number), old, new in fitted.changes():
        print(f"{name}:{number}: {old:g} -> {new:g}")
    if args.write:
        n = write(fitted, args.rules_dir or SHIPPED_RULES)
        print(f"rewrote {n} lines", file=sys.stderr)
    return 0


def cmd_fit_cues(args: argparse.Namespace) -> int:
    """Fit the report-cue weights on reports and chatter; print or write the changed lines."""
    import csv

    from nlp.dataset import _in_split
    from nlp.fit import CueExample, cue_example, cue_weights, fit_cues, write
    from nlp.rulefiles import SHIPPED_RULES

    extractor = _load(args)
    before = cue_weights(extractor)
    examples: list[CueExample] = []
    with args.file.open(encoding="utf-8-sig", newline="") as f:
        for number, record in enumerate(csv.DictReader(f), start=2):
            kind = record.get("kind") or ""
            if kind not in ("report", "chatter"):
                continue
            if args.split and not _in_split(record.get("id") or "", number, args.split):
                continue
            weight = 1.0 if kind == "report" else args.chatter_weight
            x = cue_example(extractor, record.get("text") or "", kind == "report", weight, before)
            if x is not None:
                examples.append(x)
    if args.negatives:
        for row in read_rows(args.negatives, ["text"], None, args.split)[0]:
            if (x := cue_example(extractor, row.text, False, 0.5, before)) is not None:
                examples.append(x)
    if not examples:
        print("error: no report or chatter row fires a cue", file=sys.stderr)
        return 2
    fitted = fit_cues(extractor, examples, GROUP_TICKET_AT, GROUP_ASK_AT, args.l2)
    for (name, line), old, new in fitted.changes():
        print(f"{name}:{line}: {old:g} -> {new:g}")
    print(f"{len(examples)} messages fire a cue", file=sys.stderr)
    if args.write:
        n = write(fitted, args.rules_dir or SHIPPED_RULES)
        print(f"rewrote {n} lines", file=sys.stderr)
    return 0


def _rows(args: argparse.Namespace) -> tuple[list[Row], bool]:
    columns = args.text_columns.split(",") if args.text_columns else None
    label_map = read_label_map(args.label_map) if args.label_map else None
    return read_rows(args.file, columns, label_map, args.split)


def main(argv: list[str] | None = None) -> int:
    """Run `python -m nlp.cli nlp …` without the bot's CLI."""
    parser = argparse.ArgumentParser(prog="huiyin")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
