"""The extractor: read messages with the compiled rules (fast exits, then detection)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nlp.compile import compile_rules
from nlp.compiled import FULL_STOP, TRAILING, Compiled
from nlp.detection import decide_hits
from nlp.matcher import utf8
from nlp.model import NORMAL, NOT_A_REPORT, SMALL_TALK, Extraction
from nlp.normalize import MAX_CHARS, Normaliser
from nlp.rulefiles import SHIPPED_RULES, Entry

SMALL_TALK_CHARS = 40  # a longer message is never taken for small talk


class Extractor:
    """Reads one message at a time; all I/O happens in load() and reload()."""

    def __init__(
        self,
        compiled: Compiled,
        normaliser: Normaliser,
        sources: tuple[Path, tuple[Path, ...], Path | None],
    ) -> None:
        self._compiled = compiled
        self._normalise = normaliser
        self._sources = sources
        self._special = normaliser.special_search

    @classmethod
    def load(
        cls,
        rules_dir: Path | None = None,
        extra_dirs: Sequence[Path] = (),
        user_dict: Path | None = None,
    ) -> Extractor:
        """Read, validate and compile the rule files; raises RuleFileError on a bad file."""
        sources = (rules_dir or SHIPPED_RULES, tuple(extra_dirs), user_dict)
        normaliser = Normaliser.load()
        return cls(compile_rules(*sources, normaliser.special_chars), normaliser, sources)

    def with_lines(self, added: Sequence[Entry]) -> Extractor:
        """A new extractor with these rule lines added to the same files (for trying a change)."""
        return Extractor(
            compile_rules(*self._sources, self._normalise.special_chars, added),
            self._normalise,
            self._sources,
        )

    def reload(self) -> None:
        """Re-read the same files; on error keep the current rules and raise."""
        self._compiled = compile_rules(*self._sources, self._normalise.special_chars)

    @property
    def rule_files(self) -> tuple[str, ...]:
        """Return the rule files the current rules came from."""
        return self._compiled.files

    def keywords(self) -> frozenset[str]:
        """Return every keyword the current rules match on."""
        return self._compiled.keywords

    def normalise(self, text: str) -> str:
        """Return the text as the rules see it."""
        return self._normalise(text if isinstance(text, str) else str(text))

    def extract(self, text: str) -> Extraction:
        """Read one message; pure, never raises on any str."""
        try:
            if not isinstance(text, str):
                text = str(text)
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS]
            c = self._compiled
            # Fast exit for chit-chat: a text holding no trigger word and no character that
            # normalising would change (the gate) normalises to a text holding no trigger
            # word (normalising then only turns punctuation half-width and removes spaces,
            # punctuation runs, URLs and @mentions), and cannot be a report. Exact, not a guess.
            if c.prefilter:
                encoded = text.encode("utf-8", "surrogatepass").decode("latin-1")
                if next(c.gate_iter(encoded), None) is None:
                    got = NOT_A_REPORT
                elif text.isascii() or not self._special(text):
                    norm = self._normalise.plain(text)
                    got = self._extract(norm, encoded if norm is text else utf8(norm))
                else:
                    got = self._extract(self._normalise(text), None)
            else:
                got = self._extract(self._normalise(text), None)
            # inlined _or_small_talk (one call less per message)
            if got.is_report or len(text) > SMALL_TALK_CHARS or not c.small_talk(text):
                return got
            return SMALL_TALK
        except Exception as exc:  # defensive: a message must never crash the bot
            return _failed(exc)

    def _or_small_talk(self, text: str, got: Extraction) -> Extraction:
        """SMALL_TALK for a non-report made only of greetings, thanks and emoji, else got."""
        if got.is_report or len(text) > SMALL_TALK_CHARS or not self._compiled.small_talk(text):
            return got
        return SMALL_TALK

    def _extract(self, norm: str, encoded: str | None) -> Extraction:
        """Decide a normalised text; encoded is utf8(norm) (None: not yet encoded)."""
        if not norm:
            return NOT_A_REPORT
        if encoded is None:
            encoded = utf8(norm)
        c = self._compiled
        found = c.automaton.ends(encoded)
        if not found:
            return NOT_A_REPORT
        # One keyword found (the common chit-chat case): its result was decided at load time
        # for each thing decide_hits reads from such a message (first sentence or not; a
        # question ending or "?"), so only those are looked at here. Exact, not a guess.
        end, info = found[0]
        solo = info.solo
        if solo is not None and (len(found) == 1 or (
            found[-1][1] is info and all(h[1] is info for h in found)
        )):
            lead_end = encoded.find(FULL_STOP)
            no_q, with_q, q_matters = solo[0 if lead_end < 0 or end - info.back < lead_end else 1]
            got = (
                with_q if q_matters and (
                    "?" in norm or norm.rstrip(TRAILING).endswith(c.question_ends)
                ) else no_q
            )
            if got is not None:
                return got
        return decide_hits(c, norm, encoded, found)

    def _extract_full(self, norm: str) -> Extraction:
        """_extract without the load-time results for one keyword (the reference in tests)."""
        if not norm:
            return NOT_A_REPORT
        encoded = utf8(norm)
        found = self._compiled.automaton.ends(encoded)
        return decide_hits(self._compiled, norm, encoded, found) if found else NOT_A_REPORT


def _failed(exc: Exception) -> Extraction:
    return Extraction(False, "其他", (), NORMAL, (), None, 0.0, (f"error: {exc!r}",))
