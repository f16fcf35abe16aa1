"""`huiyin staff|worker list|remove`, `huiyin admin add|remove|list`, `huiyin block …`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings

Action = Callable[[AsyncSession, argparse.Namespace, Settings], Awaitable[int]]


def _print_people(people: list[Any], empty: str) -> int:
    if not people:
        print(empty)
    for p in people:
        where = f"  {'、'.join(p.where)}" if p.where else ""
        print(f"{p.user_id}\t{p.name or '-'}{where}")
    return 0


async def _staff_list(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.departments import Directory
    from bot.services.administration import people

    directory = Directory.load(s.departments_file)
    staff = await people.list_staff(session)
    named = [
        people.Someone(p.user_id, p.name, tuple(directory.name(d) for d in p.where))
        for p in staff
    ]
    return _print_people(named, "（没有登记的工作人员）")


async def _staff_remove(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.departments import Directory
    from bot.services.administration import people

    department = None
    if args.department:
        found = Directory.load(s.departments_file).find(args.department)
        if found is None:
            print(f"未找到部门「{args.department}」", file=sys.stderr)
            return 2
        department = found.code
    if not await people.remove_staff(session, args.user_id, department):
        print(f"{args.user_id} 不是登记的工作人员。", file=sys.stderr)
        return 1
    print(f"已移除工作人员 {args.user_id}。")
    return 0


async def _worker_list(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    return _print_people(await people.list_workers(session, args.grid), "（没有登记的网格员）")


async def _worker_remove(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    if not await people.remove_worker(session, args.grid, args.user_id):
        print(f"{args.user_id} 不是登记的网格员。", file=sys.stderr)
        return 1
    print(f"已移除网格员 {args.user_id}。")
    return 0


async def _admin_list(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    await people.seed_admins(session, s.admin_ids)
    return _print_people(await people.list_admins(session), "（没有管理员）")


async def _admin_add(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    added = await people.add_admin(session, args.user_id, None)
    print(f"已将 {args.user_id} 设为管理员。" if added else f"{args.user_id} 已经是管理员。")
    return 0


async def _admin_remove(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    if not await people.remove_admin(session, args.user_id):
        print(f"{args.user_id} 不是管理员。", file=sys.stderr)
        return 1
    print(f"已取消 {args.user_id} 的管理员身份（运行中的机器人 30 秒内生效）。")
    if args.user_id in s.admin_ids:
        print(
            f"注意：{args.user_id} 仍在 HUIYIN_ADMIN_IDS 中，下次启动会重新成为管理员；"
            "请同时从该设置中删除。",
            file=sys.stderr,
        )
    return 0


async def _block_list(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    return _print_people(await people.list_blocked(session), "（没有被禁止的人）")


async def _block_remove(session: AsyncSession, args: argparse.Namespace, s: Settings) -> int:
    from bot.services.administration import people

    if not await people.unblock(session, args.user_id):
        print(f"{args.user_id} 没有被禁止。", file=sys.stderr)
        return 1
    print(f"已恢复 {args.user_id} 提交工单。")
    return 0


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    staff: argparse._SubParsersAction[argparse.ArgumentParser],
    worker: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the list/remove commands to `huiyin staff` and `huiyin worker`, and `admin`/`block`."""
    staff.add_parser("list", help="列出工作人员").set_defaults(people=_staff_list)
    p = staff.add_parser("remove", help="移除工作人员")
    p.add_argument("user_id", type=int)
    p.add_argument("--department", default="", help="只移出这个部门（默认：全部）")
    p.set_defaults(people=_staff_remove)
    p = worker.add_parser("list", help="列出网格员")
    p.add_argument("--grid", type=int, default=None, help="只列这个网格群（chat id）")
    p.set_defaults(people=_worker_list)
    p = worker.add_parser("remove", help="移除网格员")
    p.add_argument("user_id", type=int)
    p.add_argument("--grid", type=int, default=None, help="只移出这个网格群（默认：全部）")
    p.set_defaults(people=_worker_remove)
    admin = sub.add_parser("admin", help="管理员").add_subparsers(
        dest="admin_command", required=True
    )
    admin.add_parser("list", help="列出管理员").set_defaults(people=_admin_list)
    for name, func, text in (
        ("add", _admin_add, "设为管理员"),
        ("remove", _admin_remove, "取消管理员"),
    ):
        p = admin.add_parser(name, help=text)
        p.add_argument("user_id", type=int)
        p.set_defaults(people=func)
    block = sub.add_parser("block", help="被禁止提交工单的人").add_subparsers(
        dest="block_command", required=True
    )
    block.add_parser("list", help="列出").set_defaults(people=_block_list)
    p = block.add_parser("remove", help="恢复其提交工单")
    p.add_argument("user_id", type=int)
    p.set_defaults(people=_block_remove)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one people command in a transaction on a migrated database."""
    from storage.db import is_up_to_date, make_engine, make_sessionmaker

    action: Action = args.people
    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
            return 2
        async with make_sessionmaker(engine).begin() as session:
            return await action(session, args, settings)
    finally:
        await engine.dispose()
