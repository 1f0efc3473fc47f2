"""Research agent: house views and product facts for what this client may hold, with sources."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from datetime import date
from functools import partial

from pydantic import BaseModel

from core.schemas.profile import ClientProfile
from tools.llm.fallback import Worded, usable_text
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel, Prompt
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData

SUMMARY_PROMPT = """Summarise these research notes for a client whose risk level is {risk_level},
in {locale}. Cite every note you use as [note id]. Use only the notes below; make no forecast
and no promise of returns.
{notes}"""

MAX_NOTES = 6
_CITATION = re.compile(r"\[([A-Za-z0-9_.:-]+)\]")


class ResearchItem(BaseModel):
    """One note from the corpus, in the client's language, with where it came from."""

    source_id: str
    publisher: str
    as_of: date
    kind: str
    title: str
    summary: str
    asset_classes: list[str]
    products: list[str]


class ProductFact(BaseModel):
    """Facts about one eligible product, straight from the shelf."""

    source_id: str
    code: str
    name: str
    risk_rating: str
    asset_class: str
    redemption_days: int
    lockup_days: int
    min_investment: float
    annual_fee: float
    access: str


class ResearchBrief(BaseModel):
    """What the research agent found, each item traceable to the corpus or the shelf."""

    items: list[ResearchItem]
    product_facts: list[ProductFact]
    summary: str
    citations: list[str]
    summary_fallback: bool = False


def _relevance(
    note_classes: AbstractSet[str],
    note_products: AbstractSet[str],
    classes: AbstractSet[str],
    codes: AbstractSet[str],
) -> int:
    return 2 * len(note_products & codes) + len(note_classes & classes)


def citation_problems(summary: str, known: set[str]) -> list[str]:
    """What makes a summary unusable: it cites nothing, or a source outside the corpus."""
    cited = set(_CITATION.findall(summary))
    if not cited:
        return ["cites no source"]
    return [f"cites a source outside the notes: {s}" for s in sorted(cited - known)]


def research_products(
    profile: ClientProfile,
    *,
    market: MarketData,
    model: LanguageModel,
    offline: LanguageModel | None = None,
) -> ResearchBrief:
    """Retrieve the notes that cover the client's eligible products and asset classes.

    The summary is the model's if it cites only the retrieved notes; otherwise the offline
    model's listing of them (tools/llm/fallback.py).
    """
    products = eligible_products(profile, market)
    codes = {p.code for p in products}
    classes = {ac for p in products for ac in p.exposures}
    scored = []
    for note in market.corpus:
        # A note about a product the client may not hold is not shown, even if its class fits.
        if note.products and not set(note.products) <= codes:
            continue
        score = _relevance(set(note.asset_classes), set(note.products), classes, codes)
        if score:
            scored.append((score, note.as_of, note.id, note))
    scored.sort(key=lambda row: row[:3], reverse=True)
    # Every note is written in both languages; the client reads theirs only.
    items = [
        ResearchItem(
            source_id=n.id,
            publisher=n.publisher.in_(profile.locale),
            as_of=n.as_of,
            kind=n.kind,
            title=n.title.in_(profile.locale),
            summary=n.summary.in_(profile.locale),
            asset_classes=list(n.asset_classes),
            products=[c for c in n.products if c in codes],
        )
        for *_, n in scored[:MAX_NOTES]
    ]
    facts = [
        ProductFact(
            source_id=f"shelf:{p.code}",
            code=p.code,
            name=p.name(profile.locale),
            risk_rating=p.risk_rating.value,
            asset_class=p.asset_class,
            redemption_days=p.redemption_days,
            lockup_days=p.lockup_days,
            min_investment=p.min_investment,
            annual_fee=round(p.fees.annual, 6),
            access=p.access.value,
        )
        for p in products
    ]
    listing = "\n".join(
        f"[{i.source_id}] {i.publisher} {i.as_of.isoformat()} {i.title}: {i.summary}" for i in items
    )
    prompt = Prompt(
        "research_summary",
        SUMMARY_PROMPT,
        {
            "risk_level": profile.risk_level,
            "locale": profile.locale,
            "notes": listing,
            "items": [i.model_dump(mode="json") for i in items],
        },
    )
    summary, cited = Worded(""), []
    if items:
        known = {i.source_id for i in items}
        check = partial(citation_problems, known=known)
        summary = usable_text(model, prompt, check, offline or OfflineModel())
        # The offline listing cites every note, once each, in the order retrieved.
        cited = (
            [i.source_id for i in items]
            if summary.replaced
            else list(dict.fromkeys(_CITATION.findall(summary.text)))
        )
    return ResearchBrief(
        items=items,
        product_facts=facts,
        summary=summary.text,
        citations=cited,
        summary_fallback=summary.replaced,
    )
