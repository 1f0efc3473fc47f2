"""The shipped registry: every evaluator of every family, each rule id once."""

from __future__ import annotations

from tools.compliance.engine import Registry
from tools.compliance.evaluators import (
    answers,
    concentration,
    education,
    language,
    request,
    suitability,
    wording,
)

REGISTRY = Registry.merge(
    suitability.EVALUATORS,
    concentration.EVALUATORS,
    language.EVALUATORS,
    wording.EVALUATORS,
    request.EVALUATORS,
    education.EVALUATORS,
    answers.EVALUATORS,
)
