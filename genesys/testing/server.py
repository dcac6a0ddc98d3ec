"""A fake Genesys Cloud API on 127.0.0.1: real HTTP, the real paths, shapes and rules.

It serves the login host's token endpoint and the API host's analytics, users and queues
endpoints on one port (point GENESYS_LOGIN_URL and GENESYS_API_URL at it). Like the real
service it checks HTTP Basic auth on the token endpoint and the Bearer token on every API call,
expires tokens (after a number of seconds, or of calls), limits the requests per token (300 a
minute, 429 with Retry-After), refuses calls whose permission the client was not granted,
rejects details-query intervals over 31 days, paging past 100,000 results, unknown aggregate
metrics and dimensions with the API's 400 messages, lists users by `state`, and runs details
jobs through QUEUED -> PENDING -> FULFILLED (or FAILED, CANCELLED, EXPIRED) with cursor pages.
Faults (429 with Retry-After, bursts of 5xx, dropped connections, revoked tokens) come from a
`Faults` object.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from ..intervals import format_instant, parse_instant
from .faults import Faults
from .filters import compile_filters, compile_predicate
from .org import FakeOrg, query_variant

DETAIL = "analytics:conversationDetail:view"
AGENT_DETAIL = "analytics:agentConversationDetail:view"
AGGREGATE = "analytics:conversationAggregate:view"
QUEUE = "routing:queue:view"
ALL_PERMISSIONS = frozenset({DETAIL, AGENT_DETAIL, AGGREGATE, QUEUE})
JOB_STATES = ("FULFILLED", "FAILED", "CANCELLED", "EXPIRED")
USER_STATES = ("active", "inactive", "deleted", "any")


def _aggregate_enums() -> tuple[frozenset, frozenset]:
    """The metrics and groupBy dimensions ConversationAggregationQuery allows, from the field inventory."""
    inventory = json.loads((Path(__file__).resolve().parents[1] / "conversation-fields.json").read_text())
    fields = {spec["name"]: spec for spec in inventory["supportingModels"]["ConversationAggregationQuery"]["fields"]}
    return frozenset(fields["metrics"]["items"]["enum"]), frozenset(fields["groupBy"]["items"]["enum"])


AGGREGATE_METRICS, AGGREGATE_DIMENSIONS = _aggregate_enums()


@dataclass
class FakeOptions:
    """The fake org's limits and behaviour; the [observed]/[unverified] limits of the reference are here."""

    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    permissions: frozenset = ALL_PERMISSIONS
    token_lifetime: int = 86399            # seconds, as expires_in
    token_max_calls: int | None = None     # a token also dies after this many API calls
    max_page_size: int = 100
    paging_cap: int = 100_000              # pageSize x pageNumber
    max_interval_days: int = 31            # the details query's limit [observed]; jobs and aggregates have none
    token_rate_limit: int | None = 300     # requests per token per window [community]: 429 with Retry-After
    token_rate_window: float = 60.0        # seconds; tests shorten it to stay fast
    day_matching: bool = True              # details query: conversations started on a day touched
    job_polls: int = 3                     # polls until a job leaves QUEUED/PENDING
    job_outcome: str = "FULFILLED"
    job_error: str = "Example failure text; the real message is service-defined."
    job_lifetime: float = 2 * 24 * 3600    # seconds from completion to EXPIRED
    job_page_size: int = 1000              # results per page when the client does not say
    lookup_page_size: int = 25
    stall_seconds: float = 1.0             # how late a `stall` fault answers


@dataclass
class Job:
    id: str
    interval: str
    conversations: list
    submitted: datetime
    polls: int = 0
    state: str = "QUEUED"
    completed: datetime | None = None
    completed_at: float | None = None  # monotonic, for expiry


@dataclass
class Token:
    value: str
    expires_at: float
    calls: int = 0
    recent: deque = field(default_factory=deque)  # monotonic times of the calls in the rate window


@dataclass
class Traffic:
    """What the server saw: tests assert on it."""

    calls: Counter = field(default_factory=Counter)           # by "METHOD /path-template"
    statuses: Counter = field(default_factory=Counter)
    tokens_issued: list = field(default_factory=list)        # every access token handed out
    bodies: list = field(default_factory=list)                # (path, parsed JSON body) of POSTs


class FakeGenesys:
    """Start with `start()` (or as a context manager); `url` is then the base for both hosts."""

    def __init__(self, org: FakeOrg, options: FakeOptions | None = None, faults: Faults | None = None,
                 port: int = 0):
        self.org, self.options, self.faults = org, options or FakeOptions(), faults or Faults()
        self.jobs: dict[str, Job] = {}
        self.tokens: dict[str, Token] = {}
        self.traffic = Traffic()
        self.hooks: list[tuple[str, Callable]] = []
        self.lock = threading.RLock()
        self.httpd = _QuietServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def environment(self) -> dict[str, str]:
        """The variables that point `flatten genesys` at this server."""
        return {"GENESYS_CLIENT_ID": self.options.client_id, "GENESYS_CLIENT_SECRET": self.options.client_secret,
                "GENESYS_API_URL": self.url, "GENESYS_LOGIN_URL": self.url}

    def start(self) -> FakeGenesys:
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="fake-genesys", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(5)

    def __enter__(self) -> FakeGenesys:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def on(self, route: str, hook: Callable[[dict | None, dict], tuple | None]) -> None:
        """Call hook(payload, query) before each call to `route` ("POST /api/v2/..."; templates as in
        `routes`): for a test that changes the org between two calls, as a live org does. A hook that
        returns (status, headers, body) answers the call itself: for a payload the org cannot compute."""
        self.hooks.append((route, hook))

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[int, dict, dict | None] | None:
        """(status, headers, JSON body) for one request, or None to drop the connection."""
        parts = urlsplit(target)
        path, query = parts.path, {key: values[-1] for key, values in parse_qs(parts.query).items()}
        fault = self.faults.next(path)
        if fault is not None:
            if fault.kind == "drop":
                return None
            if fault.kind == "revoke":
                self.revoke_tokens()
            elif fault.kind == "stall":
                time.sleep(self.options.stall_seconds)
            elif fault.status == 429:
                return 429, {"Retry-After": str(fault.retry_after)}, _error(
                    429, "too.many.requests.retry.after",
                    f"Rate limit exceeded the maximum. Retry the request in [{fault.retry_after}] seconds")
            else:
                return fault.status, {}, _error(fault.status, "service.unavailable", "The service is unavailable.")
        if path == "/oauth/token":
            return self._token(method, headers, body)
        denied = self._authenticate(headers)
        if denied:
            return denied
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return 400, {}, _error(400, "bad.request", "The request could not be understood: invalid JSON.")
        if method == "POST":
            with self.lock:
                self.traffic.bodies.append((path, payload))
        for route_method, template, handler, needs in self.routes:
            if method != route_method:
                continue
            arguments = _match(template, path)
            if arguments is None:
                continue
            with self.lock:
                self.traffic.calls[f"{method} {template}"] += 1
            for route, hook in self.hooks:
                if route == f"{method} {template}":
                    answer = hook(payload, query)
                    if isinstance(answer, tuple):
                        return answer
            if needs and not needs & self.options.permissions:
                names = " or ".join(sorted(needs))
                return 403, {}, _error(403, "missing.any.permissions",
                                       f"Unable to perform the requested action. You are missing the following "
                                       f"permission(s): {names}")
            try:
                return handler(self, payload=payload, query=query, **arguments)
            except (_BadRequest, ValueError) as error:  # what a real API would call a bad request
                return 400, {}, _error(400, "bad.request", str(error))
        return 404, {}, _error(404, "not.found", f"No resource at {path}.")

    def _token(self, method, headers, body) -> tuple[int, dict, dict]:
        options = self.options
        if method != "POST":
            return 405, {}, {"error": "invalid_request", "description": "POST only",
                             "error_description": "POST only"}
        form = {key: values[-1] for key, values in parse_qs(body.decode("ascii", "replace")).items()}
        expected = base64.b64encode(f"{options.client_id}:{options.client_secret}".encode()).decode()
        if headers.get("Authorization", "") != f"Basic {expected}":
            return 401, {}, {"error": "invalid_client", "description": "client authentication failed",
                             "error_description": "client authentication failed"}
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type", "description": "grant_type must be client_credentials",
                             "error_description": "grant_type must be client_credentials"}
        value = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[value] = Token(value, time.monotonic() + options.token_lifetime)
            self.traffic.tokens_issued.append(value)
        return 200, {}, {"access_token": value, "token_type": "bearer", "expires_in": options.token_lifetime}

    def _authenticate(self, headers) -> tuple[int, dict, dict] | None:
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        with self.lock:
            token = self.tokens.get(value) if scheme.lower() == "bearer" else None
            if token is not None and (time.monotonic() >= token.expires_at or (
                    self.options.token_max_calls is not None and token.calls >= self.options.token_max_calls)):
                del self.tokens[value]
                token = None
            if token is None:
                return 401, {}, _error(401, "authentication.required",
                                       "Authentication failed: the token is missing, expired or revoked.")
            token.calls += 1
            limit, window, now = self.options.token_rate_limit, self.options.token_rate_window, time.monotonic()
            if limit:
                while token.recent and token.recent[0] <= now - window:
                    token.recent.popleft()
                if len(token.recent) >= limit:
                    wait = max(1, math.ceil(token.recent[0] + window - now))
                    return 429, {"Retry-After": str(wait)}, _error(
                        429, "too.many.requests.retry.after",
                        f"Rate limit exceeded the maximum. Retry the request in [{wait}] seconds")
                token.recent.append(now)
        return None

    # -- analytics -----------------------------------------------------------------------------

    def details_query(self, payload, **_):
        options = self.options
        start, end = self._interval(payload, options.max_interval_days)
        paging = payload.get("paging") or {}
        size, number = int(paging.get("pageSize", 25)), int(paging.get("pageNumber", 1))
        if not 1 <= size <= options.max_page_size or number < 1:
            raise _BadRequest(f"pageSize must be between 1 and {options.max_page_size} and pageNumber at least 1.")
        if size * number > options.paging_cap:
            raise _BadRequest(f"Pagination may not exceed {options.paging_cap} results. "
                              "Please narrow the query interval.")
        matches = self.org.query_matches(start, end, options.day_matching)
        wanted = compile_filters(payload)
        if wanted is not None:
            matches = [conversation for conversation in matches if wanted(conversation)]
        if payload.get("order") == "desc":
            matches = matches[::-1]
        page = matches[(number - 1) * size:number * size]
        response = {"totalHits": len(matches)}
        if page:  # past the end the key is absent, as the real API does
            response = {"conversations": [query_variant(conversation) for conversation in page], **response}
        return 200, {}, response

    def availability(self, **_):
        return 200, {}, {"dataAvailabilityDate": format_instant(self._available())}

    def submit_job(self, payload, **_):
        start, end = self._interval(payload)
        matches = self.org.job_matches(start, end)
        wanted = compile_filters(payload)
        if wanted is not None:
            matches = [conversation for conversation in matches if wanted(conversation)]
        if payload.get("order") == "desc":
            matches = matches[::-1]
        job = Job(str(uuid.uuid4()), payload["interval"], matches, datetime.now(UTC))
        with self.lock:
            self.jobs[job.id] = job
        return 202, {}, {"jobId": job.id}

    def job_status(self, job_id, **_):
        job = self._job(job_id)
        if isinstance(job, tuple):
            return job
        with self.lock:
            job.polls += 1
            if job.state in ("QUEUED", "PENDING"):
                if job.polls >= self.options.job_polls:
                    job.state = self.options.job_outcome
                    job.completed, job.completed_at = datetime.now(UTC), time.monotonic()
                elif job.polls > 1:
                    job.state = "PENDING"
            status = {"state": job.state, "submissionDate": format_instant(job.submitted)}
            if job.completed:
                status["completionDate"] = format_instant(job.completed)
            if job.state == "FULFILLED":
                status["expirationDate"] = format_instant(job.completed + timedelta(seconds=self.options.job_lifetime))
            if job.state == "FAILED":
                status["errorMessage"] = self.options.job_error
        return 200, {}, status

    def job_results(self, job_id, query, **_):
        job = self._job(job_id)
        if isinstance(job, tuple):
            return job
        if job.state != "FULFILLED":
            raise _BadRequest(f"The job {job_id} is {job.state}: results are available once it is FULFILLED.")
        size = int(query.get("pageSize", self.options.job_page_size))
        if size < 1:
            raise _BadRequest(f"pageSize must be at least 1, not {size}.")
        offset = 0
        if "cursor" in query:
            try:
                cursor = json.loads(base64.urlsafe_b64decode(query["cursor"].encode()))
                offset = int(cursor["offset"])
                if cursor["job"] != job_id:
                    raise ValueError
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise _BadRequest("The cursor is not valid for this job.") from None
        page = job.conversations[offset:offset + size]
        response = {"conversations": page}
        if offset + size < len(job.conversations):
            response["cursor"] = base64.urlsafe_b64encode(json.dumps(
                {"job": job_id, "offset": offset + size}).encode()).decode()
        response["dataAvailabilityDate"] = format_instant(self._available())
        return 200, {}, response

    def delete_job(self, job_id, **_):
        with self.lock:
            if self.jobs.pop(job_id, None) is None:
                return 404, {}, _error(404, "not.found", f"No job {job_id}.")
        return 204, {}, None

    def aggregates(self, payload, **_):
        start, end = self._interval(payload)
        if not payload.get("metrics"):
            raise _BadRequest("metrics must not be empty.")
        for name, allowed in (("metrics", AGGREGATE_METRICS), ("groupBy", AGGREGATE_DIMENSIONS)):
            values = payload.get(name) or []
            unknown = [value for value in values if value not in allowed] if isinstance(values, list) else [values]
            if unknown:
                raise _BadRequest(f"{name}: {', '.join(repr(value) for value in unknown)} not among the "
                                  f"{len(allowed)} allowed values, e.g. {', '.join(sorted(allowed)[:3])}.")
        predicate = compile_predicate(payload["filter"]) if payload.get("filter") else None
        return 200, {}, self.org.aggregate(payload["interval"], payload["metrics"], payload.get("groupBy") or [],
                                           payload.get("granularity"), predicate)

    def users(self, query, **_):
        state = query.get("state", "active")
        if state not in USER_STATES:
            raise _BadRequest(f"state must be one of {', '.join(USER_STATES)}, not {state!r}.")
        users = [user for user in self.org.users if state == "any" or user.get("state", "active") == state]
        return self._entities("/api/v2/users", users, query)

    def queues(self, query, **_):
        return self._entities("/api/v2/routing/queues", self.org.queues, query)

    # -- helpers --------------------------------------------------------------------------------

    def _interval(self, payload, limit_days: int | None = None) -> tuple[datetime, datetime]:
        """The payload's interval; only the details query limits its length (the reference, 2(a))."""
        if not isinstance(payload, dict) or not payload.get("interval"):
            raise _BadRequest("interval is required.")
        try:
            start, end = (parse_instant(part) for part in payload["interval"].split("/"))
        except ValueError:
            raise _BadRequest(f"The interval {payload['interval']!r} is not a valid ISO-8601 interval.") from None
        if end <= start:
            raise _BadRequest("The interval must end after it starts.")
        if limit_days is not None and end - start > timedelta(days=limit_days):
            raise _BadRequest(f"The query must specify a search interval that does not exceed {limit_days} days.")
        return start, end

    def _available(self) -> datetime:
        return self.org.data_availability or datetime.now(UTC) - timedelta(hours=2)

    def _job(self, job_id):
        with self.lock:
            job = self.jobs.get(job_id)
            if job and job.state == "FULFILLED" and time.monotonic() - job.completed_at > self.options.job_lifetime:
                job.state = "EXPIRED"
        if job is None:
            return 404, {}, _error(404, "not.found", f"No job {job_id}.")
        return job

    def _entities(self, base: str, entities: list, query) -> tuple[int, dict, dict]:
        size = int(query.get("pageSize", self.options.lookup_page_size))
        number = int(query.get("pageNumber", 1))
        if not 1 <= size <= 500 or number < 1:
            raise _BadRequest("pageSize must be between 1 and 500 and pageNumber at least 1.")
        count = max(1, -(-len(entities) // size))
        extra = {key: value for key, value in query.items() if key not in ("pageSize", "pageNumber")}
        uri = lambda page: f"{base}?{urlencode({'pageSize': size, 'pageNumber': page, **extra})}"  # noqa: E731
        listing = {"entities": entities[(number - 1) * size:number * size], "pageSize": size, "pageNumber": number,
                   "total": len(entities), "firstUri": uri(1), "selfUri": uri(number), "lastUri": uri(count),
                   "pageCount": count}
        if number < count:
            listing["nextUri"] = uri(number + 1)
        if number > 1:
            listing["previousUri"] = uri(number - 1)
        return 200, {}, listing

    routes = (
        ("POST", "/api/v2/analytics/conversations/details/query", details_query, {DETAIL, AGENT_DETAIL}),
        ("GET", "/api/v2/analytics/conversations/details/jobs/availability", availability, {DETAIL}),
        ("POST", "/api/v2/analytics/conversations/details/jobs", submit_job, {DETAIL, AGENT_DETAIL}),
        ("GET", "/api/v2/analytics/conversations/details/jobs/{job_id}", job_status, {DETAIL, AGENT_DETAIL}),
        ("GET", "/api/v2/analytics/conversations/details/jobs/{job_id}/results", job_results, {DETAIL, AGENT_DETAIL}),
        ("DELETE", "/api/v2/analytics/conversations/details/jobs/{job_id}", delete_job, {DETAIL, AGENT_DETAIL}),
        ("POST", "/api/v2/analytics/conversations/aggregates/query", aggregates, {AGGREGATE}),
        ("GET", "/api/v2/users", users, set()),
        ("GET", "/api/v2/routing/queues", queues, {QUEUE}),
    )


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a timeout, a test's dropped connection) is not an error worth a traceback."""

    def handle_error(self, request, client_address):
        pass


class _BadRequest(Exception):
    pass


def _error(status: int, code: str, message: str) -> dict:
    """The API's ErrorBody."""
    return {"message": message, "code": code, "status": status, "messageParams": {},
            "contextId": str(uuid.uuid4()), "details": [], "errors": []}


def _match(template: str, path: str) -> dict | None:
    expected, actual = template.strip("/").split("/"), path.strip("/").split("/")
    if len(expected) != len(actual):
        return None
    arguments = {}
    for want, have in zip(expected, actual):
        if want.startswith("{"):
            if have == "availability":  # a fixed path, not a job id
                return None
            arguments[want[1:-1]] = have
        elif want != have:
            return None
    return arguments


def _handler(server: FakeGenesys):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no delayed-ACK stalls

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = server.handle(self.command, self.path, self.headers, body)
            if answer is None:  # a dropped connection
                self.close_connection = True
                return
            status, headers, payload = answer
            with server.lock:
                server.traffic.statuses[status] += 1
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *_args):
            pass

    return Handler
