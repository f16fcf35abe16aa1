"""Complaint extraction from Chinese chat text with explainable keyword rules (pure, no I/O)."""

from nlp.errors import RuleFileError
from nlp.extractor import Extractor
from nlp.model import INTENTS, Extraction

__all__ = ["INTENTS", "Extraction", "Extractor", "RuleFileError"]
