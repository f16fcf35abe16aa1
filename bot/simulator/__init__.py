"""A local Telegram Bot API server, checked against the published spec (stdlib + aiohttp)."""

from .server import BotAPISimulator
from .spec import BadRequest, SpecViolation, object_problems, validate_object

__all__ = ["BadRequest", "BotAPISimulator", "SpecViolation", "object_problems", "validate_object"]
