"""`huiyin nlp export-corrections` and `huiyin nlp suggest --from-db`: the labelled examples
people's corrections left in the database, as data for `huiyin nlp eval` and `suggest`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import Settings, load_settings

FROM_DB = "--from-db"


def register(nlp_commands: argparse._SubParsersAction) -> None:
    """Add `export-corrections FILE.csv` beside the other `huiyin nlp` commands."""
    export = nlp_commands.add_parser(
        "export-corrections",
        help="写出数据库中的纠正样本（dev_colloquial 格式 CSV），供 nlp eval / suggest 使用",
    )
    export.add_argument("file", type=Path, help="要写入的 CSV 文件")
    export.set_defaults(func=cmd_export)


def nlp_commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The sub-commands action of `huiyin nlp` in the `huiyin` parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and "nlp" in action.choices:
            nlp = action.choices["nlp"]
            for inner in nlp._actions:
                if isinstance(inner, argparse._SubParsersAction):
                    return inner
    raise LookupError("the huiyin parser has no nlp command")


async def export(settings: Settings, path: Path) -> int:
    """Write every stored labelled example to `path`; return how many (-1: not migrated)."""
    from bot.services.handling import learning
    from storage.db import is_up_to_date, make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            return -1
        async with make_sessionmaker(engine)() as session:
            rows = await learning.examples(session)
    finally:
        await engine.dispose()
    return learning.write_csv(rows, path)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the corrections stored in the database as a dev_colloquial CSV."""
    count = asyncio.run(export(load_settings(), args.file))
    if count < 0:
        print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
        return 2
    print(f"已导出 {count} 条纠正样本到 {args.file}")
    return 0


def suggest_from_db(argv: Sequence[str], run: Callable[[list[str]], int]) -> int:
    """`huiyin nlp suggest --from-db [FILE] [options]`: export the corrections, then run nlp's
    suggest on them (with FILE, the shared data, beside them when given)."""
    rest = [a for a in argv if a != FROM_DB]
    with tempfile.TemporaryDirectory(prefix="huiyin-corrections-") as tmp:
        path = Path(tmp) / "corrections.csv"
        count = asyncio.run(export(load_settings(), path))
        if count < 0:
            print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
            return 2
        print(f"# {count} corrections from the database", file=sys.stderr)
        if count == 0:
            print("数据库中还没有纠正样本（工作人员改分类、非诉求，居民或网格员答“不是”后才会有）。")
            return 0
        return run(_with_corrections(rest, path))


def _with_corrections(rest: list[str], path: Path) -> list[str]:
    """The suggest arguments with the exported corrections in them."""
    return [*rest, str(path)]
