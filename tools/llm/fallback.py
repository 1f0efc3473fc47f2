"""One policy for model text that cannot be used: the offline model writes it instead.

An agent asks for words through `usable_text` and says what would make them unusable: a check
that returns the problems it finds (a promise, a figure the plan does not hold, a citation
outside the corpus, a rule the letter breaks). When the model's text has problems, the offline
model answers the same prompt; its templates build the words from the same figures, so they
are grounded by construction. The swap is recorded in the run's ledger as a "fallback" call
that names the problems, so `model_usage.fallbacks` counts every text a client never saw.

A model that fails outright (an endpoint down, an invalid answer after its re-asks, a replay
miss) falls back inside its adapter (openai.py, cache.py) and is recorded the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.masking import mask_text
from tools.llm.port import LanguageModel, ModelCall, Prompt

Check = Callable[[str], Sequence[str]]


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class Worded:
    """Text a client may read, and whether it is the offline model's in place of the model's."""

    text: str
    replaced: bool = False
    problems: tuple[str, ...] = ()  # what the check found in the model's own text


def usable_text(
    model: LanguageModel,
    prompt: Prompt,
    check: Check,
    offline: LanguageModel,
    finish: Callable[[str], str] = _as_is,
) -> Worded:
    """The model's text, finished (a name filled in, data masked), if the check finds nothing.

    Otherwise the offline model's answer to the same prompt, finished the same way. When the
    model is the offline model itself, or its text already was the offline model's (an adapter
    fell back), there is nothing better to ask: the text is returned with the problems, for the
    caller's rules to judge, and no second fallback is recorded.
    """
    text = finish(model.text(prompt))
    problems = tuple(check(text))
    if not problems or offline is model:
        return Worded(text, problems=problems)
    started = time.perf_counter()
    replacement = finish(offline.text(prompt))
    if replacement == text:  # the model's text was the offline one already (its own fallback)
        return Worded(text, problems=problems)
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    # The problems quote the model's text, which may hold what looks like personal data; the
    # ledger is stored on the run and served with it.
    reason = mask_text("unusable text: " + "; ".join(problems))
    model.record(
        ModelCall(model.name, prompt.task, prompt.version, 0, 0, elapsed, "fallback", reason[:300])
    )
    return Worded(replacement, replaced=True, problems=problems)
