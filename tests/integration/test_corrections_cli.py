"""`huiyin nlp export-corrections` and `huiyin nlp suggest --from-db` on a real database."""

from __future__ import annotations

import csv
from pathlib import Path

from bot.services.handling import learning
from storage.db import make_engine, make_sessionmaker
from storage.models import utcnow
from tests.integration.test_startup import huiyin

HEATING = "城乡建设/城市建设和市政管理/冬季采暖"
REPORTS = [
    "家里温控阀拧到头了还是冰凉冰凉的",
    "温控阀坏了，屋里才十二度，老人孩子都冻感冒了",
    "三号楼的温控阀又不管用了，打电话没人接",
]
CHATTER = ["今天暖气挺热的，谢谢物业师傅", "有没有人一起拼团买暖风机"]


async def _store(url: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine).begin() as session:
        for text in REPORTS:
            await learning.record(
                session,
                source=learning.CATEGORY,
                channel=learning.PRIVATE,
                text=text,
                actor_id=1,
                at=utcnow(),
                category=HEATING,
            )
        for text in CHATTER:
            await learning.record(
                session,
                source=learning.GROUP_NO,
                channel=learning.GROUP,
                text=text,
                actor_id=2,
                at=utcnow(),
            )
    await engine.dispose()


async def test_export_writes_the_dev_colloquial_format(database_url: str, tmp_path: Path) -> None:
    env = {"HUIYIN_DATABASE_URL": database_url}
    out = tmp_path / "corrections.csv"
    empty = huiyin("nlp", "export-corrections", str(out), env=env)
    assert empty.returncode == 0, empty.stderr
    assert "0 条" in empty.stdout
    await _store(database_url)
    done = huiyin("nlp", "export-corrections", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert "5 条" in done.stdout
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["id", "channel", "kind", "text", "category", "intent", "urgency"]
    assert [(r["channel"], r["kind"], r["category"]) for r in rows] == [
        ("private", "report", HEATING)
    ] * 3 + [("group", "chatter", "")] * 2
    assert [r["text"] for r in rows] == REPORTS + CHATTER
    # nlp eval reads the export like the shared data.
    evaluated = huiyin("nlp", "eval", str(out), env=env)
    assert evaluated.returncode == 0, evaluated.stderr


async def test_suggest_from_db_proposes_from_the_stored_corrections(
    database_url: str, tmp_path: Path
) -> None:
    env = {"HUIYIN_DATABASE_URL": database_url}
    nothing = huiyin("nlp", "suggest", "--from-db", env=env)
    assert nothing.returncode == 0, nothing.stderr
    assert "还没有纠正样本" in nothing.stdout
    await _store(database_url)
    found = huiyin("nlp", "suggest", "--from-db", "--min-support", "2", env=env)
    assert found.returncode == 0, found.stderr
    assert "5 corrections from the database" in found.stderr
    # A word of the corrections the rules do not know, with the exported rows as evidence.
    assert f"[{HEATING}]" in found.stdout
    assert "温控阀" in found.stdout and "C0001" in found.stdout
    # With the shared data beside them, each change shows what it does to both.
    data = tmp_path / "data"
    data.mkdir()
    (data / "dev_colloquial.csv").write_text(
        "id,channel,kind,text,category,intent,urgency\n"
        "A1,group,chatter,今天暖气挺热的 谢谢物业,,,\n"
        f"A2,private,report,暖气不热 屋里好冷,{HEATING},投诉,一般\n",
        encoding="utf-8",
    )
    measured = huiyin(
        "nlp", "suggest", "--from-db", "--data-dir", str(data), "--min-support", "2", env=env
    )
    assert measured.returncode == 0, measured.stderr
    assert "dev_colloquial:" in measured.stdout and "examples:" in measured.stdout
    assert "examples category.macro_f1 0.000→1.000" in measured.stdout


def test_export_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/new.db"
    refused = huiyin("nlp", "export-corrections", str(tmp_path / "x.csv"), env={
        "HUIYIN_DATABASE_URL": url
    })
    assert refused.returncode == 2 and "huiyin db upgrade" in refused.stderr
