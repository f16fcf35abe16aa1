"""The shipped Bot API spec subset and the checks built on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.simulator import SpecViolation, object_problems, validate_object
from bot.simulator.extract_spec import METHODS, base_type, extract
from bot.simulator.spec import BadRequest, decode_params, load_spec, spec_version

USER = {"id": 1, "is_bot": False, "first_name": "王"}
CHAT = {"id": 1, "type": "private", "first_name": "王"}


def test_shipped_subset_is_closed_and_versioned() -> None:
    spec = load_spec()
    assert spec_version() == "Bot API 10.1"
    assert set(spec["methods"]) == set(METHODS)
    for entry in [*spec["methods"].values(), *spec["types"].values()]:
        refs = [t for f in entry.get("fields", []) for t in f["types"]]
        refs += entry.get("returns", []) + entry.get("subtypes", [])
        for ref in refs:
            name = base_type(ref)
            assert name in spec["types"] or name in {"Integer", "String", "Boolean", "Float"}


def test_licence_note_ships_next_to_the_spec() -> None:
    note = Path(__file__).parents[2] / "bot" / "simulator" / "SPEC-LICENSE.txt"
    text = note.read_text(encoding="utf-8")
    assert "PaulSonOfLars/telegram-bot-api-spec" in text and "MIT" in text


def test_extract_keeps_reachable_types_only() -> None:
    spec = {
        "version": "Bot API 0",
        "methods": {
            "getMe": {"name": "getMe", "returns": ["User"], "fields": []},
            "other": {"name": "other", "returns": ["Unused"], "fields": []},
        },
        "types": {
            "User": {"name": "User", "fields": [
                {"name": "pics", "types": ["Array of Pic"], "required": False},
            ]},
            "Pic": {"name": "Pic", "subtypes": ["PicA"]},
            "PicA": {"name": "PicA", "fields": []},
            "Unused": {"name": "Unused", "fields": []},
        },
    }
    subset = extract(spec, ("getMe",))
    assert set(subset["methods"]) == {"getMe"}
    assert set(subset["types"]) == {"User", "Pic", "PicA"}
    with pytest.raises(KeyError):
        extract(spec, ("nope",))


def test_validate_object_accepts_a_real_message() -> None:
    message = {
        "message_id": 5, "date": 1700000000, "chat": CHAT, "from": USER, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "reply_markup": {"inline_keyboard": [[{"text": "好", "callback_data": "x"}]]},
        "forward_origin": {"type": "user", "date": 1, "sender_user": USER},
    }
    validate_object("Message", message)
    validate_object("Update", {"update_id": 1, "message": message})
    validate_object("MaybeInaccessibleMessage", {"chat": CHAT, "message_id": 1, "date": 0})


@pytest.mark.parametrize(
    ("type_name", "obj", "needle"),
    [
        ("Message", {"message_id": 1, "date": 1}, "chat: required"),
        ("Chat", {"id": "1", "type": "private"}, "expected Integer"),
        ("Chat", {"id": 1, "type": "secret"}, "not one of"),
        ("User", {**USER, "is_bot": "no"}, "expected Boolean"),
        ("User", {**USER, "from_user": 1}, "not a field of User"),
        ("Message", {"message_id": 1, "date": 1, "chat": {"id": 1}}, "type: required"),
        ("MessageOrigin", {"type": "chat", "date": 1, "sender_user": USER}, "none of"),
        ("Array of PhotoSize", [{"file_id": "a"}], "required"),
        ("Location", {"latitude": "1.0", "longitude": 2}, "expected Float"),
    ],
)
def test_validate_object_reports_problems(type_name: str, obj: object, needle: str) -> None:
    assert any(needle in p for p in object_problems(type_name, obj)), object_problems(
        type_name, obj
    )
    with pytest.raises(SpecViolation):
        validate_object(type_name, obj)


def test_decode_params_form_strings() -> None:
    params = decode_params("sendMessage", {
        "chat_id": "-100123", "text": "hi", "disable_notification": "true",
        "reply_markup": json.dumps({"force_reply": True}), "unknown": "dropped",
    })
    assert params == {"chat_id": -100123, "text": "hi", "disable_notification": True,
                      "reply_markup": {"force_reply": True}}
    assert decode_params("sendMessage", {"chat_id": "@grid", "text": "x"})["chat_id"] == "@grid"
    assert decode_params("getUpdates", {"offset": "-1", "timeout": "0"}) == {
        "offset": -1, "timeout": 0}


@pytest.mark.parametrize(
    ("method", "raw", "needle"),
    [
        ("sendMessage", {"text": "x"}, "chat_id is empty"),
        ("sendMessage", {"chat_id": "1"}, "message text is empty"),
        ("answerCallbackQuery", {}, 'parameter "callback_query_id" is required'),
        ("getUpdates", {"offset": "abc"}, 'field "offset" must be of type Integer'),
        ("sendMessage", {"chat_id": "1", "text": "x", "disable_notification": "maybe"},
         "Boolean"),
        ("sendMessage", {"chat_id": "1", "text": "x", "reply_markup": "{not json"},
         "can't parse reply keyboard markup JSON object"),
        ("sendMessage", {"chat_id": "1", "text": "x", "reply_markup": '{"force_reply": "y"}'},
         "can't parse reply keyboard markup"),
        ("sendMessage", {"chat_id": "1", "text": "x",
                         "reply_markup": '{"inline_keyboard": [[{"callback_data": "a"}]]}'},
         'field "text" is required in InlineKeyboardButton'),
        ("sendMessage", {"chat_id": "1", "text": "x", "reply_parameters": '{"chat_id": 1}'},
         'field "message_id" is required in ReplyParameters'),
        ("sendMessage", {"chat_id": "1", "text": "x", "reply_markup": '{"selective": true}'},
         "can't parse reply keyboard markup"),
        ("sendMessage", {"chat_id": "1", "text": "x", "entities": '[{"type": "bold"}]'},
         "can't parse entities"),
    ],
)
def test_decode_params_refuses_like_telegram(method: str, raw: dict[str, str],
                                             needle: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode_params(method, raw)
    assert info.value.error_code == 400
    assert info.value.description.startswith("Bad Request: ")
    assert needle in info.value.description


def test_decode_params_json_body_values() -> None:
    params = decode_params("sendMessage", {
        "chat_id": 7, "text": "x",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
    })
    assert params["chat_id"] == 7
    with pytest.raises(BadRequest):
        decode_params("sendMessage", {"chat_id": 1.5, "text": "x"})


def test_simulator_imports_only_stdlib_and_aiohttp() -> None:
    import ast
    import sys

    folder = Path(__file__).parents[2] / "bot" / "simulator"
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root == "aiohttp", (source.name, root)
        if source.name != "extract_spec.py":
            assert "shared" not in source.read_text(encoding="utf-8"), source.name
