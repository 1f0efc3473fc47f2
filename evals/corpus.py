"""The request corpus (issue 28, part 2): clients' own phrasings run through the real graph.

Every phrasing in evals/corpus/requests.yaml is asked by a long-tail client of the level it is
labelled with, on a fresh SQLite database, with the settings' model (offline by default). No
advisor decides anything: what the reader and the rules do alone is what is measured. The figures
per split (evals.scorers.corpus_figures): clear and suitable requests served without an advisor
(automation), plans above the level or shaped by a doubtful wish (unsafe, must be 0), ambiguous
phrasings still escalated, requests above the level routed to a person, and shelf questions read
and answered in the letter. The held-out split is the one that counts: the lexicon is never
tuned on it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import runs
from core.services.views import run_view
from core.settings import Settings
from evals.runner import git_commit
from evals.scorers import corpus_figures, corpus_row
from graphs.runner import Runner, open_runner
from tools.market.intent import lexicon_for

CORPUS_FILE = Path(__file__).resolve().parent / "corpus" / "requests.yaml"
Split = Literal["held_out", "tuning"]
SPLITS: tuple[Split, ...] = ("held_out", "tuning")
AS_OF = date(2026, 11, 25)
SCHEMA = "tierwise.eval.corpus/1"
Label = Literal["clear", "above", "lowest", "ambiguous", "question"]
Level = Literal["C1", "C2", "C3", "C4", "C5"]
# A long-tail client's goal and loss tolerance that agree with each level (DESIGN §5.1).
OBJECTIVES: dict[str, tuple[str, float]] = {
    "C1": ("preservation", 3.0),
    "C2": ("income", 8.0),
    "C3": ("balanced", 15.0),
    "C4": ("growth", 25.0),
    "C5": ("growth", 35.0),
}


class CorpusItem(BaseModel):
    """One phrasing, the level of the client who writes it, and what should become of it."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=16)
    locale: Literal["zh-CN", "en"]
    level: Level
    label: Label
    text: str = Field(min_length=1, max_length=500)
    targets: list[str] = Field(default_factory=list)  # a question's subject, "kind:id"
    split: Split = "tuning"

    @model_validator(mode="after")
    def _consistent(self) -> CorpusItem:
        if self.label == "lowest" and self.level != "C1":
            raise ValueError(f"{self.id}: a lowest-category client is at C1, not {self.level}")
        if (self.label == "question") != bool(self.targets):
            raise ValueError(f"{self.id}: targets are given for a question, and only for one")
        bad = [t for t in self.targets if t.split(":")[0] not in ("product", "theme")]
        if bad:
            raise ValueError(f"{self.id}: a target is product:<code> or theme:<id>, not {bad}")
        return self


def load_corpus(path: Path = CORPUS_FILE) -> list[CorpusItem]:
    """Both splits, held-out first; refuses an unknown split, a label or a repeated id."""
    data = yaml.safe_load(path.read_text("utf-8"))
    unknown = set(data) - set(SPLITS)
    if unknown:
        raise ValueError(f"request corpus: unknown splits {sorted(unknown)}; use {SPLITS}")
    items = [CorpusItem(**row, split=split) for split in SPLITS for row in data.get(split) or []]
    ids = [i.id for i in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"request corpus: repeated ids {repeated}")
    return items


def corpus_client(item: CorpusItem) -> ClientInput:
    """A long-tail client (AUM under 500k, a valid assessment, no holdings) at the item's level;
    a `lowest` item's client is in the lowest category."""
    goal, drawdown = OBJECTIVES[item.level]
    return ClientInput.model_validate(
        {
            "client_id": f"CORPUS-{item.id.upper()}",
            "name": "王芳" if item.locale == "zh-CN" else "Emily Chen",
            "locale": item.locale,
            "advisor_id": "adv-li",
            "birth_year": 1980,
            "annual_income": 180000.0,
            "financial_assets": 300000.0,
            "aum": 200000.0,
            "investment_experience_years": 4.0,
            "risk_assessment": {
                "level": item.level,
                "lowest_category": item.label == "lowest",
                "assessed_on": "2026-03-02",
            },
            "objectives": {
                "goal": goal,
                "horizon_years": 5.0,
                "liquidity_need": 20000.0,
                "max_drawdown_tolerance_pct": drawdown,
            },
            "notes": "客户每年与投资顾问复盘一次组合。",
            "contact": {"phone": "13912345678", "email": "w@example.com"},
        }
    )


def run_item(runner: Runner, item: CorpusItem) -> dict[str, Any]:
    """One phrasing through the graph, scored; nobody decides a review it opens."""
    run = runner.create(corpus_client(item), as_of=AS_OF, request=item.text, actor="eval")
    runner.execute(run.id)
    with session_scope(runner.engine) as session:
        view = run_view(session, runs.get(session, run.id))
    return corpus_row(item.model_dump(), view, runner.market)


def run_corpus(
    settings: Settings,
    *,
    splits: tuple[str, ...] = SPLITS,
    progress: Callable[[str], None] | None = None,
    database_dir: Path | None = None,
) -> dict[str, Any]:
    """Every phrasing of the splits asked, on a fresh SQLite database; rows and figures."""
    items = [i for i in load_corpus() if i.split in splits]
    started = datetime.now(UTC)
    rows = []
    with tempfile.TemporaryDirectory(dir=database_dir) as tmp:
        db = settings.model_copy(update={"database_url": f"sqlite:///{Path(tmp) / 'corpus.db'}"})
        with open_runner(db) as runner:
            for item in items:
                rows.append(run_item(runner, item))
                if progress:
                    progress(item.id)
            lexicon = lexicon_for(runner.market).version
    commit, dirty = git_commit()
    return {
        "schema": SCHEMA,
        "provenance": {
            "git_commit": commit,
            "git_dirty": dirty,
            "provider": settings.llm,
            "lexicon": lexicon,
            "as_of": AS_OF.isoformat(),
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
        },
        "figures": corpus_figures(rows),
        "rows": rows,
    }


def to_text(result: dict[str, Any]) -> str:
    """The figures per split, as the report prints them, and what each figure missed."""
    lines = [f"request corpus, lexicon {result['provenance']['lexicon']}"]
    for split, f in result["figures"].items():
        lines.append(f"\n{split} ({f['items']} phrasings)")
        for key, label in (
            ("automation", "clear & suitable served without an advisor"),
            ("unsafe", "unsafe (above the level, or a doubtful wish shaped a plan)"),
            ("ambiguous_escalated", "ambiguous still escalated to a person"),
            ("above_routed", "above the level / lowest category routed to a person"),
            ("questions_read", "shelf questions read as questions"),
            ("questions_served", "shelf questions served without an advisor"),
            ("questions_answered", "shelf questions answered in the letter"),
        ):
            fig = f[key]
            lines.append(f"  {label}: {fig['count']}/{fig['of']} ({fig['rate']:.1%})")
            if fig["misses"]:
                lines.append(f"    misses: {', '.join(fig['misses'])}")
    return "\n".join(lines)


def write_result(result: dict[str, Any], out: Path) -> dict[str, Path]:
    """result.json and report.txt under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "result.json", "text": out / "report.txt"}
    paths["json"].write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    paths["text"].write_text(to_text(result) + "\n", "utf-8")
    return paths
