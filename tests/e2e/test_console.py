"""The web console end to end: /console in a staff chat, the link, the pages, scope, exports."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import select, update

from bot.simulator.scene import tap_through
from bot.web import app as web_app
from bot.web.app import add_console
from nlp import Extractor
from storage.models import ConsoleLink, ConsoleView, DepartmentMember
from tests.e2e.helpers import report
from tests.harness import (
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    LocalStack,
    buttons,
    expect,
    mark,
)

CG_CHAT, CG_ID = -1002000000001, 1101  # 区城管委
RS_CHAT, RS_ID = -1002000000002, 1102  # 区人社局
NEIGHBOUR = 2002
GARBAGE = "小区门口垃圾堆了好几天没人清理，臭气熏天，联系电话13912345678"
WAGES = "公司拖欠我三个月工资不给，老板跑了"


@dataclass
class Console:
    """The bot, its console on a test server, and two tickets in two departments."""

    stack: LocalStack
    server: TestServer
    garbage: str
    wages: str

    def client(self) -> ClientSession:
        """A browser of its own (its own cookies)."""
        return ClientSession(
            base_url=str(self.server.make_url("/")), cookie_jar=CookieJar(unsafe=True)
        )


@pytest.fixture
async def console(sqlite_url: str, extractor: Extractor) -> AsyncIterator[Console]:
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, lease_seconds=2.0
    ) as s:
        await s.setup_staff()
        await s.setup_staff(CG_ID, CG_CHAT, "城管小赵", department="区城管委")
        await s.setup_staff(RS_ID, RS_CHAT, "人社小钱", department="区人力资源和社会保障局")
        s.sim.add_user(RESIDENT_ID, "张阿姨")
        s.sim.add_user(NEIGHBOUR, "李大爷")
        garbage = await report(s, RESIDENT_ID, GARBAGE)
        wages = await report(s, NEIGHBOUR, WAGES)
        assert s.runtime is not None
        app = web.Application()
        add_console(app, s.runtime.services, secret=b"k" * 32, secure_cookies=False)
        server = TestServer(app)
        await server.start_server()
        try:
            yield Console(s, server, garbage, wages)
        finally:
            await server.close()


async def link_for(stack: LocalStack, user_id: int, chat_id: int) -> str:
    """Send /console in a staff chat as `user_id`; return the path of the link sent privately."""
    sim = stack.sim
    sim.send_text(user_id, "/start")
    await expect(sim, user_id, lambda m: "件件有回音" in m.get("text", ""))
    since = mark(sim, user_id)
    sim.send_text(user_id, "/console", chat_id=chat_id)
    await expect(sim, chat_id, lambda m: "已私信发送控制台登录链接" in m.get("text", ""))
    sent = await expect(sim, user_id, lambda m: "/login/" in m.get("text", ""), after=since)
    assert "10 分钟内有效" in sent["text"]
    return "/login/" + sent["text"].split("/login/", 1)[1].split()[0]


async def test_department_staff_sign_in_and_see_their_own(console: Console) -> None:
    stack = console.stack
    path = await link_for(stack, CG_ID, CG_CHAT)
    async with console.client() as browser:
        assert (await browser.get("/")).status == 401
        signed_in = await browser.get(path, allow_redirects=False)
        assert signed_in.status == 302 and signed_in.headers["Location"] == "/"
        home = await browser.get("/")
        page = await home.text()
        assert home.status == 200
        for word in ("综合成绩", "响应率", "解决率", "满意率", "按时签收率", "trend-data"):
            assert word in page, word
        listed = await (await browser.get("/tickets")).text()
        assert console.garbage in listed and console.wages not in listed
        filtered = await (await browser.get("/tickets?status=closed")).text()
        assert console.garbage not in filtered and "没有符合条件的工单" in filtered
        # Another department's ticket, by URL: refused, and nothing is audited.
        other = await browser.get(f"/tickets/{console.wages}")
        assert other.status == 404 and "不在您的查看范围" in await other.text()
        own = await browser.get(f"/tickets/{console.garbage}")
        detail = await own.text()
        assert own.status == 200 and "139****5678" in detail and "13912345678" not in detail
        exported = await browser.get("/export/tickets.csv?status=new")
        assert exported.status == 200
        assert "filename*=UTF-8''%E5%B7%A5%E5%8D%95_" in exported.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
        assert rows[0][:3] == ["工单编号", "状态", "分类"]
        assert [r[0] for r in rows[1:]] == [console.garbage]
        book = await browser.get("/export/ranking.xlsx?by=department")
        sheet = load_workbook(io.BytesIO(await book.read())).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        assert header[:4] == ["排名", "名称", "综合成绩", "评级"]
        assert [sheet.cell(row=2, column=2).value] == ["区城市管理委员会"]
    # The same link a second time: refused.
    async with console.client() as again:
        reused = await again.get(path, allow_redirects=False)
        assert reused.status == 403 and "已使用" in await reused.text()
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        views = (await s.execute(select(ConsoleView.user_id, ConsoleView.ticket_id))).all()
    assert [v[0] for v in views] == [CG_ID]


async def test_dispatch_sees_everything_and_a_removed_member_loses_access(
    console: Console,
) -> None:
    stack = console.stack
    dispatcher, department = console.client(), console.client()
    async with dispatcher, department:
        await dispatcher.get(await link_for(stack, STAFF_ID, STAFF_CHAT_ID))
        listed = await (await dispatcher.get("/tickets")).text()
        assert console.garbage in listed and console.wages in listed
        ranking = await (await dispatcher.get("/ranking?by=department")).text()
        assert "区城市管理委员会" in ranking and "区人力资源和社会保障局" in ranking

        await department.get(await link_for(stack, RS_ID, RS_CHAT))
        assert (await department.get(f"/tickets/{console.wages}")).status == 200
        assert stack.runtime is not None
        async with stack.runtime.services.sessions.begin() as s:
            member = await s.get(DepartmentMember, (RS_ID, "district_rs"))
            assert member is not None
            await s.delete(member)
        gone = await department.get(f"/tickets/{console.wages}")
        assert gone.status == 401


async def test_bad_cookies_and_non_staff(console: Console) -> None:
    stack = console.stack
    async with console.client() as browser:
        browser.cookie_jar.update_cookies({"huiyin_console": "forged.0000"})
        assert (await browser.get("/ranking")).status == 401
        bogus = await browser.get("/login/not-a-real-token", allow_redirects=False)
        assert bogus.status == 403
    # A resident in a staff chat gets no link.
    stack.sim.send_text(RESIDENT_ID, "/console", chat_id=STAFF_CHAT_ID)
    await expect(
        stack.sim, STAFF_CHAT_ID, lambda m: "只有登记的工作人员可以登录控制台" in m.get("text", "")
    )


# In a real browser: Debian's chromium driven by Playwright (never Playwright's own download).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("HUIYIN_SCREENSHOTS")  # a folder: save the main pages there
HAVE_CHROMIUM = CHROMIUM.exists()
HAVE_ECHARTS = (Path(str(web_app.__file__)).parent / "static" / "echarts.min.js").exists()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: apt-get install -y chromium (.ci/run does)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    if not HAVE_ECHARTS:
        pytest.fail("ECharts is not vendored: run bot/web/vendor_echarts.sh (./dev does)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"), full_page=True)


async def _rated(stack: LocalStack, number: str) -> None:
    """区城管委 accepts and resolves the garbage ticket; the resident answers the 回访."""
    sim = stack.sim
    card = await expect(sim, CG_CHAT, lambda m: f"【工单 {number}】" in m.get("text", ""))
    sim.press_button(CG_ID, CG_CHAT, card["message_id"], buttons(card)["受理"])
    card = await expect(
        sim, CG_CHAT, lambda m: f"【工单 {number}】" in m.get("text", "") and "办结" in buttons(m)
    )
    since = mark(sim, CG_CHAT)
    sim.press_button(CG_ID, CG_CHAT, card["message_id"], buttons(card)["办结"])
    prompt = await expect(sim, CG_CHAT, lambda m: "办理结果" in m.get("text", ""), after=since)
    sim.send_text(CG_ID, "垃圾已清运", chat_id=CG_CHAT, reply_to_message_id=prompt["message_id"])
    notice = await expect(sim, RESIDENT_ID, lambda m: "垃圾已清运" in m.get("text", ""))
    await tap_through(sim, RESIDENT_ID, notice, "联系过", "部分解决", "基本满意")
    await expect(sim, RESIDENT_ID, lambda m: "感谢您的评价" in m.get("text", ""))


async def test_in_a_browser_sign_in_charts_filter_ticket_export(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    stack = console.stack
    await _rated(stack, console.garbage)
    base = str(console.server.make_url("")).rstrip("/")
    path = await link_for(stack, CG_ID, CG_CHAT)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, accept_downloads=True, locale="zh-CN"
    )
    page = await context.new_page()
    await page.goto(base + path)
    assert page.url == base + "/"
    await page.wait_for_selector("#trend-chart[data-rendered='1'] canvas")
    # One valid 回访 (联系过, 部分解决, 基本满意): 10 × 1 + 50 × 0.5 + 40 × 0.9 = 71.
    assert "71.00" in await page.inner_text("#score")
    assert await page.inner_text("#rate-response .value") == "100.00%"
    assert await page.inner_text("#rate-resolution .value") == "50.00%"
    assert await page.inner_text("#rate-satisfaction .value") == "90.00%"
    await _shot(page, "overview")

    await page.click("text=排名")
    await page.wait_for_selector("#ranking")
    assert "区城市管理委员会" in await page.inner_text("#ranking")
    await _shot(page, "ranking")

    await page.click("header >> text=工单")
    await page.wait_for_selector("#tickets")
    await page.select_option("select[name=status]", "closed")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#tickets")
    assert "status=closed" in page.url
    assert console.garbage in await page.inner_text("#tickets")
    await _shot(page, "tickets")
    async with page.expect_download() as caught:
        await page.click("text=Excel")
    download = await caught.value
    assert download.suggested_filename.startswith("工单_")
    assert download.suggested_filename.endswith("_已办结.xlsx")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    sheet = load_workbook(saved).active
    assert sheet is not None and sheet.cell(row=2, column=1).value == console.garbage

    await page.click(f"text={console.garbage}")
    await page.wait_for_selector("#timeline")
    timeline = await page.inner_text("#timeline")
    assert "受理" in timeline and "办结" in timeline
    assert "部分解决" in await page.inner_text("#followups")
    assert "139****5678" in await page.inner_text("#ticket")
    await _shot(page, "ticket")

    refused = await page.goto(f"{base}/tickets/{console.wages}")
    assert refused is not None and refused.status == 404
    assert "不在您的查看范围" in await page.inner_text("main")

    again = await (await browser.new_context()).new_page()
    reused = await again.goto(base + path)
    assert reused is not None and reused.status == 403
    assert "已使用" in await again.inner_text("main")
    await context.close()


async def test_in_a_browser_an_expired_link_is_refused(console: Console, browser: Browser) -> None:
    stack = console.stack
    path = await link_for(stack, RS_ID, RS_CHAT)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions.begin() as s:
        await s.execute(update(ConsoleLink).values(expires_at=datetime.now(UTC)))
    page = await (await browser.new_context()).new_page()
    answer = await page.goto(str(console.server.make_url(path)))
    assert answer is not None and answer.status == 403
    assert "已过期" in await page.inner_text("main")
    home = await page.goto(str(console.server.make_url("/")))
    assert home is not None and home.status == 401


async def test_stats_in_a_staff_chat(console: Console) -> None:
    stack = console.stack
    await _rated(stack, console.garbage)
    sim = stack.sim
    sim.send_text(CG_ID, "/stats", chat_id=CG_CHAT)
    answer = await expect(sim, CG_CHAT, lambda m: "本考核周期" in m.get("text", ""))
    lines = answer["text"].splitlines()
    assert lines[0].startswith("【区城市管理委员会】本考核周期")
    # One valid 回访 (联系过, 部分解决, 基本满意): 10 + 25 + 36.
    assert lines[1] == "综合成绩 71.00（红）"
    assert lines[2] == "响应率 100.00%｜解决率 50.00%｜满意率 90.00%"
    since = mark(sim, CG_CHAT)
    sim.send_text(RESIDENT_ID, "/stats", chat_id=CG_CHAT)
    await expect(sim, CG_CHAT, lambda m: "只有登记的工作人员" in m.get("text", ""), after=since)
