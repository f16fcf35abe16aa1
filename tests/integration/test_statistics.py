"""The figures, hand-computed: 13 tickets, three departments, two weeks, on SQLite and PostgreSQL.

Every 回访 combination is there (联系过 / 没有联系 × 已解决 / 部分解决 / 未解决 × 满意 / 基本满意 /
不满意), a reopened ticket whose first and final 回访 fall in different weeks, a merged ticket
whose other voice answered first, an overdue one, an open one past its deadline, a half-answered
回访 closed as 未评价, a 咨询 assessed on 响应率 only, and a cancelled one. The expected figures
below were worked out by hand from the table; the working notes are in the comments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.departments import Directory
from bot.indicators import Indicators
from bot.periods import BEIJING, Period, custom, cycle_of, month_of, week_of
from bot.services.statistics import figures as statistics
from bot.services.statistics import rollup_figures
from bot.services.statistics.facts import load_facts
from bot.services.statistics.figures import Figures
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

A, B, C = "district_cg", "street_chaoyang", "community_xingfu"
G1, G2 = "幸福社区第一网格", "幸福社区第二网格"
GRID_CHATS = {G1: -501, G2: -502}
CITY, ROAD = "城乡建设/城市建设和市政管理/垃圾清运", "交通管理/道路交通/信号灯"
NOW = "11-30 12:00"
W1, W2 = week_of(date(2026, 11, 16)), week_of(date(2026, 11, 23))
REPORTER, VOICE = 900, 902


def at(text: str) -> datetime:
    """A Beijing time in November 2026, "MM-DD HH:MM", as UTC."""
    return (
        datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING).astimezone(UTC)
    )


# (contacted, solved, satisfaction) or None for an unrated verdict; rater; time; round
Verdict = tuple[tuple[bool | None, str | None, str | None] | None, int, str, int]


@dataclass
class Case:
    """One ticket of the scenario."""

    n: int
    dept: str
    grid: str
    category: str
    filed: str
    accept_by: str
    deadline: str
    status: str
    accepted: str | None = None
    resolved: str | None = None
    overdue: bool = False
    intent: str = "投诉"
    reopens: int = 0
    merged: int = 0
    verdicts: tuple[Verdict, ...] = ()
    half_answered: tuple[bool, None, None] | None = None


CASES = [
    # T1 A/G1 城乡: on time, 2 working days, 联系过 已解决 满意 (W1)
    Case(1, A, G1, CITY, "11-16 09:00", "11-17 09:00", "11-21 09:00", "closed",
         "11-16 10:00", "11-18 10:00",
         verdicts=(((True, "resolved", "satisfied"), REPORTER, "11-19 10:00", 1),)),
    # T2 A/G1 城乡: accepted late, 4 working days, 联系过 部分解决 基本满意 (W1)
    Case(2, A, G1, CITY, "11-16 11:00", "11-17 11:00", "11-21 11:00", "closed",
         "11-17 12:00", "11-20 09:00",
         verdicts=(((True, "partial", "basic"), REPORTER, "11-20 10:00", 1),)),
    # T3 B/G2 交通: 没有联系 未解决 不满意 (W1, first round), reopened, final 回访 in W2:
    # 联系过 已解决 满意; 5 working days to the final resolution
    Case(3, B, G2, ROAD, "11-17 09:00", "11-18 09:00", "12-01 09:00", "closed",
         "11-17 10:00", "11-24 09:00", reopens=1,
         verdicts=(
             ((False, "unresolved", "dissatisfied"), REPORTER, "11-19 12:00", 1),
             ((True, "resolved", "satisfied"), REPORTER, "11-25 09:00", 2),
         )),
    # T4 B/G2 交通: merged (2 more voices); the other voice answered first, the reporter's
    # own 回访 counts: 联系过 已解决 基本满意 (W1)
    Case(4, B, G2, ROAD, "11-18 09:00", "11-19 09:00", "11-25 09:00", "closed",
         "11-18 10:00", "11-20 15:00", merged=2,
         verdicts=(
             ((False, "partial", "satisfied"), VOICE, "11-20 20:00", 1),
             ((True, "resolved", "basic"), REPORTER, "11-21 09:00", 1),
         )),
    # T5 C 城乡: accepted late, overdue (督办), resolved late; closed 未评价 in W2
    Case(5, C, "", CITY, "11-18 10:00", "11-19 10:00", "11-20 10:00", "closed",
         "11-20 10:00", "11-20 11:00", overdue=True,
         verdicts=((None, REPORTER, "11-27 11:00", 1),)),
    # T6 C 咨询 (响应率 only): 没有联系 已解决 满意 (W1), resolved the same day
    Case(6, C, "", CITY, "11-19 09:00", "11-20 09:00", "11-26 09:00", "closed",
         "11-19 09:30", "11-19 15:00", intent="咨询",
         verdicts=(((False, "resolved", "satisfied"), REPORTER, "11-20 09:00", 1),)),
    # T7 A/G2 交通: accepted, still open past its deadline (not yet marked by the sweeper)
    Case(7, A, G2, ROAD, "11-20 09:00", "11-21 09:00", "11-27 09:00", "accepted",
         "11-20 10:00"),
    # T8 A/G1 城乡: 联系过 已解决 满意 (W2), 1 working day
    Case(8, A, G1, CITY, "11-23 09:00", "11-24 09:00", "11-30 09:00", "closed",
         "11-23 10:00", "11-24 10:00",
         verdicts=(((True, "resolved", "satisfied"), REPORTER, "11-24 12:00", 1),)),
    # T9 A/G2 城乡: answered only 联系过, then closed 未评价 (not a valid 回访) in W2
    Case(9, A, G2, CITY, "11-23 10:00", "11-24 10:00", "11-30 10:00", "closed",
         "11-24 09:00", "11-25 09:00", half_answered=(True, None, None),
         verdicts=((None, REPORTER, "11-29 09:00", 1),)),
    # T10 B/G2 交通: merged (1 more voice); 没有联系 部分解决 不满意 → reopened, open (W2)
    Case(10, B, G2, ROAD, "11-24 09:00", "11-25 09:00", "12-10 09:00", "reopened",
         "11-24 10:00", "11-26 09:00", reopens=1, merged=1,
         verdicts=(((False, "partial", "dissatisfied"), REPORTER, "11-26 12:00", 1),)),
    # T11 C 城乡: never accepted, past its 签收 time; deadline still ahead
    Case(11, C, "", CITY, "11-25 09:00", "11-26 09:00", "12-02 09:00", "new"),
    # T12 C 交通: cancelled by the resident: in no process indicator
    Case(12, C, "", ROAD, "11-26 09:00", "11-27 09:00", "12-03 09:00", "cancelled"),
    # T13 B/G1 城乡: 联系过 未解决 基本满意 (W2), same day
    Case(13, B, G1, CITY, "11-27 09:00", "11-28 09:00", "12-04 09:00", "closed",
         "11-27 10:00", "11-27 16:00",
         verdicts=(((True, "unresolved", "basic"), REPORTER, "11-28 09:00", 1),)),
]  # fmt: skip


async def build(session: AsyncSession) -> None:
    """Write the scenario's rows as the services would have left them."""
    session.add_all([User(id=REPORTER, first_name="张"), User(id=VOICE, first_name="李")])
    for name, chat in GRID_CHATS.items():
        session.add(BoundChat(chat_id=chat, kind="grid", name=name, bound_by=1))
    await session.flush()
    for c in CASES:
        rounds = max([v[3] for v in c.verdicts], default=1 if c.resolved else 0)
        ticket = Ticket(
            number=f"202611{c.n:02d}-0001",
            reporter_id=REPORTER,
            source_chat_id=REPORTER,
            source_message_id=c.n,
            text="…",
            category=c.category,
            intent=c.intent,
            urgency="一般",
            status=c.status,
            accept_by=at(c.accept_by),
            deadline_at=at(c.deadline),
            resolution_round=rounds,
            grid_chat_id=GRID_CHATS.get(c.grid),
            department=c.dept,
            resolved_at=at(c.resolved) if c.resolved else None,
            overdue_at=at(c.deadline) if c.overdue else None,
            created_at=at(c.filed),
            updated_at=at(c.filed),
        )
        session.add(ticket)
        await session.flush()
        event = {"ticket_id": ticket.id, "role": "staff", "to_status": "accepted"}
        if c.accepted:
            session.add(TicketEvent(action="accept", created_at=at(c.accepted), **event))
        for _ in range(c.reopens):
            session.add(TicketEvent(action="rate_reopen", created_at=at(c.filed), **event))
        for i in range(c.merged):
            session.add(
                TicketReporter(
                    ticket_id=ticket.id,
                    user_id=VOICE + i,
                    source_chat_id=-1,
                    source_message_id=c.n * 10 + i,
                    text="同一问题",
                    created_at=at(c.filed),
                )
            )
        for answers, rater, when, round_ in c.verdicts:
            score = "unrated" if answers is None else answers[2]
            session.add(
                TicketRating(
                    ticket_id=ticket.id, round=round_, rater_id=rater, score=score,
                    created_at=at(when),
                )
            )  # fmt: skip
            given = answers or c.half_answered
            if given is not None:
                session.add(
                    Followup(
                        ticket_id=ticket.id,
                        round=round_,
                        rater_id=rater,
                        contacted=given[0],
                        solved=given[1],
                        satisfaction=given[2],
                        completed_at=at(when) if answers else None,
                        created_at=at(when),
                        updated_at=at(when),
                    )
                )


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    async with maker.begin() as session:
        await build(session)
    yield maker
    await engine.dispose()


def row(f: Figures) -> tuple[object, ...]:
    """tickets, valid 回访, 响应率, 解决率, 满意率, 综合成绩, 按时签收率, 按时办结率, 超期件数,
    发回重办率, 重复诉求率, 平均办理时长, 未评价率."""
    return (
        f.tickets, f.followups, f.rates["response"], f.rates["resolution"],
        f.rates["satisfaction"], f.score, f.on_time_accept, f.on_time_resolve, f.overdue,
        f.reopen_rate, f.repeat_rate, f.avg_days, f.unrated_rate,
    )  # fmt: skip


# Overall, week 1 (filed: T1–T7; 回访 concluded: T1 T2 T4 T6):
#   响应率 3/4; 解决率 (1 + .5 + 1)/3 (T6 咨询 not assessed); 满意率 (1 + .9 + .9)/3;
#   综合成绩 10×.75 + 50×5/6 + 40×14/15 = 86.5; 签收 5/7 (T2 T5 late); 超期 T5, T7;
#   办结 on time 5 of 7 due; 重办 T3 of 6 resolved; 重复 2 of 9 voices; days (2+4+5+2+2+0)/6.
WEEK1 = (7, 4, 0.75, 0.8333, 0.9333, 86.5, 0.7143, 0.7143, 2, 0.1667, 0.2222, 2.5, 0.0)
# Overall, week 2 (filed: T8 T9 T10 T11 T13, T12 cancelled; concluded: T3 T5 T8 T9 T10 T13,
#   T5 T9 未评价): 响应率 3/4; 解决率 (1+1+.5+0)/4; 满意率 (1+1+0+.9)/4;
#   综合成绩 7.5 + 31.25 + 29 = 67.75; 签收 4/5 (T11); 重办 T10 of 4; 重复 1 of 6;
#   days (1+2+2+0)/4; 未评价 2/6.
WEEK2 = (5, 4, 0.75, 0.625, 0.725, 67.75, 0.8, 1.0, 0, 0.25, 0.1667, 1.25, 0.3333)

Expected = dict[Period, dict[str, tuple[object, ...]]]
BY_DEPARTMENT: Expected = {
    W1: {
        # A: T1 T2 T7 → 响应 2/2, 解决 1.5/2, 满意 1.9/2 → 10 + 37.5 + 38
        A: (3, 2, 1.0, 0.75, 0.95, 85.5, 0.6667, 0.6667, 1, 0.0, 0.0, 3.0, 0.0),
        # B: T3 T4 (T3's final 回访 is in W2) → T4 only: 10 + 50 + 36
        B: (2, 1, 1.0, 1.0, 0.9, 96.0, 1.0, 1.0, 0, 0.5, 0.5, 3.5, 0.0),
        # C: T5 T6 → T6 咨询: 响应率 0/1, nothing else assessed, 综合成绩 on 响应率 alone
        C: (2, 1, 0.0, None, None, 0.0, 0.5, 0.5, 1, 0.0, 0.0, 1.0, 0.0),
    },
    W2: {
        # A: T8 T9; T9 未评价 → 1/2
        A: (2, 1, 1.0, 1.0, 1.0, 100.0, 1.0, 1.0, 0, 0.0, 0.0, 1.5, 0.5),
        # B: 回访 T3 T10 T13 → 响应 2/3, 解决 1.5/3, 满意 1.9/3 → 6.67 + 25 + 25.33
        B: (2, 3, 0.6667, 0.5, 0.6333, 57.0, 1.0, 1.0, 0, 0.5, 0.3333, 1.0, 0.0),
        # C: T11 (T12 cancelled), T5 未评价 → no valid 回访, no score
        C: (1, 0, None, None, None, None, 0.0, None, 0, None, 0.0, None, 1.0),
    },
}
LEVELS = {A: "区县部门", B: "街道/乡镇", C: "社区/村"}
BY_GRID: Expected = {
    W1: {
        G1: (2, 2, 1.0, 0.75, 0.95, 85.5, 0.5, 1.0, 0, 0.0, 0.0, 3.0, 0.0),
        # G2: T3 T4 T7 → 回访 T4; 超期 T7; 办结 on time 2 of 3; 重复 2 of 5
        G2: (3, 1, 1.0, 1.0, 0.9, 96.0, 1.0, 0.6667, 1, 0.5, 0.4, 3.5, 0.0),
        "": BY_DEPARTMENT[W1][C],
    },
    W2: {
        # G1: T8 T13 → 解决 (1+0)/2, 满意 (1+.9)/2 → 10 + 25 + 38
        G1: (2, 2, 1.0, 0.5, 0.95, 73.0, 1.0, 1.0, 0, 0.0, 0.0, 0.5, 0.0),
        # G2: T9 T10 filed; 回访 T3 T10 (T9 未评价) → 5 + 37.5 + 20
        G2: (2, 2, 0.5, 0.75, 0.5, 62.5, 1.0, 1.0, 0, 0.5, 0.3333, 2.0, 0.3333),
        "": BY_DEPARTMENT[W2][C],
    },
}
BY_CATEGORY: Expected = {
    W1: {
        # T1 T2 T5 T6 → 响应 2/3, 解决 1.5/2, 满意 1.9/2 → 6.667 + 37.5 + 38
        "城乡建设": (4, 3, 0.6667, 0.75, 0.95, 82.17, 0.5, 0.75, 1, 0.0, 0.0, 2.0, 0.0),
        "交通管理": BY_GRID[W1][G2],
    },
    W2: {
        # T8 T9 T11 T13 filed; 回访 T5 T8 T9 T13 (T5 T9 未评价)
        "城乡建设": (4, 2, 1.0, 0.5, 0.95, 73.0, 0.75, 1.0, 0, 0.0, 0.0, 1.0, 0.5),
        # T10 filed (T12 cancelled); 回访 T3 T10
        "交通管理": (1, 2, 0.5, 0.75, 0.5, 62.5, 1.0, 1.0, 0, 1.0, 0.5, 2.0, 0.0),
    },
}


@pytest.fixture(params=["plain", "rollup"])
def path(request: pytest.FixtureRequest) -> str:
    """Every figure is checked both from the tickets' rows and from the per-day rollups."""
    return str(request.param)


async def figures_by(
    sessions: async_sessionmaker[AsyncSession], period: Period, by: str | None, path: str
) -> dict[str, Figures]:
    """The figures per group (one group "" when by is None), by the plain or the rollup path."""
    ind, directory, cal, now = Indicators.load(), Directory.load(), WorkCalendar.load(), at(NOW)
    if path == "rollup":
        (tallies,) = await rollup_figures.tallies(
            sessions, [period], by, by_filing=ind.followup_basis == "filed", calendar=cal,
            directory=directory, now=now,
        )  # fmt: skip
        if by is None:
            return {"": statistics.figures_of(tallies.get("", statistics.Tally()), ind)}
        return {k: statistics.figures_of(t, ind) for k, t in tallies.items()}
    async with sessions() as session:
        facts = await load_facts(session, period)
    if by is None:
        return {"": statistics.figures(facts, period, ind, cal, now)}
    return statistics.grouped(facts, by, period, ind, directory, cal, now)


async def compute(
    sessions: async_sessionmaker[AsyncSession], period: Period, by: str | None, path: str
) -> dict[str, tuple[object, ...]]:
    return {k: row(v) for k, v in (await figures_by(sessions, period, by, path)).items()}


async def test_overall_figures_for_two_weeks(
    sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    assert await compute(sessions, W1, None, path) == {"": WEEK1}
    assert await compute(sessions, W2, None, path) == {"": WEEK2}


@pytest.mark.parametrize("week", [W1, W2], ids=["week1", "week2"])
async def test_figures_by_every_grouping(
    sessions: async_sessionmaker[AsyncSession], week: Period, path: str
) -> None:
    assert await compute(sessions, week, "department", path) == BY_DEPARTMENT[week]
    by_level = {LEVELS[k]: v for k, v in BY_DEPARTMENT[week].items()}
    assert await compute(sessions, week, "level", path) == by_level
    assert await compute(sessions, week, "grid", path) == BY_GRID[week]
    assert await compute(sessions, week, "category", path) == BY_CATEGORY[week]


async def test_rankings_with_bands(sessions: async_sessionmaker[AsyncSession], path: str) -> None:
    ind, directory = Indicators.load(), Directory.load()
    expected = {
        W1: [(1, B, "green"), (2, A, "yellow"), (3, C, "red")],
        W2: [(1, A, "green"), (2, B, "red"), (None, C, "")],
    }
    for week, want in expected.items():
        groups = await figures_by(sessions, week, "department", path)
        rows = statistics.ranking(groups, ind, directory.name)
        assert [(r.rank, r.key, r.figures.band) for r in rows] == want
        assert rows[0].name == directory.name(want[0][1])


async def test_a_department_sees_only_its_own_tickets(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        facts = await load_facts(session, W1, departments=frozenset({A}))
    assert sorted(f.number for f in facts) == ["20261101-0001", "20261102-0001", "20261107-0001"]


async def test_the_whole_fortnight_as_a_custom_period(
    sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    both = custom(date(2026, 11, 16), date(2026, 11, 29))
    (figures,) = (await compute(sessions, both, None, path)).values()
    # Filed: 12 not cancelled; 10 回访 concluded (T3 once, its final round), 8 valid.
    assert figures[:2] == (12, 8) and figures[-1] == 0.2


def test_periods_week_month_and_a_cycle_from_the_19th() -> None:
    assert (W1.start, W1.last_day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert month_of(date(2026, 12, 31)) == Period("month", date(2026, 12, 1), date(2027, 1, 1))
    cycle = cycle_of(date(2026, 11, 30), 19)
    assert (cycle.start, cycle.last_day) == (date(2026, 11, 19), date(2026, 12, 18))
    early = cycle_of(date(2027, 1, 5), 19)
    assert (early.start, early.last_day) == (date(2026, 12, 19), date(2027, 1, 18))
    assert early.previous(19).start == date(2026, 11, 19)
    assert W2.previous() == W1
    assert cycle.label() == "2026-11-19_2026-12-18"
