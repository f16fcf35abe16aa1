"""Every error Huiyin raises on purpose, in one tree (import them from here or `bot.domain`).

    HuiyinError
    ├── Refusal            a use case says no; str() is Chinese, fit for the person who asked
    │   ├── NotFound           the ticket (or thing) does not exist, or is not theirs to see
    │   ├── NotAllowed         this person may not do this
    │   ├── IllegalTransition  the ticket's status does not allow the action (.status, .action)
    │   ├── InvalidInput       the input cannot be used (empty, too long, unreadable)
    │   └── Stale              a button or prompt refers to a state that has moved on
    ├── StartupError       start-up cannot go on; str() is one line for the operator and
    │   │                  `huiyin` exits with status 2 instead of a traceback
    │   ├── SettingsError      a setting is missing or malformed
    │   ├── NotMigrated        the database schema is older than the code
    │   └── DataFileError      a data file is unreadable or malformed (.path, .line, .key, .reason)
    │       ├── CalendarFileError     the holidays file
    │       ├── PolicyFileError       the deadline policy file
    │       ├── DepartmentsFileError  the departments file
    │       └── RulesFileError        an NLP rule file or user dictionary
    ├── Unreadable         data the code built or stored cannot be carried or read back (a bug
    │   │                  or corruption): logged for the operators, never shown to users
    │   ├── ButtonDataError    a button built with values the codec cannot carry
    │   ├── IntentError        a stored outbox intent that cannot be read back
    │   └── NotAnUpdate        valid JSON that is not a Telegram update (the webhook says 400)
    ├── ClaimLost          another worker took a stored update over (its claim had expired):
    │                      the transaction rolls back and the update is handled once, there
    └── NotYetSent         a reply to a prompt whose sending is not yet recorded (Telegram
                           delivered it and the reply came back before the sender wrote the
                           message id down): the update is handled again a moment later

Services raise Refusals and handlers show them; they never compare message text. The NLP
package imports nothing of ours, so its `nlp.RuleFileError` becomes a RulesFileError where the
extractor is loaded (`RulesFileError.of`). Outside the tree on purpose: other bugs (they
should crash loudly), Telegram's errors (the sender handles them) and the simulator's own
errors (it plays Telegram, not us).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from bot.domain import Action, Status
    from nlp import RuleFileError


class HuiyinError(Exception):
    """The root of every error Huiyin raises on purpose."""


class Refusal(HuiyinError):
    """A use case refuses; `str()` is a message fit for the person who asked."""


class NotFound(Refusal):
    """The ticket (or thing) does not exist, or is not visible to this person."""


class NotAllowed(Refusal):
    """This person may not do this."""


class IllegalTransition(Refusal):
    """The ticket's status does not allow this action."""

    def __init__(self, status: Status, action: Action, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.action = action


class InvalidInput(Refusal):
    """The input cannot be used (empty, too long, unreadable)."""


class Stale(Refusal):
    """A button or prompt refers to a state that has since moved on."""


class StartupError(HuiyinError):
    """Start-up cannot go on; `str()` is one line telling the operator what to fix."""


class SettingsError(StartupError):
    """A setting is missing or malformed; `str()` is one line naming it."""


class NotMigrated(StartupError, RuntimeError):
    """The database schema is older than the code."""


class DataFileError(StartupError, ValueError):
    """A data file is unreadable or malformed; the message (Chinese, one line) names the file,
    the line and column when known, the key when there is one, and what is wrong."""

    what = "数据文件"

    def __init__(
        self,
        path: Path,
        key: str,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = f"{self.what} {path}"
        if line:
            where += f" 第 {line} 行" + (f"第 {column} 列" if column else "")
        if key:
            where += f"（{key}）"
        super().__init__(f"{where}：{reason}")
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.reason = reason

    @classmethod
    def of_file(
        cls, path: Path, reason: str, *, line: int | None = None, column: int | None = None
    ) -> Self:
        """The error of this kind about the whole file (unreadable, or not valid syntax)."""
        err = cls.__new__(cls)
        DataFileError.__init__(err, path, "", reason, line=line, column=column)
        return err


class CalendarFileError(DataFileError):
    """A holidays data file is unreadable or malformed; the message names the file and why."""

    what = "节假日数据文件"

    def __init__(self, path: Path, reason: str, *, line: int | None = None) -> None:
        super().__init__(path, "", reason, line=line)


class PolicyFileError(DataFileError):
    """The deadline policy file is malformed; the message names the file and the key."""

    what = "办理时限数据文件"


class DepartmentsFileError(DataFileError):
    """The departments file is malformed; the message names the file and the key."""

    what = "部门数据文件"


class IndicatorsFileError(DataFileError):
    """The indicators file (how the figures are computed) is malformed; names the file and key."""

    what = "考核指标数据文件"


class RulesFileError(DataFileError):
    """An NLP rule file or user dictionary is malformed; names the file and line."""

    what = "NLP 规则文件"

    @classmethod
    def of(cls, exc: RuleFileError) -> RulesFileError:
        """The start-up error for the NLP package's own rule-file error."""
        return cls(Path(exc.file), "", exc.reason, line=exc.line or None)


class Unreadable(HuiyinError, ValueError):
    """Data the code built or stored cannot be carried or read back (a bug or corruption)."""


class ButtonDataError(Unreadable):
    """A button was built with values the codec cannot carry (a programming error)."""


class IntentError(Unreadable):
    """A stored intent that cannot be read back (corrupt or from an unknown version)."""


class NotAnUpdate(Unreadable):
    """Valid JSON that is not a Telegram update object."""


class ClaimLost(HuiyinError, RuntimeError):
    """Another worker took this update over (our claim expired): roll back, do nothing."""


class NotYetSent(HuiyinError):
    """A reply to a prompt that is on its way but not yet recorded as sent: handle it again
    shortly (the worker releases the update without counting a failure)."""
