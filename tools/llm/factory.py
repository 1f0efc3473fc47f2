"""Model factory: the configured model for one run (offline by default)."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from tools.llm.cache import CachingModel
from tools.llm.offline import OfflineModel
from tools.llm.openai import OpenAIModel
from tools.llm.port import LanguageModel


def make_model(settings: Settings) -> LanguageModel:
    """A fresh model instance (with its own call ledger and deadline) for one run."""
    offline = OfflineModel(settings.model if settings.llm == "offline" else "offline-v1")
    if settings.llm == "offline":
        model: LanguageModel = offline
    else:
        model = OpenAIModel(settings, fallback=offline)
    options = settings.openai
    if options.cache_mode != "off":
        if not options.cache_dir:
            raise ValueError("TIERWISE_OPENAI__CACHE_MODE needs TIERWISE_OPENAI__CACHE_DIR")
        model = CachingModel(model, Path(options.cache_dir), options.cache_mode, offline)
    return model
