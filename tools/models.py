"""Model factory: the configured model for one run."""

from __future__ import annotations

from core.settings import Settings
from tools.llm import LanguageModel
from tools.offline_model import OfflineModel


class ModelNotConfigured(RuntimeError):
    """TIERWISE_LLM names a provider this build cannot reach."""


def make_model(settings: Settings) -> LanguageModel:
    """A fresh model instance (with its own call ledger) for one run."""
    if settings.llm == "offline":
        return OfflineModel(
            settings.model if settings.model.startswith("offline") else "offline-v1"
        )
    raise ModelNotConfigured(
        "TIERWISE_LLM=openai is not wired in this release; unset it to use the offline model"
    )
