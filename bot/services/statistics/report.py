"""The weekly report (Mondays 09:00 Beijing) and /stats: the figures told in the chats.

`weekly` is called by the sweeper (one instance at a time, under its lease). It reports the last
full week once: the dispatch chat gets the summary (the three rates, 综合成绩, the three best and
worst departments, overdue counts, change on the week before) and the ranking as an Excel file;
each department's chat gets its own lines. Outbox keys carry the week, so running it again in
the same week sends nothing twice; a week in which nothing was filed or followed up is not
reported (a new deployment does not open with an empty report).
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, time

from bot import texts
from bot.intents import Document, Notice
from bot.periods import BEIJING, Period, beijing_day, cycle_of, week_of
from bot.services.context import Person, Services
from bot.services.handling import routing
from bot.services.notices.messages import reply
from bot.services.statistics import export, figures, rollup_figures
from bot.services.statistics.figures import Figures, Row
from storage.chats import Place
from storage.outbox import enqueue

log = logging.getLogger("huiyin.report")

REPORT_HOUR = 9  # Monday, Beijing time
RANK_HEADER = [
    "排名", "名称", "综合成绩", "评级", "{rates}", "有效回访", "登记件数", "按时签收率",
    "按时办结率", "超期件数", "发回重办率", "重复诉求率", "平均办理时长（工作日）", "未评价率",
]  # fmt: skip
BAND_NAMES = {"green": "绿", "yellow": "黄", "red": "红", "": "—"}


def pct(value: float | None) -> str:
    """A ratio as a percentage with two decimals ("—" when there is none)."""
    return "—" if value is None else f"{value * 100:.2f}%"


def num(value: float | None) -> str:
    """A number with two decimals ("—" when there is none)."""
    return "—" if value is None else f"{value:.2f}"


def rank_header(services: Services) -> list[str]:
    """The Chinese header row of a ranking export."""
    at = RANK_HEADER.index("{rates}")
    names = [r.name for r in services.indicators.rates]
    return RANK_HEADER[:at] + names + RANK_HEADER[at + 1 :]


def rank_cells(row: Row) -> list[export.Cell]:
    """One ranking row as spreadsheet cells, in the header's order."""
    f: Figures = row.figures
    return [
        row.rank,
        row.name,
        f.score,
        BAND_NAMES[f.band],
        *[pct(v) for v in f.rates.values()],
        f.followups,
        f.tickets,
        pct(f.on_time_accept),
        pct(f.on_time_resolve),
        f.overdue,
        pct(f.reopen_rate),
        pct(f.repeat_rate),
        f.avg_days,
        pct(f.unrated_rate),
    ]


def department_name(services: Services, code: str) -> str:
    """A department's name ("" is the dispatch chat, 总平台)."""
    return services.directory.name(code) if code else texts.DISPATCH_NAME


async def department_ranking(
    services: Services,
    period: Period,
    now: datetime,
    departments: frozenset[str] | None = None,
) -> tuple[Figures, list[Row]]:
    """The overall figures and the department ranking for a period (from the rollups)."""
    (overall,) = await rollup_figures.figures_for(
        services, [period], None, now, departments=departments
    )
    (groups,) = await rollup_figures.figures_for(
        services, [period], "department", now, departments=departments
    )
    rows = figures.ranking(
        groups, services.indicators, lambda code: department_name(services, code)
    )
    return overall[""], rows


def report_week(now: datetime) -> Period | None:
    """The week whose report is due at `now`: the last full week, from Monday 09:00 on."""
    this_week = week_of(beijing_day(now))
    opens = datetime.combine(this_week.start, time(REPORT_HOUR), tzinfo=BEIJING)
    return this_week.previous() if now >= opens else None


def _change(now: float | None, before: float | None, scale: float = 1.0) -> str:
    if now is None or before is None:
        return texts.REPORT_NO_CHANGE
    delta = (now - before) * scale
    return texts.REPORT_CHANGE.format(delta=f"{delta:+.2f}")


def _rates_line(services: Services, f: Figures, before: Figures | None) -> str:
    parts = []
    for rate in services.indicators.rates:
        value = f.rates[rate.key]
        prior = None if before is None else before.rates[rate.key]
        parts.append(f"{rate.name} {pct(value)}{_change(value, prior, 100)}")
    return "｜".join(parts)


def summary_text(
    services: Services,
    week: Period,
    overall: Figures,
    before: Figures,
    rows: list[Row],
) -> str:
    """The dispatch chat's weekly summary."""
    ranked = [r for r in rows if r.rank is not None]
    best = "；".join(f"{r.rank}. {r.name} {num(r.figures.score)}" for r in ranked[:3])
    worst = "；".join(f"{r.rank}. {r.name} {num(r.figures.score)}" for r in ranked[::-1][:3])
    return texts.REPORT_SUMMARY.format(
        first=week.start.isoformat(),
        last=week.last_day.isoformat(),
        score_name=services.indicators.score_name,
        score=num(overall.score),
        score_change=_change(overall.score, before.score),
        rates=_rates_line(services, overall, before),
        tickets=overall.tickets,
        followups=overall.followups,
        overdue=overall.overdue,
        overdue_before=before.overdue,
        best=best or texts.REPORT_NONE,
        worst=worst or texts.REPORT_NONE,
    )


def department_text(
    services: Services,
    week: Period,
    name: str,
    row: Row | None,
    ranked: int,
    before: Row | None,
) -> str:
    """A department chat's own weekly lines."""
    if row is None or (row.figures.tickets == 0 and row.figures.followups == 0):
        return texts.REPORT_DEPT_EMPTY.format(
            name=name, first=week.start.isoformat(), last=week.last_day.isoformat()
        )
    f = row.figures
    place = (
        texts.REPORT_PLACE.format(rank=row.rank, of=ranked) if row.rank else texts.REPORT_UNRANKED
    )
    return texts.REPORT_DEPT.format(
        name=name,
        first=week.start.isoformat(),
        last=week.last_day.isoformat(),
        score_name=services.indicators.score_name,
        score=num(f.score),
        place=place,
        score_change=_change(f.score, None if before is None else before.figures.score),
        rates=_rates_line(services, f, None if before is None else before.figures),
        tickets=f.tickets,
        followups=f.followups,
        overdue=f.overdue,
        on_time=pct(f.on_time_resolve),
    )


async def weekly(services: Services, *, force: bool = False) -> int:
    """Send last week's report if it is due and not yet sent; return how many chats it went to."""
    now = services.clock()
    week = report_week(now)
    if week is None:
        return 0
    key = f"weekly:{week.start.isoformat()}"
    if not force and not await services.coordinator.first_seen(key, 8 * 24 * 3600):
        return 0  # this instance already built it this week (outbox keys guard the rest)
    told = 0
    overall, rows = await department_ranking(services, week, now)
    if overall.tickets == 0 and overall.counts["concluded"] == 0:
        return 0  # a week with nothing filed or followed up: nothing to report
    prior, prior_rows = await department_ranking(services, week.previous(), now)
    async with services.sessions.begin() as session:
        by_code = {r.key: r for r in rows}
        before = {r.key: r for r in prior_rows}
        ranked = sum(1 for r in rows if r.rank is not None)
        workbook = export.to_xlsx("部门排名", rank_header(services), [rank_cells(r) for r in rows])
        filename = export.safe_name("回音周报", "部门排名", week.label()) + ".xlsx"
        for chat_id in await routing.dispatch_chat_ids(session):
            await enqueue(
                session,
                key=f"{key}:summary:{chat_id}",
                chat_id=chat_id,
                intent=Notice(summary_text(services, week, overall, prior, rows)),
            )
            await enqueue(
                session,
                key=f"{key}:xlsx:{chat_id}",
                chat_id=chat_id,
                intent=Document(
                    filename,
                    base64.b64encode(workbook).decode(),
                    texts.REPORT_ATTACHMENT.format(first=week.start, last=week.last_day),
                ),
            )
            told += 1
        for code, chats in (await routing.staff_chats(session)).items():
            if not code:
                continue
            text = department_text(
                services,
                week,
                department_name(services, code),
                by_code.get(code),
                ranked,
                before.get(code),
            )
            for chat_id in chats:
                await enqueue(
                    session, key=f"{key}:dept:{chat_id}", chat_id=chat_id, intent=Notice(text)
                )
                told += 1
    services.wake()
    log.info("weekly report for %s sent to %d chats", week.label(), told)
    return told


async def answer_stats(
    services: Services, person: Person, chat_id: int | Place, message_id: int
) -> None:
    """Answer /stats in a staff chat: its department's figures for the current cycle so far."""
    now = services.clock()
    async with services.sessions() as session:
        department = await routing.chat_department(session, chat_id)
        member_of = await routing.memberships(session, person.id)
    async with services.sessions.begin() as session:
        if department is None:
            text = texts.NOT_A_STAFF_CHAT
        elif department not in member_of and routing.DISPATCH not in member_of:
            text = texts.ALERT_NOT_STAFF
        else:
            period = cycle_of(beijing_day(now), services.indicators.cycle_start_day)
            only = None if department == routing.DISPATCH else frozenset({department})
            overall, _ = await department_ranking(services, period, now, only)
            text = texts.STATS.format(
                name=department_name(services, department),
                first=period.start.isoformat(),
                last=min(period.last_day, beijing_day(now)).isoformat(),
                score_name=services.indicators.score_name,
                score=num(overall.score),
                band=BAND_NAMES[overall.band],
                rates="｜".join(
                    f"{r.name} {pct(overall.rates[r.key])}" for r in services.indicators.rates
                ),
                tickets=overall.tickets,
                followups=overall.followups,
                overdue=overall.overdue,
                on_time=pct(overall.on_time_resolve),
                unrated=pct(overall.unrated_rate),
            )
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
