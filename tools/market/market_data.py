"""Market data the agents read: the product shelf, market assumptions and research corpus."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from tools.market.assumptions import CapitalMarketAssumptions, load_cma
from tools.market.research import ResearchNote, load_corpus
from tools.market.shelf import Product, load_shelf

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class MarketData:
    """Everything an agent needs to know about the market, loaded once and passed in."""

    shelf: tuple[Product, ...]
    cma: CapitalMarketAssumptions
    corpus: tuple[ResearchNote, ...]

    @cached_property
    def products(self) -> dict[str, Product]:
        return {p.code: p for p in self.shelf}

    def product_returns_and_covariance(self, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Expected returns (net of annual fees) and covariance of products from their exposures."""
        ids = self.cma.ids
        exposure = np.array(
            [[self.products[c].exposures.get(i, 0.0) for i in ids] for c in codes]  # type: ignore[call-overload]
        )
        mu = exposure @ self.cma.returns() - np.array([self.products[c].fees.annual for c in codes])
        idio = np.array([self.products[c].idio_vol for c in codes])
        cov = exposure @ self.cma.covariance() @ exposure.T + np.diag(idio**2)
        return mu, cov


def load_market(data_dir: Path = DATA_DIR) -> MarketData:
    """Load the shipped shelf, assumptions and corpus, cross-checking references."""
    market = MarketData(
        shelf=load_shelf(data_dir / "products.yaml"),
        cma=load_cma(data_dir / "cma.json"),
        corpus=load_corpus(data_dir / "research.yaml"),
    )
    known = set(market.cma.ids)
    for product in market.shelf:
        if not set(product.exposures) <= known:
            raise ValueError(f"{product.code}: exposure to an asset class without assumptions")
    for note in market.corpus:
        missing = [c for c in note.products if c not in market.products]
        if missing:
            raise ValueError(f"note {note.id} cites products not on the shelf: {missing}")
    return market
