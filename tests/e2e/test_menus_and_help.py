"""Menus and descriptions set at start-up; /help in every chat; group commands in private."""

from __future__ import annotations

import pytest

from bot import texts
from tests.e2e.helpers import texts_in
from tests.harness import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect

GRID = -1002000000077
WORKER = 5101
RESIDENT = 5102
STRANGER_CHAT = -1003000000001


def _scope(kind: str) -> str:
    return f"{[('type', kind)]}|"


async def test_menus_and_descriptions_are_set_once_per_scope(stack: LocalStack) -> None:
    commands = stack.sim.methods.commands
    private = [c["command"] for c in commands[_scope("all_private_chats")]]
    groups = [c["command"] for c in commands[_scope("all_group_chats")]]
    admins = [c["command"] for c in commands[_scope("all_chat_administrators")]]
    assert {"start", "help", "my", "status", "cancel"} <= set(private)
    assert "bind_staff" not in private and "bind_staff" not in groups
    assert {"help", "report", "queue", "ticket"} <= set(groups)
    assert {"bind_staff", "bind_grid", "add_staff", "add_worker", "block"} <= set(admins)
    descriptions = stack.sim.methods.descriptions
    assert descriptions["description|"] == texts.BOT_DESCRIPTION
    assert descriptions["short_description|"] == texts.BOT_SHORT_DESCRIPTION
    assert len(texts.BOT_SHORT_DESCRIPTION) <= 120 and len(texts.BOT_DESCRIPTION) <= 512

    sets = [
        name
        for name, params in stack.sim.calls
        if name.startswith("setMy") and "chat_id" not in str(params.get("scope"))
    ]
    assert len(sets) == 6  # four scopes, the description and the short description
    await stack.stop_bot()
    before = len(stack.sim.calls)
    await stack.start_bot()
    again = [name for name, _ in stack.sim.calls[before:] if name.startswith("setMy")]
    assert again == [], "a restart with unchanged menus must not set them again"


def _chat_scope(kind: str, chat_id: int) -> str:
    return f"{[('chat_id', chat_id), ('type', kind)]}|"


async def test_each_bound_chat_gets_its_own_menu_set_at_bind_and_start(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    commands = sim.methods.commands

    def menu(kind: str, chat_id: int) -> list[str]:
        return [c["command"] for c in commands.get(_chat_scope(kind, chat_id), [])]

    # The staff chat (bound by the fixture) has a staff menu; its administrators also theirs
    # (set right after the binding is answered).
    await sim.wait_until(lambda: bool(menu("chat_administrators", STAFF_CHAT_ID)))
    assert {"queue", "stats", "ticket", "help"} <= set(menu("chat", STAFF_CHAT_ID))
    assert "report" not in menu("chat", STAFF_CHAT_ID)
    assert "bind_staff" not in menu("chat", STAFF_CHAT_ID)
    assert {"queue", "bind_staff", "unbind"} <= set(menu("chat_administrators", STAFF_CHAT_ID))
    # A grid group bound now gets the grid menu at once.
    sim.add_group(GRID, "幸福社区第三网格群")
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
    await sim.wait_until(lambda: bool(menu("chat_administrators", GRID)))
    assert {"report", "split", "help"} <= set(menu("chat", GRID))
    assert "stats" not in menu("chat", GRID)
    assert {"report", "add_worker"} <= set(menu("chat_administrators", GRID))

    # At start-up: nothing is set again where Telegram holds the menu already; a menu
    # Telegram lost is set again.
    await stack.stop_bot()
    del commands[_chat_scope("chat", GRID)]
    before = len(sim.calls)
    await stack.start_bot()
    again = [params for name, params in sim.calls[before:] if name == "setMyCommands"]
    assert [p["scope"] for p in again] == [{"type": "chat", "chat_id": GRID}]
    assert {"report", "split"} <= set(menu("chat", GRID))

    # Unbound: the chat's own menus are taken off (the group-wide one shows again).
    sim.send_text(ADMIN_ID, "/unbind", chat_id=GRID)
    await expect(sim, GRID, lambda m: "解除" in m["text"])
    await sim.wait_until(lambda: not menu("chat", GRID) and not menu("chat_administrators", GRID))
    assert menu("chat", STAFF_CHAT_ID)


async def test_help_in_private_says_what_each_role_may_do(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT, "张阿姨")
    sim.send_text(RESIDENT, "/help")
    resident = await expect(sim, RESIDENT, lambda m: "件件有回音" in m["text"])
    assert "【管理员】" not in resident["text"] and "【工作人员】" not in resident["text"]
    sim.send_text(STAFF_ID, "/help")
    staff = await expect(sim, STAFF_ID, lambda m: "【工作人员】" in m["text"])
    assert "/queue" in staff["text"] and "【管理员】" not in staff["text"]
    sim.send_text(ADMIN_ID, "/help")
    admin = await expect(sim, ADMIN_ID, lambda m: "【管理员】" in m["text"])
    assert "/bind_grid" in admin["text"]


async def test_help_in_groups_depends_on_the_chat_and_the_person(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT, "张阿姨")
    sim.add_user(WORKER, "网格员小刘")
    asked = sim.send_text(STAFF_ID, "/help", chat_id=STAFF_CHAT_ID)
    answer = await expect(sim, STAFF_CHAT_ID, lambda m: "/queue" in m["text"])
    assert answer["reply_to_message"]["message_id"] == asked["message_id"]
    assert "总平台" in answer["text"]
    sim.send_text(RESIDENT, "/help", chat_id=STAFF_CHAT_ID)
    await expect(sim, STAFF_CHAT_ID, lambda m: "/add_staff" in m["text"] and "还不是" in m["text"])

    sim.add_group(GRID, "幸福社区第三网格群")
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
    hello = sim.send_text(WORKER, "我是网格员", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/add_worker", chat_id=GRID, reply_to_message_id=hello["message_id"])
    await expect(sim, GRID, lambda m: "登记为" in m["text"])
    sim.send_text(RESIDENT, "/help", chat_id=GRID)
    resident = await expect(sim, GRID, lambda m: "本群是网格群" in m["text"])
    assert "【网格员】" not in resident["text"]
    sim.send_text(WORKER, "/help@huiyin_bot", chat_id=GRID)
    await expect(sim, GRID, lambda m: "【网格员】" in m["text"] and "/report" in m["text"])

    sim.add_group(STRANGER_CHAT, "随便一个群")
    sim.send_text(RESIDENT, "/help", chat_id=STRANGER_CHAT)
    await expect(sim, STRANGER_CHAT, lambda m: "本群尚未绑定" in m["text"])


@pytest.mark.parametrize(
    "command", ["/bind_staff", "/bind_staff 区城管委", "/bind_grid 网格", "/queue"]
)
async def test_a_group_command_in_private_is_explained(stack: LocalStack, command: str) -> None:
    sim = stack.sim
    sim.send_text(ADMIN_ID, command)
    answer = await expect(sim, ADMIN_ID, lambda m: True)
    name = command.split()[0].lstrip("/")
    assert answer["text"] == texts.GROUP_COMMANDS_IN_PRIVATE[name]
    assert "件件有回音" not in answer["text"]
    assert texts_in(stack, ADMIN_ID) == [answer["text"]]
