"""The sweeper with frozen time on SQLite and PostgreSQL: 催办, 督办, 提级, rating reminder,
auto-close, across a weekend, the 国庆 holiday and a 调休 Saturday."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from bot import texts
from bot.deadlines import DeadlinePolicy
from bot.domain import Status
from bot.services.administration import staff as staff_admin
from bot.services.context import Person, Services
from bot.services.handling import staff
from bot.services.intake.filing import Source, open_ticket
from bot.services.rating import rating
from bot.services.supervision import sweeper
from bot.services.tickets import remember_user
from bot.workdays import WorkCalendar
from nlp import Extraction, Extractor
from storage.db import make_engine, make_sessionmaker
from storage.models import Followup, OutboxMessage, Ticket, TicketEvent, TicketRating
from tests.integration.prompting import reply_to_prompt

CST = ZoneInfo("Asia/Shanghai")
ADMIN = Person(1, "管理员")
DISPATCHER = Person(2, "调度员")
CLERK = Person(3, "城管小赵")
RESIDENT = Person(4, "张阿姨")
DISPATCH_CHAT, CG_CHAT, CITY_CHAT = -100, -200, -300
GARBAGE = ("城乡建设", "城市建设和市政管理", "垃圾清运")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, local: str) -> None:
        """Move to a Beijing wall-clock time, e.g. "2026-10-10 00:00:30"."""
        self.now = datetime.fromisoformat(local).replace(tzinfo=CST).astimezone(UTC)


@pytest.fixture
async def services(database_url: str, extractor: Extractor) -> AsyncIterator[Services]:
    engine = make_engine(database_url)
    svc = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
        admin_ids=frozenset({ADMIN.id}),
        clock=Clock(datetime(2026, 9, 1, tzinfo=UTC)),
    )
    await staff_admin.bind_staff_chat(svc, ADMIN, DISPATCH_CHAT, "总平台", 1)
    await staff_admin.add_staff(svc, ADMIN, DISPATCHER, DISPATCH_CHAT, 2)
    await staff_admin.bind_staff_chat(svc, ADMIN, CG_CHAT, "区城管委", 3, "区城管委")
    await staff_admin.add_staff(svc, ADMIN, CLERK, CG_CHAT, 4)
    await staff_admin.bind_staff_chat(svc, ADMIN, CITY_CHAT, "市城管委", 5, "市城管委")
    yield svc
    await engine.dispose()


def clock_of(svc: Services) -> Clock:
    assert isinstance(svc.clock, Clock)
    return svc.clock


async def file(svc: Services, local: str, intent: str, urgency: str = "一般") -> int:
    """Open a 区城管委 ticket at a Beijing time with a given intent and urgency."""
    clock_of(svc).at(local)
    extraction = Extraction(
        is_report=True,
        intent=intent,
        category=GARBAGE,
        urgency=urgency,
        urgent_words=(),
        location=None,
        confidence=0.9,
        explanation=(),
    )
    async with svc.sessions.begin() as session:
        await remember_user(session, RESIDENT, started=svc.clock())
        msg = int(svc.clock().timestamp())
        ticket = await open_ticket(
            svc,
            session,
            RESIDENT,
            Source(RESIDENT.id, msg),
            "小区门口垃圾没人清理",
            extraction,
            svc.clock(),
        )
        assert ticket is not None and ticket.department == "district_cg"
        return ticket.id


async def ticket(svc: Services, ticket_id: int) -> Ticket:
    async with svc.sessions() as s:
        found = await s.get(Ticket, ticket_id)
        assert found is not None
        return found


async def texts_to(svc: Services, chat_id: int) -> list[str]:
    async with svc.sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.kind.in_(["notice", "card", "group_answer", "prompt"]),
            )
            .order_by(OutboxMessage.id)
        )
        return [json.loads(p).get("text", "") for p in rows.scalars()]


async def outbox_size(svc: Services) -> int:
    async with svc.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())


async def sweep_at(svc: Services, local: str) -> dict[str, int]:
    clock_of(svc).at(local)
    return dict(await sweeper.sweep(svc))


def local(dt: datetime) -> str:
    return f"{dt.astimezone(CST):%Y-%m-%d %H:%M:%S}"


async def test_consultation_across_national_day_and_a_make_up_saturday(services: Services) -> None:
    # 咨询, 3 working days, filed Wednesday 2026-09-30 15:00: 10-01..07 are 国庆 holidays,
    # 10-08 and 10-09 are working days 1 and 2, Saturday 10-10 is a 调休 working day, 3.
    tid = await file(services, "2026-09-30 15:00:00", "咨询")
    t = await ticket(services, tid)
    assert local(t.accept_by) == "2026-10-08 23:59:59"
    assert local(t.deadline_at) == "2026-10-10 23:59:59"
    assert local(t.remind_at) == "2026-10-09 23:59:59"  # one working day left
    assert local(t.escalate_at) == "2026-10-13 23:59:59"  # Mon 12th, Tue 13th
    assert t.due_kind == "remind"

    assert await sweep_at(services, "2026-10-05 12:00:00") == {}  # the holiday: nothing due
    assert await sweep_at(services, "2026-10-09 23:59:58") == {}
    assert await sweep_at(services, "2026-10-10 00:00:30") == {"remind": 1}
    assert any("【催办】" in m for m in await texts_to(services, CG_CHAT))
    assert await sweep_at(services, "2026-10-10 23:00:00") == {}
    assert await sweep_at(services, "2026-10-11 00:00:05") == {"overdue": 1}
    t = await ticket(services, tid)
    assert t.overdue_at is not None and t.due_kind == "escalate"
    # 督办 goes to the supervising chat: 市城管委 sits above 区城管委.
    assert any(
        "【督办】" in m and "区城市管理委员会" in m for m in await texts_to(services, CITY_CHAT)
    )
    assert any("已超过办结时限" in m for m in await texts_to(services, CG_CHAT))

    assert await sweep_at(services, "2026-10-13 23:00:00") == {}
    sent = await outbox_size(services)
    assert await sweep_at(services, "2026-10-14 00:00:01") == {"escalate": 1}
    t = await ticket(services, tid)
    assert t.department == "city_cg" and t.status == Status.NEW and t.escalations == 1
    assert any("提级至本部门" in m for m in await texts_to(services, CITY_CHAT))
    # A second pass at the same moment (a restart, a second instance) does nothing more.
    after = await outbox_size(services)
    assert after > sent
    assert await sweep_at(services, "2026-10-14 00:00:01") == {}
    assert await outbox_size(services) == after
    # At the top of its line (市级) it stays where it is.
    assert await sweep_at(services, "2026-10-20 00:00:00") == {"top": 1}
    assert (await ticket(services, tid)).next_due_at is None


async def test_urgent_counts_clock_hours_through_a_weekend(services: Services) -> None:
    tid = await file(services, "2026-11-20 20:00:00", "求助", urgency="紧急")  # a Friday
    t = await ticket(services, tid)
    assert local(t.deadline_at) == "2026-11-21 20:00:00"  # Saturday: hours, not working days
    assert local(t.remind_at) == "2026-11-21 14:00:00"  # 25% of 24 h before
    assert local(t.escalate_at) == "2026-11-22 00:00:00"  # 4 hours after
    assert await sweep_at(services, "2026-11-21 14:00:00") == {"remind": 1}
    assert await sweep_at(services, "2026-11-21 20:00:00") == {"overdue": 1}
    assert await sweep_at(services, "2026-11-22 00:00:00") == {"escalate": 1}
    assert (await ticket(services, tid)).department == "city_cg"


async def test_a_ticket_filed_on_friday_skips_the_weekend_and_late_sweeps_catch_up(
    services: Services,
) -> None:
    tid = await file(services, "2026-11-20 16:00:00", "建议")  # Friday, 3 working days
    t = await ticket(services, tid)
    assert local(t.deadline_at) == "2026-11-25 23:59:59"  # Mon, Tue, Wed
    assert local(t.remind_at) == "2026-11-24 23:59:59"
    # The sweeper was down for days: no stale 催办, straight to 督办.
    assert await sweep_at(services, "2026-11-26 09:00:00") == {"late_remind": 1, "overdue": 1}
    trail = await events(services, tid)
    assert trail == ["report", "overdue"]


async def events(svc: Services, ticket_id: int) -> list[str]:
    async with svc.sessions() as s:
        rows = await s.execute(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        )
        return list(rows.scalars())


async def resolve(svc: Services, tid: int, local_time: str) -> None:
    clock_of(svc).at(local_time)
    assert not (await staff.press(svc, CLERK, CG_CHAT, "accept", tid)).alert
    await staff.press(svc, CLERK, CG_CHAT, "resolve", tid)
    assert await reply_to_prompt(svc, CLERK, CG_CHAT, 77, "已清运")


async def test_rating_reminder_after_3_days_and_unrated_close_after_7(services: Services) -> None:
    tid = await file(services, "2026-10-09 10:00:00", "投诉")
    await resolve(services, tid, "2026-10-09 15:00:00")
    t = await ticket(services, tid)
    assert t.status == Status.RESOLVED and t.due_kind == "rate_remind"
    assert await sweep_at(services, "2026-10-12 14:59:59") == {}
    assert await sweep_at(services, "2026-10-12 15:00:00") == {"rate_remind": 1}
    reminder = [m for m in await texts_to(services, RESIDENT.id) if "还没有收到您的回访评价" in m]
    assert len(reminder) == 1
    assert await sweep_at(services, "2026-10-15 12:00:00") == {}  # one reminder only
    assert await sweep_at(services, "2026-10-16 15:00:00") == {"autoclose": 1}
    t = await ticket(services, tid)
    assert t.status == Status.CLOSED and t.next_due_at is None
    async with services.sessions() as s:
        scores = (await s.execute(select(TicketRating.score))).scalars().all()
    assert scores == ["unrated"]  # never counted as satisfied
    assert (await events(services, tid))[-2:] == ["rate_remind", "autoclose"]
    # A late press of the old rating buttons changes nothing.
    late = await rating.rate(
        services, RESIDENT, tid, 1, "satisfied", chat_id=RESIDENT.id, message_id=5
    )
    assert late.alert


async def test_reopened_ticket_enters_the_dissatisfied_queue_with_its_own_deadline(
    services: Services,
) -> None:
    tid = await file(services, "2026-11-02 09:00:00", "投诉")
    await resolve(services, tid, "2026-11-03 10:00:00")
    clock_of(services).at("2026-11-04 10:00:00")
    await rating.rate(
        services, RESIDENT, tid, 1, "dissatisfied", chat_id=RESIDENT.id, message_id=9
    )
    t = await ticket(services, tid)
    assert t.status == Status.REOPENED
    assert local(t.deadline_at) == "2026-11-18 23:59:59"  # 10 working days from the reopening
    assert t.due_kind == "remind" and local(t.remind_at) == "2026-11-17 23:59:59"
    told = await texts_to(services, CITY_CHAT)
    assert any("【不满意专区】" in m and "区城市管理委员会" in m for m in told)
    assert await sweep_at(services, "2026-11-18 00:00:01") == {"remind": 1}
    assert await sweep_at(services, "2026-11-19 00:00:01") == {"overdue": 1}


async def test_the_sweep_query_uses_the_due_index(services: Services) -> None:
    async with services.sessions() as s:
        bind = s.get_bind()
        sqlite = bind.dialect.name == "sqlite"
        if not sqlite:
            await s.execute(text("SET enable_seqscan = off"))  # an empty table: force the choice
        query = sweeper.due_query(datetime(2026, 10, 1, tzinfo=UTC), 10)
        sql = str(query.compile(bind, compile_kwargs={"literal_binds": True}))
        plan = await s.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql))
        shown = " ".join(str(r) for r in plan.all())
    assert "ix_tickets_next_due" in shown, shown


async def test_followup_rounds_are_kept_and_an_unfinished_one_closes_unrated(
    services: Services,
) -> None:
    tid = await file(services, "2026-11-02 09:00:00", "投诉")
    await resolve(services, tid, "2026-11-03 10:00:00")
    clock_of(services).at("2026-11-04 10:00:00")
    where = {"chat_id": RESIDENT.id, "message_id": 9}
    bad = await rating.answer(services, RESIDENT, tid, 1, "c", "maybe", **where)
    assert bad.alert and bad.text == texts.ALERT_INVALID
    assert (await rating.answer(services, RESIDENT, tid, 1, "c", "1", **where)).alert is False
    again = await rating.answer(services, RESIDENT, tid, 1, "c", "0", **where)
    assert again.text == texts.ALERT_ALREADY_ANSWERED
    await rating.answer(services, RESIDENT, tid, 1, "s", "partial", **where)
    await rating.rate(services, RESIDENT, tid, 1, "dissatisfied", **where)
    assert (await ticket(services, tid)).status == Status.REOPENED

    await resolve(services, tid, "2026-11-05 10:00:00")
    clock_of(services).at("2026-11-05 11:00:00")
    await rating.answer(services, RESIDENT, tid, 2, "c", "0", chat_id=RESIDENT.id, message_id=10)
    assert (await sweep_at(services, "2026-11-08 10:00:00")).get("rate_remind") == 1
    async with services.sessions() as s:
        payload = (
            (
                await s.execute(
                    select(OutboxMessage.payload)
                    .where(OutboxMessage.idempotency_key.like("rate_remind:%"))
                    .order_by(OutboxMessage.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert payload is not None
    reminder = json.loads(payload)
    # The reminder picks up at the question the reporter is on.
    assert "✅ 没有联系" in reminder["text"] and "问题是否解决" in reminder["text"]
    labels = [label for row in reminder["buttons"] for label, _data in row]
    assert labels == ["已解决", "部分解决", "未解决"]
    assert (await sweep_at(services, "2026-11-12 10:00:00")).get("autoclose") == 1
    late = await rating.answer(
        services, RESIDENT, tid, 2, "s", "resolved", chat_id=RESIDENT.id, message_id=10
    )
    assert late.alert and late.text == texts.ALERT_RATING_ENDED
    async with services.sessions() as s:
        rows = (await s.execute(select(Followup).order_by(Followup.round))).scalars().all()
        scores = (
            await s.execute(select(TicketRating.round, TicketRating.score).order_by("round"))
        ).all()
    assert [(f.round, f.contacted, f.solved, f.satisfaction) for f in rows] == [
        (1, True, "partial", "dissatisfied"),
        (2, False, None, None),
    ]
    assert rows[0].completed_at is not None and rows[1].completed_at is None
    assert [tuple(r) for r in scores] == [(1, "dissatisfied"), (2, "unrated")]
