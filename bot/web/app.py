"""The console as an aiohttp application: its own (`huiyin web`) or added to the webhook server."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.services.context import Services
from bot.services.statistics import access
from bot.web import pages
from bot.web.auth import COOKIE, session_middleware, sign, unsign

HERE = Path(__file__).parent
STATIC = HERE / "static"


def _message(request: web.Request, status: int, title: str, message: str) -> web.Response:
    page = aiohttp_jinja2.render_string(
        "message.html", request, {"title": title, "message": message}
    )
    return web.Response(status=status, text=page, content_type="text/html")


def _unauthorised(request: web.Request) -> web.Response:
    return _message(
        request,
        401,
        "请先登录",
        "请在工作人员群内发送 /console，机器人会私信您一次性登录链接（10 分钟内有效）。",
    )


def add_console(
    app: web.Application, services: Services, *, secret: bytes, secure_cookies: bool
) -> None:
    """Add the console's pages to an aiohttp application (before it starts)."""
    app[pages.SERVICES] = services
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.globals["charts"] = (STATIC / "echarts.min.js").exists()
    app.middlewares.append(session_middleware(services, secret, _unauthorised))

    async def login(request: web.Request) -> web.StreamResponse:
        session_id = await access.redeem_link(services, request.match_info["token"])
        if session_id is None:
            return _message(
                request,
                403,
                "链接无效",
                "该登录链接已使用、已过期或无效。请在工作人员群内重新发送 /console 获取新链接。",
            )
        response = web.HTTPFound("/")
        response.set_cookie(
            COOKIE,
            sign(secret, session_id),
            max_age=int(access.SESSION_TTL.total_seconds()),
            httponly=True,
            secure=secure_cookies,
            samesite="Lax",
            path="/",
        )
        raise response

    async def logout(request: web.Request) -> web.StreamResponse:
        session_id = unsign(secret, request.cookies.get(COOKIE, ""))
        if session_id:
            await access.end_session(services, session_id)
        response = _message(request, 200, "已退出", "您已退出控制台。")
        response.del_cookie(COOKIE, path="/")
        return response

    app.router.add_get("/login/{token}", login)
    app.router.add_get("/logout", logout)
    app.router.add_get("/", pages.overview)
    app.router.add_get("/ranking", pages.ranking)
    app.router.add_get("/departments/{code}", pages.department)
    app.router.add_get("/tickets", pages.tickets)
    app.router.add_get("/tickets/{number}", pages.ticket)
    app.router.add_get("/dissatisfied", pages.dissatisfied)
    app.router.add_get(r"/export/{what:ranking|tickets}.{fmt:csv|xlsx}", pages.export_list)
    app.router.add_static("/static/", STATIC)


def console_app(services: Services, *, secret: bytes, secure_cookies: bool) -> web.Application:
    """A stand-alone console application (`huiyin web`)."""
    app = web.Application()
    add_console(app, services, secret=secret, secure_cookies=secure_cookies)
    return app
