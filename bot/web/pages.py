"""The console's pages: overview, ranking, a department, tickets, a ticket, 不满意专区, export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from bot import texts
from bot.periods import KINDS, Period, beijing_day, current, custom
from bot.services.context import Services
from bot.services.statistics import access, export, figures, listing, report, rollup_figures
from bot.services.statistics.access import Scope
from bot.services.statistics.figures import Row
from bot.web.auth import SCOPE
from storage.models import BoundChat

SERVICES = web.AppKey("console_services", Services)
TREND_POINTS = 8
BY_NAMES = {"department": "部门", "level": "层级", "grid": "网格", "category": "类别"}
KIND_NAMES = {"week": "本周", "month": "本月", "cycle": "考核周期", "custom": "自定义"}
TICKET_HEADER = [
    "工单编号", "状态", "分类", "承办单位", "网格", "登记时间", "办结时限", "超期", "重办", "评价",
]  # fmt: skip
BAND_NAMES = report.BAND_NAMES


@dataclass(frozen=True)
class View:
    """What every page needs: the services, who is looking, the period, and now."""

    services: Services
    scope: Scope
    period: Period
    now: datetime
    notice: str


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def view_of(request: web.Request) -> View:
    """Read the period from the query string (a clear notice and this week when it is bad)."""
    services = request.app[SERVICES]
    now = services.clock()
    today = beijing_day(now)
    q = request.query
    kind = q.get("period", "week")
    notice = ""
    at = _day(q.get("at", "")) or today
    if kind not in KINDS:
        kind, notice = "week", f"无法识别的统计周期「{kind}」，已显示本周。"
    if kind == "custom":
        first, last = _day(q.get("from", "")), _day(q.get("to", ""))
        if first is None or last is None or last < first or (last - first).days > 366:
            period = current("week", today)
            notice = "自定义周期需要起止日期（YYYY-MM-DD，结束不早于开始，最长一年），已显示本周。"
        else:
            period = custom(first, last)
    else:
        period = current(kind, at, services.indicators.cycle_start_day)
    return View(services, request[SCOPE], period, now, notice)


def _query(period: Period, **extra: str) -> str:
    """A query string that keeps the period (and extra filters)."""
    params = {"period": period.kind}
    if period.kind == "custom":
        params.update({"from": period.start.isoformat(), "to": period.last_day.isoformat()})
    else:
        params["at"] = period.start.isoformat()
    params.update({k: v for k, v in extra.items() if v})
    return "&".join(f"{k}={v}" for k, v in params.items())


def _common(view: View, **more: Any) -> dict[str, Any]:
    services = view.services
    return {
        "period": view.period,
        "period_name": KIND_NAMES[view.period.kind],
        "kinds": KIND_NAMES,
        "notice": view.notice,
        "everything": view.scope.everything,
        "query": _query(view.period),
        "pct": report.pct,
        "num": report.num,
        "band_names": BAND_NAMES,
        "rates": services.indicators.rates,
        "score_name": services.indicators.score_name,
        **more,
    }


def _scope(view: View, departments: frozenset[str] | None = None) -> frozenset[str] | None:
    limit = view.scope.limit()
    if departments is not None:
        limit = departments if limit is None else departments & limit
    return limit


async def _total(view: View, departments: frozenset[str] | None = None) -> figures.Figures:
    """The period's figures over every ticket in scope (from the rollups)."""
    (total,) = await rollup_figures.figures_for(
        view.services, [view.period], None, view.now, departments=_scope(view, departments)
    )
    return total[""]


async def _trend(view: View, departments: frozenset[str] | None = None) -> dict[str, Any]:
    """The score and the three rates over the last few periods, for the chart."""
    services = view.services
    periods = [view.period]
    for _ in range(TREND_POINTS - 1):
        periods.append(periods[-1].previous(services.indicators.cycle_start_day))
    periods.reverse()
    series: dict[str, list[float | None]] = {"score": []}
    for rate in services.indicators.rates:
        series[rate.key] = []
    points = await rollup_figures.figures_for(
        services, periods, None, view.now, departments=_scope(view, departments),
        followups_only=True,
    )  # fmt: skip
    for point in points:
        f = point[""]
        series["score"].append(f.score)
        for rate in services.indicators.rates:
            value = f.rates[rate.key]
            series[rate.key].append(None if value is None else round(value * 100, 2))
    names = {"score": services.indicators.score_name}
    names.update({r.key: r.name for r in services.indicators.rates})
    return {
        "labels": [p.start.strftime("%m-%d") for p in periods],
        "series": [{"key": k, "name": names[k], "data": v} for k, v in series.items()],
    }


async def overview(request: web.Request) -> web.Response:
    """The three rates and 综合成绩 for the period, the process indicators and the trend."""
    view = view_of(request)
    total = await _total(view)
    trend = await _trend(view)
    return aiohttp_jinja2.render_template(
        "overview.html",
        request,
        _common(view, figures=total, trend=json.dumps(trend, ensure_ascii=False)),
    )


async def _ranking_rows(view: View, by: str) -> list[Row]:
    services = view.services
    (groups,) = await rollup_figures.figures_for(
        services, [view.period], by, view.now, departments=_scope(view)
    )

    def name(key: str) -> str:
        if by == "department":
            return services.directory.name(key) if key else texts.DISPATCH_NAME
        return key or "（无）"

    return figures.ranking(groups, services.indicators, name)


def _by(request: web.Request) -> str:
    by = request.query.get("by", "department")
    return by if by in figures.GROUPINGS else "department"


async def ranking(request: web.Request) -> web.Response:
    """Groups ranked by 综合成绩 with their bands."""
    view = view_of(request)
    by = _by(request)
    rows = await _ranking_rows(view, by)
    return aiohttp_jinja2.render_template(
        "ranking.html",
        request,
        _common(view, rows=rows, by=by, by_names=BY_NAMES, by_query=_query(view.period, by=by)),
    )


async def department(request: web.Request) -> web.Response:
    """One department's figures and trend (its own tickets only)."""
    view = view_of(request)
    services = view.services
    code = request.match_info["code"]
    known = code == "-" or services.directory.get(code) is not None
    if not known or not view.scope.sees("" if code == "-" else code):
        raise _not_found(request, "未找到该部门，或您无权查看。")
    only = frozenset({"" if code == "-" else code})
    total = await _total(view, only)
    name = texts.DISPATCH_NAME if code == "-" else services.directory.name(code)
    return aiohttp_jinja2.render_template(
        "department.html",
        request,
        _common(
            view,
            figures=total,
            name=name,
            code=code,
            trend=json.dumps(await _trend(view, only), ensure_ascii=False),
            tickets_query=_query(view.period, department=code),
        ),
    )


def _filter(request: web.Request, view: View) -> listing.TicketFilter:
    q = request.query
    status = q.get("status", "")
    return listing.TicketFilter(
        period=view.period,
        status=status if status in texts.STATUS_NAMES else "",
        overdue=q.get("overdue") == "1",
        reopened=q.get("reopened") == "1",
        category=q.get("category", "").strip()[:64],
        grid=q.get("grid", "").strip()[:64],
        department=q.get("department", "").strip()[:48],
    )


def _filter_query(filt: listing.TicketFilter) -> str:
    return _query(
        filt.period,
        status=filt.status,
        overdue="1" if filt.overdue else "",
        reopened="1" if filt.reopened else "",
        category=filt.category,
        grid=filt.grid,
        department=filt.department,
    )


async def _choices(view: View) -> dict[str, Any]:
    services = view.services
    async with services.sessions() as session:
        grids = sorted(
            (
                await session.execute(select(BoundChat.name).where(BoundChat.kind == "grid"))
            ).scalars()
        )
    departments = [
        (d.code, d.name)
        for d in services.directory.departments.values()
        if view.scope.sees(d.code)
    ]
    if view.scope.sees(""):
        departments.insert(0, ("-", texts.DISPATCH_NAME))
    return {
        "statuses": texts.STATUS_NAMES,
        "grids": grids,
        "departments": departments,
    }


async def tickets(request: web.Request) -> web.Response:
    """Tickets filed in the period, filtered, 50 a page."""
    view = view_of(request)
    filt = _filter(request, view)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    async with view.services.sessions() as session:
        rows, total = await listing.list_tickets(
            session, view.scope, filt, view.services.directory, view.now, page=page
        )
    pages = max(1, (total + listing.PAGE - 1) // listing.PAGE)
    return aiohttp_jinja2.render_template(
        "tickets.html",
        request,
        _common(
            view,
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            filt=filt,
            filter_query=_filter_query(filt),
            **await _choices(view),
        ),
    )


async def ticket(request: web.Request) -> web.Response:
    """One ticket: masked details, timeline, 回访 rounds and evidence (the view is audited)."""
    view = view_of(request)
    services = view.services
    number = request.match_info["number"]
    async with services.sessions.begin() as session:
        found = await listing.find_visible(session, view.scope, number)
        if found is None:
            raise _not_found(request, f"未找到工单 {number}，或该工单不在您的查看范围内。")
        shown = await listing.detail(session, found, services.directory)
        await access.record_view(session, view.scope.user_id, found.id, view.now)
    return aiohttp_jinja2.render_template("ticket.html", request, _common(view, t=shown))


async def dissatisfied(request: web.Request) -> web.Response:
    """不满意专区: every 不满意 verdict in the period, with its reason and where it stands."""
    view = view_of(request)
    async with view.services.sessions() as session:
        rows = await listing.dissatisfied(
            session, view.scope, view.period, view.services.directory
        )
    return aiohttp_jinja2.render_template("dissatisfied.html", request, _common(view, rows=rows))


async def export_list(request: web.Request) -> web.Response:
    """A ranking or a ticket list as CSV or XLSX, the period and filters in the file name."""
    view = view_of(request)
    what, fmt = request.match_info["what"], request.match_info["fmt"]
    if what == "ranking":
        by = _by(request)
        header = report.rank_header(view.services)
        cells = [report.rank_cells(r) for r in await _ranking_rows(view, by)]
        title = f"排名-{BY_NAMES[by]}"
        name = export.safe_name("排名", BY_NAMES[by], view.period.label())
    else:
        filt = _filter(request, view)
        async with view.services.sessions() as session:
            rows, _ = await listing.list_tickets(
                session, view.scope, filt, view.services.directory, view.now, limit=None
            )
        header = TICKET_HEADER
        cells = [
            [
                r.number, r.status, r.category, r.department, r.grid, r.filed, r.deadline,
                "是" if r.overdue else "", "是" if r.reopened else "", r.verdict,
            ]
            for r in rows
        ]  # fmt: skip
        title = "工单"
        name = export.safe_name("工单", view.period.label(), *filt.parts())
    if fmt == "csv":
        body, content_type = export.to_csv(header, cells), export.CSV_TYPE
    else:
        body, content_type = export.to_xlsx(title, header, cells), export.XLSX_TYPE
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": export.disposition(f"{name}.{fmt}"),
        },
    )


def _not_found(request: web.Request, message: str) -> web.HTTPException:
    page = aiohttp_jinja2.render_string(
        "message.html", request, {"title": "无法查看", "message": message}
    )
    return web.HTTPNotFound(text=page, content_type="text/html")
