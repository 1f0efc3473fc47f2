"""The advisor inbox: server-rendered pages to review and sign off plans (no JavaScript)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from api.deps import Route, RunnerDep, SessionDep, authenticate_counting_failures
from api.web.i18n import WORDS, translator
from api.web.security import inbox_path, same_origin
from core.database import session_scope
from core.errors import (
    ApprovalAlreadyDecided,
    Forbidden,
    InvalidDecision,
    PlanHashMismatch,
    PlanNotApprovable,
    RateLimited,
    TierwiseError,
    Unauthorized,
)
from core.schemas.vocabulary import FINAL_STATUSES, RiskLevel, Tier, Verdict
from core.services import (
    approvals,
    audit,
    client_changes,
    clients,
    evals,
    inbox_sessions,
    letters,
    outcomes,
    review_queue,
    runs,
)
from core.services.views import run_view
from core.tables import Approval, Outcome, Principal, Run, as_utc, utcnow
from graphs.runner import Runner
from tools.letter.html import STYLE, firm_name, letter_body
from tools.market.intent import target_name
from tools.market.market_data import MarketData
from tools.outcomes import service as measuring

router = APIRouter(prefix="/inbox", include_in_schema=False, route_class=Route)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
LANGS = ("zh-CN", "en")
Words = Callable[[str], str]


def _lang(request: Request) -> str:
    return str(request.session.get("lang", "zh-CN"))


def render(
    request: Request, name: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> Response:
    session = request.session
    session.setdefault("csrf", secrets.token_urlsafe(24))
    flash = session.pop("flash", None)
    lang = _lang(request)
    return templates.TemplateResponse(
        request,
        name,
        {
            "t": translator(lang),
            "lang": lang,
            "me": principal,
            "csrf": session["csrf"],
            "flash": flash,
            **context,
        },
        status_code=status_code,
    )


def signed_in(request: Request, runner: RunnerDep) -> Principal:
    """The principal of this browser's live inbox session; anyone else is sent to sign in.

    A plain function, so FastAPI runs it off the event loop; it uses a short session of its own
    so that the lookup holds no database connection for the rest of the request.
    """
    raw_id = request.session.get("sid")
    try:
        if not isinstance(raw_id, str):
            raise Unauthorized("sign in first")
        with session_scope(runner.engine) as db:
            return inbox_sessions.resolve(db, raw_id)
    except Unauthorized:
        request.session.pop("sid", None)
        raise


Viewer = Annotated[Principal, Depends(signed_in)]


def check_csrf(request: Request, csrf: Annotated[str, Form()]) -> None:
    if not same_origin(request):
        raise Forbidden("this form was sent from another site")
    expected = request.session.get("csrf", "")
    if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
        raise Forbidden("the form expired: reload the page and try again")


Csrf = Depends(check_csrf)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as text fields: a revision's weight_<code> fields are not known ahead.

    Reading the body is the only awaiting; everything after it runs in the threadpool.
    """
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _start_over(request: Request) -> None:
    """Empty the cookie but keep its language (sign-in and sign-out both start afresh)."""
    lang = _lang(request)
    request.session.clear()
    request.session["lang"] = lang


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return render(request, "login.html", None)


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request, db: SessionDep, runner: RunnerDep, token: Annotated[str, Form()]
) -> Response:
    try:
        # Failed sign-ins count per address, as the API's bad tokens do: others' bad tries from
        # the same address (a firm's NAT) never refuse a right token.
        principal = authenticate_counting_failures(
            request, db, token.strip(), request.app.state.sign_ins
        )
    except RateLimited as exc:
        response = render(request, "login.html", None, status_code=429, retry=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized:
        request.session["flash"] = "bad_token"
        return RedirectResponse("/inbox/login", status_code=303)
    previous = request.session.get("sid")
    if isinstance(previous, str):
        inbox_sessions.end(db, previous)
    sid = inbox_sessions.start(db, principal, runner.settings.inbox_session_hours)
    _start_over(request)
    request.session.update(sid=sid, csrf=secrets.token_urlsafe(24))
    target = "/inbox/evals" if principal.role == "engineer" else "/inbox"
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, db: SessionDep) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        inbox_sessions.end(db, sid)  # every copy of this cookie is signed out with it
    _start_over(request)
    return RedirectResponse("/inbox/login", status_code=303)


@router.get("/lang")
def switch_language(request: Request, to: str, back: str = "/inbox") -> Response:
    if to in LANGS:
        request.session["lang"] = to
    return RedirectResponse(inbox_path(back), status_code=303)


def _duration(hours: float, t: Words) -> str:
    """A span as the queue says it: minutes under an hour, hours under two days, then days."""
    minutes = max(0, int(hours * 60))
    if minutes < 60:
        return t("span_minutes").format(n=minutes)
    if minutes < 48 * 60:
        return t("span_hours").format(n=minutes // 60)
    return t("span_days").format(d=minutes // 1440, h=minutes % 1440 // 60)


def _target_hours(hours: float, t: Words) -> str:
    return t("span_hours").format(n=_number(hours))


def _waiting(created: datetime, now: datetime, target_hours: float, t: Words) -> dict[str, str]:
    """How long a review has waited against the review-time target: in words, as a share of
    the target (the bar), and, once past it, by how much (empty before)."""
    hours = max(0.0, (now - created).total_seconds() / 3600)
    over = hours - target_hours
    return {
        "text": t("waited_of").format(
            waited=_duration(hours, t), target=_target_hours(target_hours, t)
        ),
        "share": f"{min(hours / target_hours, 1.0):.3f}",
        "late": t("past_target").format(over=_duration(over, t)) if over > 0 else "",
    }


def _pager(here: dict[str, str], page: review_queue.QueuePage, paged: bool) -> dict[str, str]:
    """Links to the first page (once away from it) and the pages beside this one."""

    def link(**cursor: str) -> str:
        return "/inbox?" + urlencode({k: v for k, v in {**here, **cursor}.items() if v})

    return {
        "first": link() if paged else "",
        "previous": link(before=page.previous) if page.previous else "",
        "next": link(after=page.next) if page.next else "",
        **{f"sort_{s}": link(sort=s) for s in get_args(review_queue.QueueSort)},
    }


@router.get("", response_class=HTMLResponse)
def queue(
    request: Request,
    db: SessionDep,
    runner: RunnerDep,
    me: Viewer,
    tier: Tier | Literal[""] = "",
    level: RiskLevel | Literal[""] = "",
    verdict: Verdict | Literal[""] = "",
    sort: review_queue.QueueSort = "waited",
    size: Annotated[int, Query(ge=1, le=review_queue.MAX_PAGE_SIZE)] = review_queue.PAGE_SIZE,
    after: Annotated[str | None, Query(max_length=400)] = None,
    before: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The pending reviews a page at a time (keyset cursors `after`/`before`), sorted by
    waiting time (oldest first), risk (highest first) or verdict (most severe first); an
    unknown sort, filter, size or cursor is refused (422), never silently replaced."""
    if me.role not in ("advisor", "supervisor"):
        return RedirectResponse("/inbox/evals", status_code=303)
    target, now = runner.settings.review_target_hours, utcnow()
    filters = {"tier": tier, "level": level, "verdict": verdict}
    wanted = review_queue.QueueQuery(
        sort, size, after, before, tier=tier or None, level=level or None, verdict=verdict or None
    )
    page = review_queue.queue_page(db, me, wanted, overdue_before=now - timedelta(hours=target))
    t: Words = translator(_lang(request))
    here = {**filters, "sort": sort, "size": str(size) if size != review_queue.PAGE_SIZE else ""}
    if page.rows:
        _measure_stale(runner, db)
    watching = me.role == "supervisor" or me.on_duty  # the duty pool's reviews are theirs
    since = now - timedelta(hours=target)
    return render(
        request,
        "queue.html",
        me,
        pool=review_queue.pool_counts(db, since) if watching else None,
        page=page,
        rows=[{"r": r, "waiting": _waiting(r.created_at, now, target, t)} for r in page.rows],
        breached=outcomes.breached_clients(db, [r.client_id for r in page.rows]),
        filters=filters,
        sort=sort,
        target=_target_hours(target, t),
        links=_pager(here, page, paged=bool(after or before)),
    )


def _allocation_bars(plan: dict[str, Any], snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    current, target = _current_weights(snapshot), _plan_weights(plan)
    codes = sorted(set(target) | set(current), key=lambda c: (-target.get(c, 0), c))
    return [
        {"code": c, "target": target.get(c, 0.0), "current": current.get(c, 0.0)} for c in codes
    ]


def _current_weights(snapshot: dict[str, Any]) -> dict[str, float]:
    """The client's holdings as shares of their assets (what is not held in a product is cash)."""
    aum = snapshot.get("aum") or 1.0
    current: dict[str, float] = {}
    for h in snapshot.get("holdings", []):
        current[h["product_code"]] = current.get(h["product_code"], 0.0) + h["market_value"] / aum
    return current


def _plan_weights(plan: dict[str, Any] | None) -> dict[str, float]:
    return {h["product_code"]: h["weight"] for h in (plan or {}).get("holdings", [])}


def _points(change: float) -> str:
    """A change in percentage points, signed; nothing for no change."""
    return "" if abs(change) < 5e-5 else f"{change * 100:+.1f}"


def _weight_changes(
    plan: dict[str, Any], snapshot: dict[str, Any], last: review_queue.DeliveredPlan | None
) -> dict[str, Any]:
    """Per product: the client's weight now, in the plan last delivered to them (if any), in
    this plan, and the changes this plan makes against each; a totals row last."""
    current, proposed = _current_weights(snapshot), _plan_weights(plan)
    earlier = _plan_weights(last.plan) if last else {}
    codes = sorted(
        set(current) | set(proposed) | set(earlier),
        key=lambda c: (-proposed.get(c, 0.0), -current.get(c, 0.0), c),
    )

    def row(code: str, now: float, before: float, after: float) -> dict[str, str]:
        return {
            "code": code,
            "current": _percent(now),
            "last": _percent(before) if last else "",
            "proposed": _percent(after),
            "vs_current": _points(after - now),
            "vs_last": _points(after - before) if last else "",
        }

    rows = [row(c, current.get(c, 0.0), earlier.get(c, 0.0), proposed.get(c, 0.0)) for c in codes]
    totals = row("", sum(current.values()), sum(earlier.values()), sum(proposed.values()))
    return {"rows": rows, "totals": totals, "last": last}


def _word(t: Words, key: str, fallback: str) -> str:
    """The inbox's word for a code, or the code itself for one it does not know."""
    return t(key) if key in WORDS else fallback


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _target(wish: dict[str, Any], market: MarketData, lang: str) -> str:
    """What a wish names: a product's code and name, or a theme's name."""
    target, kind = str(wish.get("target", "")), str(wish.get("kind"))
    name = target_name(kind, target, market, lang)
    return f"{target} {name}" if kind == "product" and name != target else name


def _rated(codes: list[str], market: MarketData, lang: str) -> list[str]:
    """Products with their risk ratings, for a wish routed above the client's level."""
    out = []
    for code in codes:
        p = market.products.get(code)
        out.append(f"{code} {p.name(lang)} ({p.risk_rating.value})" if p else code)
    return out


def _cash_need(need: dict[str, Any], t: Words) -> str:
    amount, months = need.get("amount"), need.get("within_months")
    parts = [t("cash_need").format(amount=_number(amount)) if amount else t("cash_need_any")]
    if months:
        parts.append(t("cash_within").format(months=_number(months)))
    return " · ".join(parts)


def _request_section(
    approval: Approval, run: dict[str, Any], market: MarketData, lang: str
) -> dict[str, Any] | None:
    """The client's request as the plan page shows it, every figure formatted here: their masked
    words, each wish with the rules' route, cash needs, what was not understood, the warnings in
    the advisor's language, and what the request changed in this plan. None without a request."""
    stored = approval.request or {}
    text = stored.get("text") or run.get("request")
    if not text:
        return None
    t: Words = translator(lang)
    review = stored.get("review") or {}
    intent = review.get("intent") or run.get("intent") or {}
    routes = review.get("routes")
    if routes is None:  # read, but not routed (or not yet read): the wishes without a route
        routes = [{"wish": w, "route": None, "above": []} for w in intent.get("wishes", [])]
    wishes = []
    for r in routes:
        wish, route = r["wish"], r.get("route") or "unknown"
        amount = wish.get("amount")
        wishes.append(
            {
                "direction": _word(t, f"dir_{wish.get('direction')}", str(wish.get("direction"))),
                "target": _target(wish, market, lang),
                "share": " · ".join(
                    x
                    for x in (
                        _percent(wish.get("share")),
                        t("cash_need").format(amount=_number(amount)) if amount else "",
                    )
                    if x
                ),
                "phrase": wish.get("phrase", ""),
                "route": route,
                "route_label": _word(t, f"route_{route}", route),
                "above": _rated(list(r.get("above") or []), market, lang),
            }
        )
    shaping = (approval.plan or {}).get("request") or {}
    outcomes = [
        {
            "direction": _word(t, f"dir_{o['wish'].get('direction')}", ""),
            "target": _target(o["wish"], market, lang),
            "before": _percent(o.get("before")),
            "after": _percent(o.get("after")),
            "done": o.get("done", ""),
            "done_label": _word(t, f"done_{o.get('done')}", str(o.get("done", ""))),
            "reason": _word(t, f"reason_{o['reason']}", o["reason"]) if o.get("reason") else "",
        }
        for o in shaping.get("wishes", [])
    ]
    risk = intent.get("risk")
    horizon = intent.get("horizon_years")
    return {
        "text": text,
        "wishes": wishes,
        "cash_needs": [_cash_need(n, t) for n in intent.get("cash_needs", [])],
        "horizon": t("request_horizon").format(years=_number(horizon)) if horizon else "",
        "risk": _word(t, f"risk_{risk}", str(risk)) if risk else "",
        "risk_done": _word(t, f"done_{shaping['risk']}", "") if shaping.get("risk") else "",
        "not_understood": list(intent.get("not_understood", [])),
        "readers": [_word(t, f"reader_{x}", x) for x in intent.get("readers", [])],
        "warnings": [
            {"rule_id": w.get("rule_id", ""), "text": w.get(lang) or w.get("en", "")}
            for w in review.get("warnings", [])
        ],
        "outcomes": outcomes,
        "volatility": (
            (_percent(shaping["volatility_before"]), _percent(shaping["volatility_after"]))
            if outcomes and "volatility_before" in shaping
            else None
        ),
    }


def _outcome(approval: Approval, status: str, latest_id: str | None) -> str:
    """The flash for a decision that has taken effect, from where the run is now."""
    if status in ("delivered", "rejected"):
        return status
    if approval.action == "revise" and status == "awaiting_approval" and latest_id != approval.id:
        return "revised"
    return "not_done"  # e.g. blocked at the delivery gate, or failed: the page shows which


def _measure_stale(runner: Runner, db: Session) -> measuring.Refreshed:
    """Stored outcomes brought up to the latest prices before a page reads them, when only a
    few are stale (new deliveries); after a price import the API's background refresher
    measures them, and the page answers from the stored figures meanwhile. The page's own
    session ends its read first, so a request thread never holds two connections."""
    db.commit()
    return measuring.catch_up(runner.engine, runner.market, runner.settings)


def _signed(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:+.1f}%"


def _last_outcome(
    db: Session, runner: Runner, run: Run, last: review_queue.DeliveredPlan | None
) -> Outcome | None:
    """The outcome of the client's last delivered plan: this run's once it is delivered, else
    the one delivered before it (measured on the latest prices first)."""
    run_id = run.id if run.status == "delivered" else last.run_id if last else None
    if run_id is None:
        return None
    _measure_stale(runner, db)
    return outcomes.get(db, run_id)


def _portfolio(name: str, figures: dict[str, Any], annualised: bool) -> dict[str, str]:
    """One portfolio's outcome as the plan page shows it (no annualised figure under a year)."""
    missing = figures.get("missing") or []
    return {
        "name": name,
        "return": _signed(figures.get("return")),
        "annualised": _signed(figures.get("annualised_return")) if annualised else "",
        "volatility": _percent(figures.get("volatility")) or "—",
        "drawdown": _percent(figures.get("max_drawdown")) or "—",
        "coverage": _percent(figures.get("coverage")),
        "missing": ", ".join(f"{m['code']} ({_percent(m['weight'])})" for m in missing),
    }


def _outcome_view(db: Session, row: Outcome | None, lang: str) -> dict[str, Any] | None:
    """A delivered plan's stored outcome, every figure formatted here, with the disclosure. A
    breach is flagged only while the plan is the client's latest: a plan delivered since has
    replaced it, and the page says so."""
    if row is None:
        return None
    replaced = outcomes.superseded(db, row)
    t: Words = translator(lang)
    doc = row.figures
    annualised = bool(doc.get("annualised"))
    plan = doc.get("plan") or {}
    shown = [_portfolio(t("outcome_plan"), plan, annualised)] if plan else []
    for name, figures in (doc.get("baselines") or {}).items():
        shown.append(_portfolio(t(f"baseline_{name}"), figures, annualised))
    excess, cash = doc.get("excess") or {}, doc.get("cash_yield")
    return {
        "run_id": row.run_id,
        "period": t("outcome_period").format(start=doc["from"], end=doc["to"], n=doc["months"]),
        "annualised": annualised,
        "client_facing": bool(doc.get("client_facing")),
        "unmeasured": doc.get("unmeasured") or "",
        "portfolios": shown,
        "excess": {k: _signed(v) for k, v in excess.items()},
        "drawdown": _percent(plan.get("max_drawdown")) or "—",
        "tolerance": _percent(doc.get("tolerance")),
        "breach": row.breach and not replaced,
        "replaced": replaced,
        "cash_yield": t("cash_yield_note").format(
            rate=_percent(cash["rate"]), basis=cash["basis"], codes=", ".join(cash["codes"])
        )
        if cash
        else "",
        "disclosure": measuring.disclosure(lang),
    }


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
def plan_page(
    request: Request,
    approval_id: str,
    db: SessionDep,
    runner: RunnerDep,
    me: Viewer,
    follow: bool = False,
) -> Response:
    """The plan under review. After a decision (`follow`), the page refreshes itself while the
    run carries on from it, then goes to where it ended (a revision's new review) and says how."""
    approval = approvals.visible(db, me, approval_id)
    run = runs.get(db, approval.run_id)
    view = run_view(db, run)
    latest = approvals.latest_for_run(db, run.id)
    latest_id = latest.id if latest else None
    # Decided, and the run has neither ended nor settled on a newer review: still resuming.
    resuming = (
        approval.status != "pending"
        and run.status not in FINAL_STATUSES
        and (latest_id == approval.id or run.status != "awaiting_approval")
    )
    if follow and approval.status != "pending" and not resuming:
        if me.name == approval.decided_by:  # the outcome is news to the one who decided
            request.session["flash"] = _outcome(approval, run.status, latest_id)
        return RedirectResponse(f"/inbox/approvals/{latest_id or approval.id}", status_code=303)
    # A resume lost with its server is the sweeper's, within a lease and a sweep: the page stops
    # refreshing itself well after that and says so, rather than refresh for ever.
    s = runner.settings
    patience = timedelta(seconds=3 * (s.lease_seconds + s.sweep_interval_seconds))
    decided_at = approval.decided_at
    overdue = decided_at is not None and as_utc(decided_at) + patience < utcnow()
    months = runner.settings.compliance.assessment_valid_months
    pending = approval.status == "pending"
    changes = client_changes.blockers(db, run, date.today(), months) if pending else []
    last = review_queue.last_delivered(db, run)
    lang = _lang(request)
    letter = letters.for_review(db, run, approval)
    return render(
        request,
        "plan.html",
        me,
        approval=approval,
        run=view,
        snapshot={**run.client_snapshot, "name": clients.shown_name(run.client_snapshot)},
        bars=_allocation_bars(approval.plan, run.client_snapshot),
        weights=_weight_changes(approval.plan, run.client_snapshot, last),
        outcome=_outcome_view(db, _last_outcome(db, runner, run, last), lang),
        shelf=runner.market.products,
        events=audit.events(db, run.id),
        chain=audit.verify(db, run.id),
        latest_id=latest_id,
        resuming=resuming and not overdue,
        overdue=resuming and overdue,
        can_decide=me.role == "advisor" and pending and not approvals.in_pool(approval),
        # A duty-pool review is claimed first, by an advisor on duty; then it is theirs.
        can_claim=me.role == "advisor" and me.on_duty and approvals.in_pool(approval),
        changes=changes,
        asked=_request_section(approval, view, runner.market, lang),
        # What the client receives, in the client's language whatever the inbox's.
        letter=letter_body(letter, firm_name(s, letter.locale)) if letter else None,
        letter_style=STYLE if letter else None,
        letter_signed=letter is not None and letter.signature is not None,
        # A revision has since put another plan (and letter) before the client.
        letter_replaced=(run.compliance or {}).get("plan_hash") not in (None, approval.plan_hash),
    )


def _weights(form: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in form.items():
        if key.startswith("weight_") and str(value).strip():
            try:
                percent = float(str(value))
            except ValueError as exc:
                raise InvalidDecision(f"{key[7:]}: {value!r} is not a number") from exc
            if percent:
                out[key[7:]] = round(percent / 100, 6)
    return out


def _record(runner: Runner, approval_id: str, decision: dict[str, Any]) -> tuple[str, str | None]:
    """Record the decision; the flash message (and detail) it leaves. The run carries on from it
    in the background, so what it ends in is not known yet: the plan page follows it."""
    try:
        runner.record_decision(approval_id, decision)
    except PlanHashMismatch:
        return "stale", None
    except ApprovalAlreadyDecided:
        return "decided", None
    except PlanNotApprovable:
        return "not_approvable", None
    except TierwiseError as exc:
        return "error", exc.detail
    return f"recorded_{decision['action']}", None


# A plain function: FastAPI runs it in its threadpool, so its database work never holds the
# event loop that serves everyone else; the graph's resume (model calls included) runs on the
# executor for resumes.
@router.post("/approvals/{approval_id}/decide", dependencies=[Csrf])
def decide(
    request: Request, approval_id: str, runner: RunnerDep, me: Viewer, form: FormFields
) -> Response:
    with session_scope(runner.engine) as db:
        run_id = approvals.visible(db, me, approval_id).run_id
    action = form.get("action", "")
    decision: dict[str, Any] = {
        "action": action,
        "plan_hash": form.get("plan_hash", ""),
        "advisor": me.name,
        "comment": form.get("comment") or None,
    }
    try:
        if action == "revise":
            decision["weights"] = _weights(form)
        message, detail = _record(runner, approval_id, decision)
    except InvalidDecision as exc:
        message, detail = "error", exc.detail
    if detail is not None:
        request.session["flash_detail"] = detail
    request.session["flash"] = message
    if message.startswith("recorded_"):
        # To this process's resume pool, or the task engine's queue. If neither takes it (the
        # server is stopping, the broker is out of reach), the decision is committed all the
        # same, and a sweep resumes the run once it has been quiet for a lease.
        request.app.state.engine.resume(approval_id)
        # The plan page follows the run until the decision has taken effect, then says how.
        return RedirectResponse(f"/inbox/approvals/{approval_id}?follow=1", status_code=303)
    with session_scope(runner.engine) as db:
        latest = approvals.latest_for_run(db, run_id)
    return RedirectResponse(
        f"/inbox/approvals/{latest.id if latest else approval_id}", status_code=303
    )


@router.get("/evals", response_class=HTMLResponse)
def eval_reports(request: Request, db: SessionDep, me: Viewer) -> Response:
    if me.role not in ("engineer", "supervisor"):
        raise Forbidden("eval reports are for engineers and supervisors")
    return render(request, "evals.html", me, rows=evals.recent(db, 50))
