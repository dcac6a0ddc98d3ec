"""What can go wrong when talking to Genesys Cloud, each a one-line message for the `flatten` command.

They derive from the engine's FlattenError, so the command line prints them as one line and
exits with their code. No message ever carries a secret or a token.
"""

from __future__ import annotations

from flattener import FlattenError


class GenesysError(FlattenError):
    """Base of the Genesys client's errors: a data/runtime failure (exit code 1)."""


class ConfigurationError(GenesysError):
    """Credentials or region missing or malformed: the user must fix the setup (exit code 2)."""

    exit_code = 2


class UsageError(GenesysError):
    """Options the command will not honour as given, found once the stored state is read (exit code 2)."""

    exit_code = 2


class ApiError(GenesysError):
    """The API answered with an error that retrying will not fix."""

    def __init__(self, message: str, status: int | None = None, api_message: str | None = None):
        self.status, self.api_message = status, api_message
        super().__init__(message)


class PermissionDenied(ApiError):
    """401: the OAuth client or its tokens are refused (authentication); 403: it lacks a permission."""


class RateLimited(ApiError):
    """429 with a Retry-After longer than the configured cap, or too many 429s in a row."""


class Unavailable(ApiError):
    """5xx or connection failures that outlasted the bounded retries."""


class JobFailed(GenesysError):
    """An analytics job ended FAILED, CANCELLED or EXPIRED, or did not finish in time."""

    def __init__(self, message: str, state: str | None = None):
        self.state = state
        super().__init__(message)
