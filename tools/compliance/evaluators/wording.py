"""Wording rules: each required line of the disclosures must appear in the final client text."""

from __future__ import annotations

from tools.compliance.disclosures import OFFER, ORDER, required_wording
from tools.compliance.engine import Hit, Registry, RuleContext

EVALUATORS = Registry()


def _register(rule_id: str) -> None:
    @EVALUATORS.rule(rule_id)
    def present(ctx: RuleContext, rid: str) -> list[Hit]:
        missing = [line for line in required_wording(ctx)[rid] if line not in ctx.client_text]
        return [Hit(f"missing: {line[:120]}") for line in missing]


for _rule_id in [*ORDER, OFFER]:
    if _rule_id != "REQ-06":  # REQ-06 is enforced by LANG-07's evaluator
        _register(_rule_id)
