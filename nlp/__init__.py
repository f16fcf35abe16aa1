"""Complaint extraction from Chinese chat text with explainable keyword rules (pure, no I/O)."""

from nlp.decision import GROUP_ASK_AT, GROUP_TICKET_AT, Decision, decide, report_score
from nlp.errors import RuleFileError
from nlp.extractor import Extractor
from nlp.model import INTENTS, Extraction

__all__ = [
    "GROUP_ASK_AT",
    "GROUP_TICKET_AT",
    "INTENTS",
    "Decision",
    "Extraction",
    "Extractor",
    "RuleFileError",
    "decide",
    "report_score",
]
