"""Regenerate ``botapi_spec.json``: the part of the Bot API spec the simulator speaks.

Maintainer script, not used at run time. Usage::

    python -m bot.simulator.extract_spec /path/to/telegram-bot-api-X.Y.json [output.json]

The input is the machine-readable spec published by PaulSonOfLars/telegram-bot-api-spec
(MIT licence). The output keeps the methods in ``METHODS`` and every type reachable from
their parameters and results (through fields and subtypes), with their descriptions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendLocation",
    "sendVenue",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "deleteMessage",
    "getChat",
    "getFile",
    "sendChatAction",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "getChatMember",
)

PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})


def base_type(type_name: str) -> str:
    """Strip any number of leading "Array of " from a spec type name."""
    while type_name.startswith("Array of "):
        type_name = type_name[len("Array of ") :]
    return type_name


def extract(spec: dict[str, Any], methods: tuple[str, ...] = METHODS) -> dict[str, Any]:
    """Return the subset of ``spec`` for ``methods`` and every type they reach."""
    missing = [m for m in methods if m not in spec["methods"]]
    if missing:
        raise KeyError(f"methods not in the spec: {missing}")
    todo: list[str] = []
    for name in methods:
        method = spec["methods"][name]
        todo.extend(method.get("returns", []))
        for field in method.get("fields", []):
            todo.extend(field["types"])
    seen: set[str] = set()
    while todo:
        name = base_type(todo.pop())
        if name in seen:
            continue
        if name not in spec["types"]:
            if name in PRIMITIVES:
                continue
            raise KeyError(f"type not in the spec: {name}")
        seen.add(name)
        entry = spec["types"][name]
        todo.extend(entry.get("subtypes", []))
        for field in entry.get("fields", []):
            todo.extend(field["types"])
    return {
        "source": "https://github.com/PaulSonOfLars/telegram-bot-api-spec (MIT licence)",
        "version": spec.get("version"),
        "release_date": spec.get("release_date"),
        "changelog": spec.get("changelog"),
        "methods": {name: spec["methods"][name] for name in methods},
        "types": {name: spec["types"][name] for name in sorted(seen)},
    }


def main(argv: list[str] | None = None) -> int:
    """Read the full spec from argv[0], write the subset to argv[1] or next to this file."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(args[0])
    target = Path(args[1]) if len(args) > 1 else Path(__file__).with_name("botapi_spec.json")
    subset = extract(json.loads(source.read_text(encoding="utf-8")))
    target.write_text(
        json.dumps(subset, ensure_ascii=False, indent=1, sort_keys=False) + "\n", encoding="utf-8"
    )
    print(f"{target}: {len(subset['methods'])} methods, {len(subset['types'])} types")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
