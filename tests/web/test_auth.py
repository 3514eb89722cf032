"""The dashboard beyond loopback: only the token's owner controls it (issue 15; web/auth.py, docs/web.md "Access").

The app over the fake Control, with a ``WebAccess``, through Starlette's TestClient: what each kind of
request needs (table), the login form and its cookies, the double-submit CSRF check, the token never in
a URL or a cookie, ``--public-read``, and a Hypothesis property: no request without the token or the
session cookie ever reaches a control endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from meterkast.web.app import create_app
from meterkast.web.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Asked,
    Kind,
    Verdict,
    WebAccess,
    cookies,
    judge,
    kind_of,
)
from tests.web.fake_control import FakeControl

TOKEN = "k7Qn0cJr2m3XbH1vYw9Ztq4LsPaGeUdFiNoRjKxM5E8"
ACCESS = WebAccess(TOKEN)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
BASE = "http://meterkast.test:8000"


def client_for(access: WebAccess, base: str = BASE) -> TestClient:
    return TestClient(create_app(FakeControl(), access=access), base_url=base, follow_redirects=False)


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    with client_for(ACCESS) as test_client:
        yield test_client


def log_in(client: TestClient, token: str = TOKEN) -> None:
    answer = client.post("/login", content=f"token={token}",
                         headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE})
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text


# (method, path, json body), status without credentials, status with the bearer token
REQUESTS = [
    (("POST", "/api/meter/seal/break", None), 401, 200),
    (("POST", "/api/meter/battery/drain", {"fraction": 0.5}), 401, 200),
    (("POST", "/api/clock/jump", {"seconds": 60}), 401, 200),
    (("POST", "/api/faults", {"kind": "p1_crc_error", "value": 0.5}), 401, 200),
    (("POST", "/api/meter/button", {"hold_s": 0.2}), 401, 200),
    (("POST", "/api/cs/consent", {"level": "detailed"}), 401, 200),
    (("GET", "/api/state", None), 401, 200),
    (("GET", "/api/p1/telegrams", None), 401, 200),
    (("GET", "/api/emeter/profiles/hourly", None), 401, 200),
    (("GET", "/api/truth", None), 401, 200),
    (("GET", "/", None), 303, 200),
    (("GET", "/api/openapi.json", None), 200, 200),
    (("GET", "/static/app.js", None), 200, 200),
    (("GET", "/login", None), 200, 200),
]


@pytest.mark.parametrize(("request_", "anonymous", "with_token"), REQUESTS)
def test_what_each_request_needs(guarded: TestClient, request_: tuple[str, str, object], anonymous: int,
                                 with_token: int) -> None:
    method, path, body = request_
    assert guarded.request(method, path, json=body).status_code == anonymous
    assert guarded.request(method, path, json=body, headers=BEARER).status_code == with_token


def test_a_refused_call_changes_nothing_and_says_how_to_get_in(guarded: TestClient) -> None:
    answer = guarded.post("/api/meter/seal/break")
    assert answer.status_code == 401 and answer.json()["error"] == "Unauthorized"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in answer.text
    assert guarded.get("/api/state", headers=BEARER).json()["gas_meter"]["seal_broken"] is False
    assert guarded.post("/api/meter/seal/break", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert guarded.post("/api/meter/seal/break", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert guarded.get("/").headers["location"] == "/login"  # the page sends a browser to the form


def test_the_token_in_a_url_is_refused_even_when_right(guarded: TestClient) -> None:
    for name in ("token", "access_token"):
        answer = guarded.get(f"/api/state?{name}={TOKEN}", headers=BEARER)
        assert answer.status_code == 400 and answer.json()["error"] == "TokenInUrl"
        assert TOKEN not in answer.text


def test_login_sets_cookies_that_hold_no_token(guarded: TestClient) -> None:
    answer = guarded.post("/login", content=f"token={TOKEN}",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303
    set_cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in set_cookies if c.startswith(f"{ACCESS.session_cookie}="))
    csrf = next(c for c in set_cookies if c.startswith(f"{ACCESS.csrf_cookie}="))
    for header in (session, csrf):
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
        assert {"path", "samesite", "max-age"} <= attributes and "samesite=strict" in header.lower()
        assert "secure" not in attributes, "on plain http a browser would drop a Secure cookie"
        assert TOKEN not in header
    assert "httponly" in session.lower() and "httponly" not in csrf.lower()  # the page reads the CSRF value
    assert guarded.cookies[ACCESS.session_cookie] == ACCESS.session_value != TOKEN


def test_over_https_the_cookies_are_secure() -> None:
    with client_for(ACCESS, "https://meterkast.test") as client:
        answer = client.post("/login", content=f"token={TOKEN}",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert all("secure" in c.lower() for c in answer.headers.get_list("set-cookie"))


def test_a_wrong_token_at_the_form_gets_the_form_again(guarded: TestClient) -> None:
    for body in ("token=wrong", "token=", "", "nothing=here", "token=%FF%FE"):
        answer = guarded.post("/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 401 and 'name="token"' in answer.text
        assert "set-cookie" not in answer.headers
    assert guarded.get("/api/state").status_code == 401


def test_the_cookie_reads_but_controls_only_with_the_csrf_header(guarded: TestClient) -> None:
    log_in(guarded)
    assert guarded.get("/api/state").status_code == 200
    assert guarded.get("/").status_code == 200
    refused = guarded.post("/api/meter/seal/break")  # the cookie alone: what a forged cross-site form sends
    assert refused.status_code == 403 and refused.json()["error"] == "CsrfRejected"
    assert guarded.post("/api/meter/seal/break", headers={"X-CSRF-Token": "guessed"}).status_code == 403
    csrf = guarded.cookies[ACCESS.csrf_cookie]
    foreign = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert guarded.post("/api/meter/seal/break", headers=foreign).status_code == 403
    assert guarded.get("/api/state").json()["gas_meter"]["seal_broken"] is False
    done = guarded.post("/api/meter/seal/break", headers={"X-CSRF-Token": csrf, "Origin": BASE})
    assert done.status_code == 200
    assert guarded.get("/api/state").json()["gas_meter"]["seal_broken"] is True


def test_a_forged_csrf_cookie_does_not_help(guarded: TestClient) -> None:
    """Cookies are not isolated by port: a neighbour on the same host can set one. The header must equal
    the value derived from the token, not merely the cookie."""
    log_in(guarded)
    guarded.cookies.set(ACCESS.csrf_cookie, "forged")
    assert guarded.post("/api/meter/seal/break", headers={"X-CSRF-Token": "forged"}).status_code == 403


def test_logout_clears_the_cookies(guarded: TestClient) -> None:
    log_in(guarded)
    answer = guarded.post("/logout")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert all("max-age=0" in c.lower() for c in answer.headers.get_list("set-cookie"))
    assert guarded.get("/api/state").status_code == 401


def test_a_login_posted_from_another_site_is_refused(guarded: TestClient) -> None:
    answer = guarded.post("/login", content=f"token={TOKEN}",
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_a_session_of_another_token_is_not_accepted() -> None:
    with client_for(WebAccess("another-token-of-enough-length-0123456789")) as other:
        log_in(other, "another-token-of-enough-length-0123456789")
        stale = other.cookies[WebAccess("another-token-of-enough-length-0123456789").session_cookie]
    with client_for(ACCESS) as client:
        client.cookies.set(ACCESS.session_cookie, stale)
        assert client.get("/api/state").status_code == 401


def test_public_read_opens_the_views_but_not_the_controls() -> None:
    with client_for(WebAccess(TOKEN, public_read=True)) as client:
        assert client.get("/api/state").status_code == 200
        assert client.get("/api/p1/telegrams").status_code == 200
        assert client.get("/").status_code == 200
        assert client.post("/api/meter/seal/break").status_code == 401
        assert client.post("/api/meter/seal/break", headers=BEARER).status_code == 200


def test_without_access_nothing_changes(client: TestClient) -> None:
    """On loopback (no WebAccess) the app asks nothing, and has no login route."""
    assert client.post("/api/meter/seal/break").status_code == 200
    assert client.get("/login").status_code == 404


def test_the_token_does_not_show_in_its_repr() -> None:
    assert TOKEN not in repr(ACCESS)


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", "/api/state", Kind.READ), ("HEAD", "/", Kind.READ), ("POST", "/api/faults", Kind.CONTROL),
    ("PUT", "/api/state", Kind.CONTROL), ("DELETE", "/", Kind.CONTROL), ("GET", "/static/style.css", Kind.OPEN),
    ("POST", "/login", Kind.OPEN), ("GET", "/api/openapi.json", Kind.OPEN),
])
def test_kinds(method: str, path: str, kind: Kind) -> None:
    assert kind_of(method, path) is kind


def test_cookie_header_parsing_is_lenient() -> None:
    assert cookies(f'a=1; {SESSION_COOKIE}="x"; junk; =v; {SESSION_COOKIE}=second') == {"a": "1", SESSION_COOKIE: "x"}


header_names = st.sampled_from(["authorization", "cookie", "origin", "x-csrf-token", "host", "x-other"])
header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from([f"Bearer {TOKEN[:-1]}", f"bearer {TOKEN}x", ACCESS.csrf_value,
                     f"{ACCESS.csrf_cookie}={ACCESS.csrf_value}",
                     f"{ACCESS.session_cookie}={ACCESS.session_value[:-1]}", BASE]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
       path=st.sampled_from(["/api/meter/seal/break", "/api/clock/jump", "/api/faults", "/"]),
       headers=st.dictionaries(header_names, header_values, max_size=6))
def test_no_control_call_passes_without_the_token_or_the_session(method: str, path: str,
                                                                 headers: dict[str, str]) -> None:
    """Whatever else a request carries, without the exact token or session value it never gets through."""
    asked = Asked(method, path, headers, frozenset(), BASE)
    assert judge(ACCESS, asked) is not Verdict.ALLOWED
    assert judge(WebAccess(TOKEN, public_read=True), asked) is not Verdict.ALLOWED


def _jar_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def test_two_runs_on_one_host_keep_their_own_sessions() -> None:
    """Cookies are per host, not per port (RFC 6265 §8.5): a browser logged in to two meterkasts on one
    machine (``--http-port 8000`` and ``8001``, each its own token) holds both sessions at once; logging in
    to the second must not log it out of the first. The page sends every CSRF value it holds
    (``static/app.js`` ``accessHeaders``), comma-separated; each app takes its own."""
    other_token = "another-token-of-enough-length-0123456789"
    apps = {8000: (WebAccess(TOKEN), TOKEN), 8001: (WebAccess(other_token), other_token)}
    jar: dict[str, str] = {}  # the browser's cookies for the host meterkast.test, whatever the port
    for port, (access, token) in apps.items():
        with client_for(access, f"http://meterkast.test:{port}") as client:
            answer = client.post("/login", content=f"token={token}",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 303
            jar.update(answer.cookies.items())
    csrf = ",".join(value for name, value in jar.items() if name.startswith(CSRF_COOKIE))
    for port, (access, _) in apps.items():
        with client_for(access, f"http://meterkast.test:{port}") as client:
            headers = {"Cookie": _jar_header(jar), "X-CSRF-Token": csrf}
            assert client.get("/api/state", headers={"Cookie": _jar_header(jar)}).status_code == 200, port
            assert client.post("/api/meter/seal/break", headers=headers).status_code == 200, port
