"""Inbox hardening: sign-in limits (and the API's, per address, which only a trusted proxy may
name), no redirect off-site, security headers, same-origin forms."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest
from apihelp import auth
from fastapi import FastAPI
from fastapi.testclient import TestClient
from inboxhelp import Waiting, approval_status, csrf_in, sign_in
from limits import parse
from live import client_limits, serve

from api import errors
from api.app import create_app
from api.web.security import HEADERS, InboxSecurityHeaders
from core.settings import Settings

EVIL = "evil.example"


def test_failed_sign_ins_are_limited_per_address_and_a_right_token_still_signs_in(
    settings: Settings, staff: dict[str, str]
) -> None:
    """Others' bad tries from one address (a firm's NAT) never refuse a right token from it;
    bad tries past the limit get 429 and the page says when to retry."""
    limited = settings.model_copy(update={"sign_in_limit": "3/minute"})
    allowed = parse(limited.sign_in_limit).amount
    with TestClient(create_app(limited), follow_redirects=False) as inbox:
        csrf = csrf_in(inbox.get("/inbox/login").text)
        for _ in range(allowed):
            wrong = inbox.post("/inbox/login", data={"token": "tw_guess", "csrf": csrf})
            assert wrong.headers["location"] == "/inbox/login"
        right = inbox.post("/inbox/login", data={"token": staff["adv-li"], "csrf": csrf})
        assert right.headers["location"] == "/inbox"  # the address is past its limit
        csrf = csrf_in(inbox.get("/inbox").text)
        inbox.post("/inbox/logout", data={"csrf": csrf})

        csrf = csrf_in(inbox.get("/inbox/login").text)
        over = inbox.post("/inbox/login", data={"token": "tw_guess", "csrf": csrf})
        assert over.status_code == 429
        wait = int(over.headers["Retry-After"])
        assert 1 <= wait <= 60
        assert f"登录尝试次数过多，请 {wait} 秒后重试" in over.text  # the login page, told why
        assert 'name="token"' in over.text
        assert inbox.get("/inbox").headers["location"] == "/inbox/login"  # not signed in
        inbox.get("/inbox/lang", params={"to": "en", "back": "/inbox/login"})
        again = inbox.post("/inbox/login", data={"token": "tw_guess", "csrf": csrf})
        assert again.status_code == 429 and "Too many sign-in attempts: retry in" in again.text
        right = inbox.post("/inbox/login", data={"token": staff["sup-zhao"], "csrf": csrf})
        assert right.headers["location"] == "/inbox"


def forwarded(i: int) -> dict[str, str]:
    """A new X-Forwarded-For each time, as a caller rotating it to pass for many would send."""
    return {"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"}


def bad_tries(http: httpx.Client, count: int, via: Callable[[int], dict[str, str]]) -> list[int]:
    """`count` bad tokens on the API, then `count` bad sign-ins on the inbox: their codes."""
    codes = [
        http.get("/v1/products", headers={**auth(f"tw_guess_{i}"), **via(i)}).status_code
        for i in range(count)
    ]
    csrf = csrf_in(http.get("/inbox/login").text)
    for i in range(count):
        form = {"token": f"tw_guess_{i}", "csrf": csrf}
        codes.append(http.post("/inbox/login", data=form, headers=via(i)).status_code)
    return codes


def sign_in_over_tls(http: httpx.Client, base: str, token: str) -> int:
    """A sign-in as a TLS proxy forwards one: the browser's Origin is https, the hop is http."""
    headers = {"X-Forwarded-Proto": "https", "Origin": base.replace("http:", "https:", 1)}
    csrf = csrf_in(http.get("/inbox/login").text)
    form = {"token": token, "csrf": csrf}
    return http.post("/inbox/login", data=form, headers=headers).status_code


def per_address(settings: Settings, limit: int, **update: object) -> Settings:
    rate = f"{limit}/minute"
    return settings.model_copy(update={"auth_failure_limit": rate, "sign_in_limit": rate, **update})


def test_x_forwarded_for_from_loopback_escapes_no_per_address_limit(settings: Settings) -> None:
    """No proxy is trusted by default, loopback included: a rotated X-Forwarded-For is ignored,
    so every bad token and sign-in counts against the caller's own address."""
    allowed = 3
    limited = per_address(settings, allowed)
    with (
        serve(create_app(limited), limited) as base,
        httpx.Client(base_url=base, limits=client_limits(limited)) as http,
    ):
        codes = bad_tries(http, allowed + 2, forwarded)
        assert sign_in_over_tls(http, base, "tw_guess") == 403  # the scheme is still http
    assert codes == [401] * allowed + [429, 429] + [303] * allowed + [429, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_and_scheme_are_the_clients(
    settings: Settings, staff: dict[str, str]
) -> None:
    """From a proxy in TIERWISE_TRUSTED_PROXIES, each forwarded address has limits of its own,
    and a form the browser sent over TLS is same-origin."""
    allowed = 3
    limited = per_address(settings, allowed, trusted_proxies=("127.0.0.0/8",))
    with (
        serve(create_app(limited), limited) as base,
        httpx.Client(base_url=base, limits=client_limits(limited)) as http,
    ):
        one = bad_tries(http, allowed + 1, lambda _: {"X-Forwarded-For": "198.51.100.7"})
        other = bad_tries(http, allowed, lambda _: {"X-Forwarded-For": "198.51.100.8"})
        assert sign_in_over_tls(http, base, staff["adv-li"]) == 303
    assert one == [401] * allowed + [429] + [303] * allowed + [429]
    assert other == [401] * allowed + [303] * allowed


@pytest.fixture
def evil_requests(
    staff: dict[str, str], waiting: Waiting
) -> list[tuple[str, str, dict[str, str] | None]]:
    """Every inbox path and form, with trailing-slash variants and hostile `back` targets."""
    backs = [
        f"//{EVIL}",
        f"https://{EVIL}",
        f"/inbox\\{EVIL}",
        f"/inbox\\\\{EVIL}",
        "/inbox/../..",
        f"/inbox/../../{EVIL}",
        f"/inbox/\r\nLocation: https://{EVIL}",
        f"/inbox/%2F%2F{EVIL}",
        f"/inbox@{EVIL}",
        f"/inbox.{EVIL}",
        f"/\t/{EVIL}",
    ]
    plan = f"/inbox/approvals/{waiting.approval_id}"
    gets = ["/inbox", "/inbox/", "/inbox/login", "/inbox/login/", "/inbox/evals", "/inbox/evals/"]
    gets += [plan, f"{plan}/", "/inbox/lang?to=en", "/inbox/lang/?to=en", "/inbox//evil.example"]
    gets += [f"/inbox/lang?to=en&back={quote(b, safe='')}" for b in backs]
    posts = [  # each is sent with the session's current CSRF token
        ("/inbox/login", {"token": staff["adv-li"]}),
        ("/inbox/login/", {"token": staff["adv-li"]}),
        ("/inbox/login", {"token": "wrong"}),
        (f"{plan}/decide", {"plan_hash": "stale", "action": "approve"}),
        (f"{plan}/decide/", {"plan_hash": "stale", "action": "approve"}),
        ("/inbox/logout", {}),
        ("/inbox/logout/", {}),
    ]
    return [("GET", url, None) for url in gets] + [("POST", url, form) for url, form in posts]


@pytest.mark.parametrize("signed", [False, True])
def test_no_inbox_redirect_leaves_the_site_whatever_the_host_header(
    inbox: TestClient,
    staff: dict[str, str],
    waiting: Waiting,
    evil_requests: list[tuple[str, str, dict[str, str] | None]],
    signed: bool,
) -> None:
    redirects = []
    for method, url, form in evil_requests:
        if signed:
            sign_in(inbox, staff["adv-li"])
        if form is not None:
            form = {**form, "csrf": csrf_in(inbox.get("/inbox/login").text)}
        response = inbox.request(method, url, data=form, headers={"Host": EVIL})
        assert response.status_code != 307, url  # no trailing-slash redirect built from Host
        location = response.headers.get("location")
        if location is None:
            continue
        redirects.append((method, url.split("?")[0], location))
        assert EVIL not in location, (url, location)
        assert location.startswith("/") and not location.startswith("//"), (url, location)
        assert "\\" not in location and "%5C" not in location.upper(), (url, location)
        assert ":" not in location.split("?")[0], (url, location)
    # The forms really ran (a refused form would redirect nowhere and prove nothing).
    assert ("POST", "/inbox/logout", "/inbox/login") in redirects
    assert ("POST", "/inbox/login", "/inbox") in redirects
    if signed:
        plan = f"/inbox/approvals/{waiting.approval_id}"
        assert ("POST", f"{plan}/decide", plan) in redirects  # a stale plan: back to it


@pytest.mark.parametrize(
    ("back", "location"),
    [
        ("/inbox", "/inbox"),
        ("/inbox/evals", "/inbox/evals"),
        ("/inbox/approvals/A-123_x", "/inbox/approvals/A-123_x"),
        ("/inbox?tier=T2&level=C3", "/inbox?tier=T2&level=C3"),
        ("/inbox/../..", "/inbox"),
        ("/inbox\\evil", "/inbox"),
        ("/inboxes", "/inbox"),
        ("/inbox/\n", "/inbox"),
        ("/inbox?x=1\n", "/inbox"),
        ("https://evil.example/inbox", "/inbox"),
    ],
)
def test_the_language_switch_goes_back_only_to_plain_inbox_paths(
    inbox: TestClient, back: str, location: str
) -> None:
    response = inbox.get("/inbox/lang", params={"to": "en", "back": back})
    assert response.status_code == 303 and response.headers["location"] == location


def assert_hardened(response: object, what: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (what, name, headers.get(name))


def test_every_inbox_response_carries_the_security_headers(
    inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    csrf = csrf_in(inbox.get("/inbox/login").text)
    responses = {
        "login page": inbox.get("/inbox/login"),
        "sign-in first": inbox.get("/inbox"),
        "no such page": inbox.get("/inbox/nowhere"),
        "trailing slash": inbox.get("/inbox/"),
        "wrong method": inbox.put("/inbox/login"),
        "expired form": inbox.post("/inbox/login", data={"token": "x", "csrf": "forged"}),
        "missing form field": inbox.post("/inbox/login", data={"csrf": csrf}),
        "bad token": inbox.post("/inbox/login", data={"token": "x", "csrf": csrf}),
        "signed in": sign_in(inbox, staff["adv-li"]),
        "queue": inbox.get("/inbox"),
        "plan": inbox.get(f"/inbox/approvals/{waiting.approval_id}"),
        "unknown plan": inbox.get("/inbox/approvals/nope"),
        "forbidden": inbox.get("/inbox/evals"),
        "language": inbox.get("/inbox/lang?to=en"),
    }
    assert responses["plan"].status_code == 200 and responses["unknown plan"].status_code == 404
    for what, response in responses.items():
        assert_hardened(response, what)
    assert "content-security-policy" not in inbox.get("/healthz").headers  # the JSON API


def test_an_inbox_crash_is_answered_with_the_headers_too() -> None:
    app = FastAPI()
    errors.install(app)
    app.add_middleware(InboxSecurityHeaders)

    @app.get("/inbox/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        crashed = client.get("/inbox/boom")
    assert crashed.status_code == 500 and crashed.json()["error"] == "InternalError"
    assert_hardened(crashed, "crash")


def _decide(
    inbox: TestClient,
    staff: dict[str, str],
    waiting: Waiting,
    headers: dict[str, str],
    **fields: str,
) -> tuple[str, httpx.Response]:
    """Sign adv-li in, then post a decision on the waiting plan with these headers; returns the
    page's CSRF token and the answer."""
    sign_in(inbox, staff["adv-li"])
    csrf = csrf_in(inbox.get(f"/inbox/approvals/{waiting.approval_id}").text)
    form = {"csrf": csrf, "plan_hash": waiting.plan_hash, **fields}
    url = f"/inbox/approvals/{waiting.approval_id}/decide"
    return csrf, inbox.post(url, data=form, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": f"http://{EVIL}"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Origin": "http://testserver:8080"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_origin_decision_is_refused_even_with_the_csrf_token(
    settings: Settings,
    inbox: TestClient,
    staff: dict[str, str],
    waiting: Waiting,
    headers: dict[str, str],
) -> None:
    csrf, refused = _decide(inbox, staff, waiting, headers, action="approve")
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert approval_status(settings, waiting.approval_id) == "pending"
    login = inbox.post(
        "/inbox/login", data={"token": staff["adv-li"], "csrf": csrf}, headers=headers
    )
    assert login.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "HTTP://TestServer:80"},
        {},  # no Origin: not a browser; the CSRF token alone decides
    ],
)
def test_a_same_origin_decision_goes_through(
    settings: Settings,
    inbox: TestClient,
    staff: dict[str, str],
    waiting: Waiting,
    headers: dict[str, str],
) -> None:
    _, decided = _decide(inbox, staff, waiting, headers, action="reject", comment="wait")
    assert decided.status_code == 303
    assert approval_status(settings, waiting.approval_id) == "rejected"
