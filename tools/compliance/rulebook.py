"""The firm's rule book: the shipped rules.yaml, checked against the shipped evaluators."""

from __future__ import annotations

from functools import cache

from tools.compliance.engine import DATA_DIR, RuleSet, load_rules
from tools.compliance.evaluators.registry import REGISTRY

RULES_FILE = DATA_DIR / "rules.yaml"


@cache
def shipped_rules() -> RuleSet:
    """The versioned rule set every run uses unless it is given another; loaded once."""
    return load_rules(RULES_FILE, REGISTRY)
