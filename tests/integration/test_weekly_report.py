"""The weekly report on the hand-computed scenario of test_statistics: due Monday 09:00 Beijing,
the dispatch summary with the change on the week before, the Excel ranking, each department's own
lines, and nothing sent twice."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.deadlines import DeadlinePolicy
from bot.services.context import Services
from bot.services.statistics import report
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker
from storage.models import BoundChat, OutboxMessage
from tests.integration.test_statistics import A, B, C, at, build

CHATS = {"": -10, A: -11, B: -12, C: -13}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = at("11-30 08:59")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(database_url: str, extractor: Extractor) -> AsyncIterator[tuple[Services, Clock]]:
    engine = make_engine(database_url)
    clock = Clock()
    svc = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
        clock=clock,
    )
    async with svc.sessions.begin() as session:
        await build(session)
        for code, chat in CHATS.items():
            session.add(BoundChat(chat_id=chat, kind="staff", name=code, bound_by=1))
    yield svc, clock
    await engine.dispose()


async def sent(svc: Services) -> list[tuple[int, str, dict[str, str]]]:
    async with svc.sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.chat_id, OutboxMessage.kind, OutboxMessage.payload).order_by(
                OutboxMessage.id
            )
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows.all()]


async def test_the_weekly_report(world: tuple[Services, Clock]) -> None:
    services, clock = world
    assert await report.weekly(services) == 0  # Monday 08:59: not yet
    assert await sent(services) == []
    clock.now = at("11-30 09:00")
    assert await report.weekly(services) == 4
    rows = await sent(services)
    by_chat = {(chat, kind): payload for chat, kind, payload in rows}
    summary = by_chat[(CHATS[""], "notice")]["text"]
    # Week 2 against week 1 (see test_statistics): 67.75 vs 86.5; 75% vs 75%; 62.5% vs
    # 83.33%; 72.5% vs 93.33%; overdue 0 vs 2; ranked: A 100, B 57 (C has no valid 回访).
    assert summary.splitlines() == [
        "【回音周报】2026-11-23 至 2026-11-29",
        "综合成绩 67.75（较上周 -18.75）",
        "响应率 75.00%（较上周 +0.00）｜解决率 62.50%（较上周 -20.83）"
        "｜满意率 72.50%（较上周 -20.83）",
        "登记 5 件，有效回访 4 件，超期 0 件（上周 2 件）",
        "前三名：1. 区城市管理委员会 100.00；2. 朝阳街道办事处 57.00",
        "后三名：2. 朝阳街道办事处 57.00；1. 区城市管理委员会 100.00",
        "各部门明细见附件。",
    ]
    document = by_chat[(CHATS[""], "document")]
    assert document["filename"] == "回音周报_部门排名_2026-11-23_2026-11-29.xlsx"
    sheet = load_workbook(io.BytesIO(base64.b64decode(document["data"]))).active
    assert sheet is not None
    table = [[c.value for c in row][:3] for row in sheet.iter_rows()]
    assert table == [
        ["排名", "名称", "综合成绩"],
        [1, "区城市管理委员会", 100],
        [2, "朝阳街道办事处", 57],
        [None, "幸福社区居委会", None],
    ]
    assert by_chat[(CHATS[A], "notice")]["text"].splitlines()[1] == (
        "综合成绩 100.00（第 1 名，共 2 个部门）（较上周 +14.50）"
    )
    assert "登记 2 件，有效回访 3 件" in by_chat[(CHATS[B], "notice")]["text"]
    assert "不参与排名" in by_chat[(CHATS[C], "notice")]["text"]

    # Again in the same week (another pass, another instance): nothing new.
    clock.now = at("12-01 10:00")
    assert await report.weekly(services) == 0
    await report.weekly(services, force=True)
    assert len(await sent(services)) == len(rows) == 5


async def test_an_empty_week_is_not_reported(database_url: str, extractor: Extractor) -> None:
    engine = make_engine(database_url)
    clock = Clock()
    clock.now = at("11-30 09:00")
    svc = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
        clock=clock,
    )
    async with svc.sessions.begin() as session:
        session.add(BoundChat(chat_id=-10, kind="staff", name="", bound_by=1))
    assert await report.weekly(svc) == 0
    assert await sent(svc) == []
    await engine.dispose()
