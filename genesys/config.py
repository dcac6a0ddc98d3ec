"""Where the client's settings come from: the environment, then a .env file, then defaults.

Every limit the reference marks [observed] or [unverified] (page sizes, the paging cap, the
interval cap, the rate per token, how long to honour Retry-After) is a setting here, not a constant
buried in the code. The client secret is held in a `Secret`, whose text form is masked, so it
cannot slip into a message, a log line or a traceback's locals by accident.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .regions import api_url, login_url, region_domain


class Secret:
    """A credential whose repr and str never show it; `reveal()` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_DOTENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*\Z")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines (optionally `export`ed, optionally quoted); # starts a comment line or trailer."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            raise ConfigurationError(f"{path}:{number}: not a KEY=value line")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n")
        else:
            value = re.sub(r"\s+#.*\Z", "", value)
        values[key] = value
    return values


@dataclass(frozen=True)
class Settings:
    """Everything the client needs to reach one org. Seconds are floats; rates are per minute."""

    client_id: str
    client_secret: Secret
    api_url: str
    login_url: str
    connect_timeout: float = 10.0
    read_timeout: float = 120.0           # details pages of 100 conversations can take a while
    requests_per_minute: float = 270.0    # under the 300 per token Genesys gives by default [community]
    max_retry_after: float = 180.0        # the SDKs' cap: longer waits are daily limits, fail instead
    max_rate_limit_waits: int = 20        # consecutive 429s on one call before giving up
    max_retries: int = 5                  # 502/503/504 and connection errors, per call
    backoff_base: float = 1.0             # first back-off; doubles each retry, with full jitter
    backoff_max: float = 60.0
    token_renew_margin: float = 300.0     # renew a token this long before it expires

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env",
                         **overrides) -> Settings:
        """Settings from GENESYS_* variables; a .env file fills in what the environment does not set."""
        values = dict(read_dotenv(Path(env_file))) if env_file and Path(env_file).is_file() else {}
        values.update((name, value) for name, value in (os.environ if environ is None else environ).items() if value)
        get = lambda name: (values.get(name) or "").strip() or None  # noqa: E731 - a local shorthand

        missing = [name for name in ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET") if not get(name)]
        api, login, region = get("GENESYS_API_URL"), get("GENESYS_LOGIN_URL"), get("GENESYS_REGION")
        if bool(api) != bool(login):  # the login host receives the secret: never guess it
            given, other = ("GENESYS_API_URL", "GENESYS_LOGIN_URL") if api else ("GENESYS_LOGIN_URL", "GENESYS_API_URL")
            raise ConfigurationError(
                f"{given} is set but {other} is not: set both (to a proxy or test server), or neither (to use "
                "GENESYS_REGION's hosts); the login host receives the client secret, so it is never guessed")
        for variable, url in (("GENESYS_API_URL", api), ("GENESYS_LOGIN_URL", login)):
            parts = urlsplit(url or "")
            if url and (parts.scheme not in ("http", "https") or not parts.hostname):
                raise ConfigurationError(f"{variable}={url!r} is not an http(s) URL with a host, "
                                         "e.g. https://api.mypurecloud.ie")
        if not api and not region:
            missing.append("GENESYS_REGION")
        if missing:
            raise ConfigurationError(
                f"{' and '.join(missing)} not set: export them or put them in a .env file "
                "(GENESYS_REGION is your org's region, e.g. mypurecloud.ie, eu-west-1 or eu_west_1)")
        if api:
            api, login = api.rstrip("/"), login.rstrip("/")
        else:
            domain = region_domain(region)
            api, login = api_url(domain), login_url(domain)
        numeric = {}
        for spec in fields(cls):
            variable = _VARIABLES.get(spec.name)
            text = get(variable) if variable else None
            if text:
                numeric[spec.name] = _number(spec.name, type(spec.default), text)
        numeric.update({name: value for name, value in overrides.items() if value is not None})
        return cls(client_id=get("GENESYS_CLIENT_ID"), client_secret=Secret(get("GENESYS_CLIENT_SECRET")),
                   api_url=api, login_url=login, **numeric)

    def __post_init__(self):
        for name in _VARIABLES:
            _number(name, type(getattr(type(self), name)), getattr(self, name))


def _number(name: str, kind: type, value) -> float | int:
    """A numeric setting, parsed (from its variable's text) and checked: a ConfigurationError naming the
    variable rather than a ValueError deep in the client (a zero rate, a zero timeout) or a silent
    nonsense (a negative retry count)."""
    variable = _VARIABLES[name]
    shown = f"{variable}={value!r}"
    try:
        number = kind(value) if not isinstance(value, bool) else None
        if number is None or (kind is int and float(value) != number):
            raise ValueError
    except (ValueError, TypeError):
        what = "a whole number" if kind is int and _is_float(value) else "a number"
        raise ConfigurationError(f"{shown} is not {what}") from None
    if not math.isfinite(number):
        raise ConfigurationError(f"{shown} is not a finite number")
    if name in _POSITIVE and number <= 0:
        raise ConfigurationError(f"{shown} must be more than 0 ({_POSITIVE[name]})")
    if number < 0:
        raise ConfigurationError(f"{shown} must be 0 or more")
    return number


def _is_float(value) -> bool:
    try:
        float(value)
    except (ValueError, TypeError):
        return False
    return True


_POSITIVE = {  # settings that cannot be 0, and why
    "connect_timeout": "seconds to wait for a connection",
    "read_timeout": "seconds to wait for an answer",
    "requests_per_minute": "requests a minute per token",
}
_VARIABLES = {  # setting -> environment variable
    "connect_timeout": "GENESYS_CONNECT_TIMEOUT",
    "read_timeout": "GENESYS_READ_TIMEOUT",
    "requests_per_minute": "GENESYS_REQUESTS_PER_MINUTE",
    "max_retry_after": "GENESYS_MAX_RETRY_AFTER",
    "max_rate_limit_waits": "GENESYS_MAX_RATE_LIMIT_WAITS",
    "max_retries": "GENESYS_MAX_RETRIES",
    "backoff_base": "GENESYS_BACKOFF_BASE",
    "backoff_max": "GENESYS_BACKOFF_MAX",
    "token_renew_margin": "GENESYS_TOKEN_RENEW_MARGIN",
}
