"""The rollups give the plain computation's figures, to the digit, on random tickets.

Random tickets over two months (every status, late and missing 签收, overdue ones, merged
voices, two rounds of 回访, half-answered ones), compared for every period kind and grouping,
both 回访 date bases and several reading times; then the writes that change figures after the
fact (重办 with a second 回访, a merge, /forget's de-identification, 回访 answers completed
late, a transfer, a cancellation) and the comparison again.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.departments import Directory
from bot.domain import Status
from bot.indicators import Indicators
from bot.periods import Period, custom, cycle_of, month_of, week_of
from bot.services.administration.personal_data import deidentify_ticket
from bot.services.statistics import figures as plain
from bot.services.statistics import rollup_figures
from bot.services.statistics.facts import load_facts
from bot.services.statistics.figures import GROUPINGS, Figures
from bot.workdays import WorkCalendar
from storage.db import make_engine, make_sessionmaker
from storage.models import (
    BoundChat,
    Followup,
    Ticket,
    TicketEvent,
    TicketRating,
    TicketReporter,
    User,
)

START = datetime(2026, 10, 1, tzinfo=UTC)
DEPARTMENTS = ["district_cg", "street_chaoyang", "community_xingfu", None]
GRIDS = [-501, -502, -777, None]  # -777 is a chat that is not a grid group
CATEGORIES = [
    "城乡建设/城市建设和市政管理/垃圾清运",
    "交通管理/道路交通/信号灯",
    "劳动和社会保障/工资",
]
STATUSES = ["closed"] * 6 + ["accepted", "new", "dispatching", "reopened", "cancelled", "resolved"]
SOLVED = ["resolved", "partial", "unresolved"]
SCORES = ["satisfied", "basic", "dissatisfied"]
PERIODS = [
    week_of(date(2026, 10, 19)),
    week_of(date(2026, 11, 2)),
    month_of(date(2026, 10, 1)),
    month_of(date(2026, 11, 1)),
    cycle_of(date(2026, 10, 25), 19),
    custom(date(2026, 10, 3), date(2026, 11, 11)),
]
NOWS = [START + timedelta(days=20), START + timedelta(days=45), START + timedelta(days=90)]


def minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randrange(low * 60, high * 60))


async def build(session: AsyncSession, rng: random.Random, count: int) -> None:
    """Random tickets with their events, voices, ratings and 回访 answers."""
    session.add_all([User(id=u, first_name="居民") for u in range(1, 41)])
    session.add(BoundChat(chat_id=-501, kind="grid", name="第一网格", bound_by=1))
    session.add(BoundChat(chat_id=-502, kind="grid", name="第二网格", bound_by=1))
    session.add(BoundChat(chat_id=-777, kind="staff", name="某部门群", bound_by=1))
    await session.flush()
    for n in range(count):
        filed = START + minutes(rng, 0, 24 * 50)
        status = rng.choice(STATUSES)
        reporter = rng.randrange(1, 31)
        resolved = None
        if status in ("closed", "resolved", "reopened") or rng.random() < 0.05:
            resolved = filed + minutes(rng, 1, 24 * 12)
        ticket = Ticket(
            number=f"T{n:05d}", reporter_id=reporter, source_chat_id=reporter,
            source_message_id=n, text="…", category=rng.choice(CATEGORIES),
            intent=rng.choice(["投诉", "投诉", "咨询"]), urgency="一般", status=status,
            accept_by=filed + timedelta(days=1), deadline_at=filed + minutes(rng, 24, 24 * 10),
            grid_chat_id=rng.choice(GRIDS), department=rng.choice(DEPARTMENTS),
            resolved_at=resolved,
            overdue_at=filed + timedelta(days=5) if rng.random() < 0.15 else None,
            created_at=filed, updated_at=filed,
        )  # fmt: skip
        session.add(ticket)
        await session.flush()
        if status not in ("new", "dispatching") and rng.random() < 0.9:
            for _ in range(rng.choice([1, 1, 1, 2])):  # a second accept: the first counts
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id, role="staff", action="accept",
                        to_status="accepted", created_at=filed + minutes(rng, 0, 40),
                    )
                )  # fmt: skip
        voices = [reporter]
        for i in range(rng.choice([0, 0, 0, 1, 2])):
            voice = rng.randrange(31, 41)
            voices.append(voice)
            session.add(
                TicketReporter(
                    ticket_id=ticket.id, user_id=voice, source_chat_id=voice,
                    source_message_id=10_000 + n * 10 + i, text="同一问题", created_at=filed,
                )
            )  # fmt: skip
        if resolved is None or status not in ("closed", "reopened"):
            continue
        rounds = 2 if status == "reopened" or rng.random() < 0.1 else 1
        for round_ in range(1, rounds + 1):
            if round_ == 2:
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id, role="reporter", action="rate_reopen",
                        to_status="reopened", created_at=resolved + timedelta(hours=30),
                    )
                )  # fmt: skip
            if status == "reopened" and round_ == 2:
                break  # reopened, its second 回访 not yet given
            for rater in rng.sample(voices, rng.randint(1, len(voices))):
                await rate(session, rng, ticket.id, round_, rater, resolved + minutes(rng, 1, 300))


async def rate(
    session: AsyncSession, rng: random.Random, ticket_id: int, round_: int, rater: int,
    when: datetime,
) -> None:  # fmt: skip
    """A verdict, with complete, partial or no 回访 answers."""
    unrated = rng.random() < 0.15
    score = "unrated" if unrated else rng.choice(SCORES)
    session.add(
        TicketRating(
            ticket_id=ticket_id, round=round_, rater_id=rater, score=score, created_at=when
        )
    )
    shape = rng.random()
    if shape < 0.1:
        return
    half = unrated or shape < 0.25
    session.add(
        Followup(
            ticket_id=ticket_id, round=round_, rater_id=rater, contacted=rng.random() < 0.8,
            solved=None if half else rng.choice(SOLVED),
            satisfaction=None if half else score, completed_at=None if half else when,
            created_at=when, updated_at=when,
        )
    )  # fmt: skip


async def change_after_the_fact(session: AsyncSession, rng: random.Random) -> None:
    """重办 with a late second 回访, merges, /forget, late answers, a transfer, a cancellation."""
    tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
    closed = [t for t in tickets if t.status == "closed" and t.resolved_at is not None]
    for t in rng.sample(closed, 8):  # 重办: the final 回访 replaces the first
        assert t.resolved_at is not None
        later = t.resolved_at + timedelta(days=rng.randrange(3, 20))
        t.status, t.resolution_round, t.resolved_at = Status.CLOSED, 2, later
        session.add(
            TicketEvent(
                ticket_id=t.id, role="reporter", action="rate_reopen", to_status="reopened",
                created_at=later - timedelta(days=1),
            )
        )  # fmt: skip
        await rate(session, rng, t.id, 2, t.reporter_id, later + timedelta(hours=2))
    for t in rng.sample(tickets, 6):  # merged: another voice joins, possibly another ticket's
        session.add(
            TicketReporter(
                ticket_id=t.id, user_id=rng.randrange(31, 41), source_chat_id=-1,
                source_message_id=90_000 + t.id, text="又一位", created_at=t.created_at,
            )
        )  # fmt: skip
    await session.flush()
    moved = (await session.execute(select(TicketReporter).limit(3))).scalars().all()
    for voice in moved:  # a voice split off onto another ticket
        voice.ticket_id = rng.choice(tickets).id
    for t in rng.sample(closed, 10):  # /forget: the reporter's ids are replaced
        await deidentify_ticket(session, t)
    await session.flush()
    await session.execute(  # late answers complete half-answered 回访
        update(Followup)
        .where(Followup.solved.is_(None), Followup.id % 2 == 0)
        .values(solved="resolved", satisfaction="basic")
    )
    for t in rng.sample(tickets, 5):  # transfers and cancellations
        t.department = rng.choice(DEPARTMENTS)
    for t in rng.sample(tickets, 3):
        t.status = Status.CANCELLED
    for t in rng.sample([t for t in tickets if t.status == "accepted"], 3):
        t.overdue_at = t.deadline_at  # marked by the sweeper
    await session.execute(delete(TicketRating).where(TicketRating.id == rng.randrange(1, 40)))


async def compare(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Compare every period, grouping, basis and reading time; return how many matched."""
    directory, cal = Directory.load(), WorkCalendar.load()
    compared = 0
    for basis in ("closed", "filed"):
        ind = dataclasses.replace(Indicators.load(), followup_basis=basis)
        for now in NOWS:
            for by in (None, *GROUPINGS):
                got = await rollup_figures.tallies(
                    sessions, PERIODS, by, by_filing=basis == "filed", calendar=cal,
                    directory=directory, now=now,
                )  # fmt: skip
                for period, tallies in zip(PERIODS, got, strict=True):
                    async with sessions() as session:
                        facts = await load_facts(session, period)
                    if by is None:
                        want: dict[str, Figures] = {
                            "": plain.figures(facts, period, ind, cal, now)
                        }
                        have = {"": plain.figures_of(tallies.get("", plain.Tally()), ind)}
                    else:
                        want = plain.grouped(facts, by, period, ind, directory, cal, now)
                        have = {k: plain.figures_of(t, ind) for k, t in tallies.items()}
                    assert have == want, (basis, now, by, period)
                    compared += 1
    # A department's own figures, and a stretch of trend periods in one read.
    scope = frozenset({"district_cg", ""})
    trend: list[Period] = [month_of(date(2026, 9, 1))]
    for _ in range(3):
        trend.append(month_of(trend[-1].end))
    ind = Indicators.load()
    got = await rollup_figures.tallies(
        sessions, trend, "grid", by_filing=False, calendar=cal, directory=directory,
        now=NOWS[1], departments=scope,
    )  # fmt: skip
    for period, tallies in zip(trend, got, strict=True):
        async with sessions() as session:
            facts = await load_facts(session, period, departments=scope)
        want = plain.grouped(facts, "grid", period, ind, directory, cal, NOWS[1])
        assert {k: plain.figures_of(t, ind) for k, t in tallies.items()} == want
        compared += 1
    return compared


async def test_rollups_agree_with_the_plain_figures(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(2026)
    try:
        async with sessions.begin() as session:
            await build(session, rng, 220)
        assert await compare(sessions) == 2 * 3 * 5 * len(PERIODS) + 4
        async with sessions.begin() as session:
            await change_after_the_fact(session, rng)
        assert await compare(sessions) == 2 * 3 * 5 * len(PERIODS) + 4
        async with sessions() as session:  # the comparisons saw figures, not empty sets
            facts = await load_facts(session, PERIODS[-1])
        assert sum(f.answers is not None for f in facts) > 40
        assert sum(f.verdict == "unrated" for f in facts) > 3
    finally:
        await engine.dispose()
