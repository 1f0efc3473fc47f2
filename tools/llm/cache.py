"""Record and replay model answers, keyed by model, prompt version and input, for exact reruns."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from tools.llm.port import CallTimer, LanguageModel, ModelCall, Prompt, T


def cache_key(model: str, prompt: Prompt, kind: str) -> str:
    """SHA-256 of the model, the prompt's template hash and the rendered (masked) input."""
    body = json.dumps(
        {
            "model": model,
            "task": prompt.task,
            "prompt_version": prompt.version,
            "input": prompt.render(),
            "kind": kind,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class CachingModel:
    """Wraps a model: `record` stores every answer, `replay` answers only from the store."""

    def __init__(
        self,
        inner: LanguageModel,
        directory: Path,
        mode: Literal["record", "replay"],
        fallback: LanguageModel,
    ) -> None:
        self.inner, self.directory, self.mode, self.fallback = inner, directory, mode, fallback
        self.name = inner.name
        self.own: list[ModelCall] = []  # calls this wrapper recorded: replays, misses, fallbacks
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def calls(self) -> list[ModelCall]:
        return [*self.inner.calls, *self.own]

    def record(self, call: ModelCall) -> None:
        self.own.append(call)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def _load(self, key: str) -> str | None:
        path = self._path(key)
        return json.loads(path.read_text("utf-8"))["value"] if path.exists() else None

    def _store(self, key: str, prompt: Prompt, value: str) -> None:
        record = {
            "model": self.name,
            "task": prompt.task,
            "prompt_version": prompt.version,
            "value": value,
        }
        self._path(key).write_text(json.dumps(record, ensure_ascii=False, indent=1), "utf-8")

    def _replay(self, prompt: Prompt, key: str) -> str | None:
        timer = CallTimer(self.own, self.name, prompt)
        value = self._load(key)
        if value is None:
            timer.done(0, 0, "fallback", error="replay miss: no recorded answer")
        else:
            timer.done(0, 0, "replay")
        return value

    def structured(self, prompt: Prompt, schema: type[T]) -> T:
        key = cache_key(self.name, prompt, schema.__name__)
        if self.mode == "replay":
            value = self._replay(prompt, key)
            return (
                schema.model_validate_json(value)
                if value is not None
                else self.fallback.structured(prompt, schema)
            )
        result = self.inner.structured(prompt, schema)
        self._store(key, prompt, result.model_dump_json())
        return result

    def text(self, prompt: Prompt) -> str:
        key = cache_key(self.name, prompt, "text")
        if self.mode == "replay":
            value = self._replay(prompt, key)
            return value if value is not None else self.fallback.text(prompt)
        result = self.inner.text(prompt)
        self._store(key, prompt, result)
        return result
