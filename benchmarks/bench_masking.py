"""How many placements of typed contact data leak: formats × surfaces, through the real API.

cd <checkout> && python /path/to/benchmarks/bench_masking.py [-v]

Measures the checkout in the current directory (falls back to this file's project). Each format
variant carries its own phone, ID, card or email, so a leak is attributed to one placement; a
placement leaks when a reader can read the value's digits (or address) back from the surface, as
stored or as shown (tests/formats.reads).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from logging.handlers import BufferingHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

ROOT = Path.cwd() if (Path.cwd() / "core" / "masking.py").is_file() else Path(__file__).parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from factories import client_data  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from formats import CHINESE_NUMERALS, reads  # noqa: E402
from uvicorn.protocols.utils import get_path_with_query_string  # noqa: E402

import core.masking  # noqa: E402
from api.app import create_app  # noqa: E402
from core.database import get_engine, session_scope  # noqa: E402
from core.services import principals  # noqa: E402
from core.services.demo import DEMO_PEOPLE  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.llm.offline import OfflineModel  # noqa: E402

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
CHINESE = str.maketrans("0123456789", "".join(n[0] for n in CHINESE_NUMERALS))
SPOKEN = str.maketrans("0123456789", "零幺两三四五六七八九")  # a phone number read out
CAPITALS = str.maketrans("0123456789", "零壹贰叁肆伍陆柒捌玖")  # financial capitals (大写)
RLO, PDF = "\u202e", "\u202c"


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spaced(value: str, sizes: list[int], seps: str | list[str]) -> str:
    """The value in groups of these sizes, joined by the separator (or one per gap)."""
    gaps = seps if isinstance(seps, list) else [seps] * (len(sizes) - 1)
    out, at = value[: sizes[0]], sizes[0]
    for size, sep in zip(sizes[1:], gaps, strict=True):
        out, at = out + sep + value[at : at + size], at + size
    return out


def luhn_ok(number: str) -> bool:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(number)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


def card(i: int, valid: bool = True) -> str:
    body = f"622202{i:09d}"
    return next(body + c for c in "0123456789" if luhn_ok(body + c) == valid)


def id18(i: int, wrong: bool = False) -> str:
    body = f"110105{1940 + i}1231{i:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]
    return body + (next(c for c in "0123456789X" if c != check) if wrong else check)


# Each variant gets its own value (i is its index), so every leak names one placement.
SECRETS: dict[str, Callable[[int], str]] = {
    "mobile": lambda i: f"1{3 + i % 7}9{i:04d}{5678 - i:04d}",
    "id": id18,
    "id15": lambda i: f"110105{40 + i}1231{i:03d}",
    "id wrong check": lambda i: id18(i, wrong=True),
    "card": card,
    "card no luhn": lambda i: card(i, valid=False),
    "email": lambda i: f"wang{i}@example.com",
    "email cn": lambda i: f"王芳{i}@例子.中国",
    "email accents": lambda i: f"josé{i}@exämple.com",
    "email cn local": lambda i: f"用户{i}@example.com",
}
Render = Callable[[str], str]
VARIANTS: list[tuple[str, str, str, Render]] = [  # family, variant, secret, how it is typed
    ("plain (control)", "mobile", "mobile", str),
    ("plain (control)", "ID", "id", str),
    ("plain (control)", "card", "card", str),
    ("plain (control)", "email", "email", str),
    ("full-width", "mobile", "mobile", full_width),
    ("full-width", "mobile arabic-indic", "mobile", lambda v: v.translate(ARABIC_INDIC)),
    ("full-width", "ID", "id", full_width),
    ("full-width", "card", "card", full_width),
    ("full-width", "email", "email", full_width),
    ("separators", "mobile dots", "mobile", lambda v: spaced(v, [3, 4, 4], ".")),
    ("separators", "mobile slashes", "mobile", lambda v: spaced(v, [3, 4, 4], "/")),
    ("separators", "mobile dash run", "mobile", lambda v: spaced(v, [3, 4, 4], " – ")),
    ("separators", "mobile nbsp", "mobile", lambda v: spaced(v, [3, 4, 4], "\u00a0")),
    ("separators", "mobile zero-width", "mobile", lambda v: spaced(v, [3, 4, 4], "\u200b")),
    ("separators", "mobile ideographic space", "mobile", lambda v: spaced(v, [3, 4, 4], "\u3000")),
    ("separators", "mobile +86 ( )", "mobile", lambda v: "+86 (" + spaced(v, [3, 8], ") ")),
    ("separators", "card dots", "card", lambda v: spaced(v, [4, 4, 4, 4], ".")),
    ("separators", "card nbsp", "card", lambda v: spaced(v, [4, 4, 4, 4], "\u00a0")),
    ("prefixes", "tel", "mobile", lambda v: "tel" + v),
    ("prefixes", "Tel:", "mobile", lambda v: "Tel:" + spaced(v, [3, 4, 4], "-")),
    ("prefixes", "mobile#", "mobile", lambda v: "mobile#" + v),
    ("prefixes", "ID", "id", lambda v: "ID" + v),
    ("prefixes", "idno:", "id", lambda v: "idno:" + v),
    ("prefixes", "card", "card", lambda v: "card" + v),
    ("prefixes", "acct#", "card", lambda v: "acct#" + v),
    ("prefixes", "卡号 (no Luhn)", "card no luhn", lambda v: "卡号：" + v),
    ("ID numbers", "6-8-4 spaces", "id", lambda v: spaced(v, [6, 8, 4], " ")),
    ("ID numbers", "6-4-4-4 dashes", "id", lambda v: spaced(v, [6, 4, 4, 4], "-")),
    ("ID numbers", "15-digit", "id15", str),
    ("ID numbers", "wrong check digit", "id wrong check", str),
    (
        "ID numbers",
        "typed birth date",
        "id",
        lambda v: spaced(v, [6, 4, 2, 2, 4], [" ", "-", "-", " "]),
    ),
    ("emails", "chinese", "email cn", str),
    ("emails", "accents", "email accents", str),
    ("emails", "after chinese", "email", lambda v: "邮箱" + v),
    ("emails", "chinese local part", "email cn local", str),
    ("numerals", "mobile chinese", "mobile", lambda v: v.translate(CHINESE)),
    ("numerals", "mobile spoken (幺, 两)", "mobile", lambda v: v.translate(SPOKEN)),
    ("numerals", "ID financial capitals", "id", lambda v: v.translate(CAPITALS)),
    (
        "numerals",
        "card chinese 4-4-4-4",
        "card",
        lambda v: spaced(v.translate(CHINESE), [4] * 4, " "),
    ),
    ("wide gaps", "mobile four spaces", "mobile", lambda v: spaced(v, [3, 4, 4], "    ")),
    ("wide gaps", "mobile tabs", "mobile", lambda v: spaced(v, [3, 4, 4], "\t\t\t\t")),
    ("wide gaps", "mobile pipes", "mobile", lambda v: spaced(v, [3, 4, 4], "|")),
    ("wide gaps", "card spaced pipes", "card", lambda v: spaced(v, [4] * 4, "  |  ")),
    ("wide gaps", "ID eight spaces", "id", lambda v: spaced(v, [6, 8, 4], " " * 8)),
    ("any marks", "mobile -- spaced", "mobile", lambda v: spaced(v, [3, 4, 4], " -- ")),
    ("any marks", "mobile || spaced", "mobile", lambda v: spaced(v, [3, 4, 4], " || ")),
    ("any marks", "mobile | | spaced", "mobile", lambda v: spaced(v, [3, 4, 4], " | | ")),
    ("any marks", "mobile 、", "mobile", lambda v: spaced(v, [3, 4, 4], "、")),
    ("any marks", "mobile ~", "mobile", lambda v: spaced(v, [3, 4, 4], "~")),
    ("any marks", "mobile :", "mobile", lambda v: spaced(v, [3, 4, 4], ":")),
    ("any marks", "mobile *", "mobile", lambda v: spaced(v, [3, 4, 4], "*")),
    ("any marks", "ID 、", "id", lambda v: spaced(v, [6, 8, 4], "、")),
    ("any marks", "card 卡号 、", "card", lambda v: "卡号" + spaced(v, [4] * 4, "、")),
    ("any marks", "mobile across lines", "mobile", lambda v: spaced(v, [3, 4, 4], "\n")),
    ("any marks", "ID across lines", "id", lambda v: spaced(v, [6, 8, 4], "\r\n")),
    ("invisibles", "mobile U+FE0E", "mobile", lambda v: "\ufe0e".join(v)),
    ("invisibles", "mobile U+034F", "mobile", lambda v: "\u034f".join(v)),
    ("invisibles", "mobile U+200B runs", "mobile", lambda v: spaced(v, [3, 4, 4], "\u200b" * 4)),
    ("invisibles", "mobile U+2060 runs", "mobile", lambda v: spaced(v, [3, 4, 4], "\u2060" * 5)),
    ("invisibles", "card combining marks", "card", lambda v: "\u0301".join(v)),
    ("invisibles", "email combining marks", "email", lambda v: "\u0323".join(v)),
    ("bidi", "mobile reversed in RLO", "mobile", lambda v: RLO + v[::-1] + PDF),
    ("bidi", "ID reversed in RLO", "id", lambda v: RLO + v[::-1] + PDF),
    ("bidi", "email reversed in RLO", "email", lambda v: RLO + v[::-1] + PDF),
    ("bidi", "mobile LRM/RLM between", "mobile", lambda v: "\u200e\u200f".join(v)),
]


class RecordingModel(OfflineModel):
    """The offline model, keeping the text a remote model would have received."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__()
        self.sink = sink

    def structured(self, prompt: Any, schema: Any) -> Any:
        self.sink.append(prompt.render())
        return super().structured(prompt, schema)

    def text(self, prompt: Any) -> str:
        self.sink.append(prompt.render())
        return super().text(prompt)


@dataclass
class Bench:
    api: TestClient
    tokens: dict[str, str]
    prompts: list[str]
    log: BufferingHandler

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def wait(self, run_id: str, statuses: set[str]) -> dict[str, Any]:
        for _ in range(600):
            run = self.api.get(f"/v1/runs/{run_id}", headers=self.h("svc-core")).json()
            if run.get("status") in statuses:
                return run
            time.sleep(0.05)
        raise RuntimeError(f"run {run_id} never reached {statuses}: {run}")


def sse(api: TestClient, run_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    with api.stream("GET", f"/v1/runs/{run_id}/events?follow=false", headers=headers) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def put_client(b: Bench, client_id: str, name: str, text: str) -> None:
    notes = f"客户计划两年内购房，联系方式：{text}，请回电。"
    body = client_data(client_id=client_id, name=name, notes=notes)
    put = b.api.put(f"/v1/clients/{client_id}", json=body, headers=b.h("svc-core"))
    assert put.status_code == 200, put.text


def client_surfaces(b: Bench, client_id: str, text: str) -> dict[str, str]:
    """The client's name and notes as the API shows them."""
    put_client(b, client_id, text[:100], text)
    shown = b.api.get(f"/v1/clients/{client_id}", headers=b.h("sup-zhao")).json()
    return {"client name": shown["name"], "client notes": shown["notes"]}


def run_surfaces(b: Bench, client_id: str, text: str) -> dict[str, str]:
    """A run with the text in notes, request, decision and feedback: every place it shows."""
    # The name stays plain: a masked card in the letter's greeting is a figure without a source
    # (TW-NUM-01), which would block the plan before anyone could decide it.
    put_client(b, client_id, "王芳", text)
    del b.prompts[:]
    created = b.api.post(
        "/v1/runs",
        json={"client_id": client_id, "request": f"请联系{text}谢谢"},
        headers=b.h("svc-core"),
    )
    run_id = created.json()["id"]
    b.wait(run_id, {"awaiting_approval"})
    approval = b.api.get(f"/v1/runs/{run_id}", headers=b.h("adv-li")).json()["approval"]
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "comment": f"已核实{text}"}
    b.api.post(f"/v1/approvals/{approval['id']}/decision", json=decision, headers=b.h("adv-li"))
    b.wait(run_id, {"delivered"})
    feedback = {"rating": 5, "comment": f"请打 {text}"}
    b.api.post(f"/v1/runs/{run_id}/feedback", json=feedback, headers=b.h("svc-core"))
    run = b.api.get(f"/v1/runs/{run_id}", headers=b.h("sup-zhao")).json()
    trail = b.api.get(f"/v1/runs/{run_id}/audit", headers=b.h("sup-zhao")).json()["events"]
    stream = sse(b.api, run_id, b.h("sup-zhao"))
    return {
        "model prompt": "\n".join(b.prompts),
        "run request": dumps(run["request"]),
        "run intent": dumps(run["intent"]),
        "request in audit": dumps([e["payload"] for e in trail if e["kind"] == "run_created"]),
        "request in SSE": dumps([e for e in stream if e["kind"] == "run_created"]),
        "decision comment": dumps(run["approval"]["comment"]),
        "decision in audit": dumps([e["payload"] for e in trail if e["kind"] == "decision"]),
        "decision in SSE": dumps([e for e in stream if e["kind"] == "decision"]),
        "feedback comment": dumps([f["comment"] for f in run["feedback"]]),
    }


def error_surfaces(b: Bench, text: str) -> dict[str, str]:
    """Error details for the text sent as a path id, a body id and a body key."""
    path = b.api.get(f"/v1/clients/{quote(text, safe='')}", headers=b.h("svc-core"))
    body = b.api.post("/v1/runs", json={"client_id": text[:64]}, headers=b.h("svc-core"))
    key = b.api.post("/v1/runs", json={"client_id": "C-X", text: 1}, headers=b.h("svc-core"))
    return {"404 path id": path.text, "404 body id": body.text, "422 body key": key.text}


def log_surfaces(b: Bench, text: str) -> dict[str, str]:
    """A log line with the text as an argument, and uvicorn's access line for a request with it."""
    b.log.flush()
    logging.getLogger("tierwise.bench").info("client said %s", text)
    scope: Any = {"path": f"/v1/clients/{text}", "query_string": f"q={quote_plus(text)}".encode()}
    line = ("127.0.0.1:50000", "GET", get_path_with_query_string(scope), "1.1", 404)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', *line)  # as uvicorn does
    plain, access = (r.getMessage() for r in b.log.buffer)
    return {"log": plain, "access log": access}


def placements(b: Bench, i: int, text: str) -> dict[str, str]:
    """Every surface's output for one variant placed in it."""
    return {
        **client_surfaces(b, f"C-N{i:03d}", text),
        **run_surfaces(b, f"C-R{i:03d}", text),
        **error_surfaces(b, text),
        **log_surfaces(b, text),
    }


def measure(b: Bench, verbose: bool) -> tuple[int, int, dict[str, list[int]]]:
    """(leaked, placements, per family [leaked, placements])."""
    leaked = total = 0
    families: dict[str, list[int]] = {}
    for i, (family, name, secret, render) in enumerate(VARIANTS):
        core = SECRETS[secret](i)
        text = render(core)
        for surface, shown in placements(b, i, text).items():
            leak = reads(unquote_plus(shown), core)
            leaked, total = leaked + leak, total + 1
            tally = families.setdefault(family, [0, 0])
            tally[0], tally[1] = tally[0] + leak, tally[1] + 1
            if leak and verbose:
                print(f"LEAK {family} / {name} / {surface}: {text!r}")
    return leaked, total, families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every leak")
    args = parser.parse_args()
    print(f"measuring {core.masking.__file__}")
    prompts: list[str] = []
    log = BufferingHandler(capacity=100)
    for name in ("tierwise.bench", "uvicorn.access"):
        logging.getLogger(name).addHandler(log)
        logging.getLogger(name).setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        settings = Settings(environment="test", database_url=url, rate_limit="100000/minute")
        with TestClient(create_app(settings)) as api:
            api.app.state.runner.model_factory = lambda: RecordingModel(prompts)  # type: ignore[attr-defined]
            roles = {"adv-li": "advisor", "sup-zhao": "supervisor", "svc-core": "service"}
            with session_scope(get_engine(settings.database_url)) as session:
                tokens = {
                    n: principals.create(session, n, r, DEMO_PEOPLE.get(n))[1]  # type: ignore[arg-type]
                    for n, r in roles.items()
                }  # adv-li signs as a person: an advisor approves only with a registration
            leaked, total, families = measure(Bench(api, tokens, prompts, log), args.verbose)
    for family, (n, m) in families.items():
        print(f"  {family:<16} {n:>4} of {m:>4} leaked")
    surfaces = total // len(VARIANTS)
    print(f"{leaked} of {total} placements leaked ({len(VARIANTS)} variants × {surfaces} surfaces)")


if __name__ == "__main__":
    main()
