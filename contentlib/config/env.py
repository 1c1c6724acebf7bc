"""Reads the project's settings from environment variables and refuses values it cannot use.

Every reader names the variable and the values it accepts in its error, so a wrong setting stops
start-up with a message that says what to change.
"""
import os
from decimal import Decimal, InvalidOperation
import secrets
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() not in choices:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a valid value. Set {name} to one of: {', '.join(choices)}."
        )
    return value.lower()


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean. Set {name} to 1/true/yes/on or 0/false/no/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number. Set {name} to an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small. Set {name} to {minimum} or more.")
    return number


def env_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number. Set {name} to a decimal number such as 0.5.") from None


def env_money(name: str, default: str) -> Decimal:
    """A non-negative amount of money with at most two decimals, as a Decimal (never a float)."""
    value = _raw(name) or default
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ImproperlyConfigured(f"{name}={value!r} is not an amount of money. Give a number such as 0.30 "
                                   "(at most two decimals, not negative).")
    return amount.quantize(Decimal("0.01"))


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_limits(name: str, default: str) -> list[tuple[int, int]]:
    """Returns rate limits written "COUNT/SECONDS,..." (e.g. "1/60,3/600") as (seconds, count) pairs."""
    value = _raw(name)
    text = default if value is None else value
    limits = []
    for item in (part.strip() for part in text.split(",")):
        count, _, seconds = item.partition("/")
        if not (count.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0):
            raise ImproperlyConfigured(f"{name}={text!r}: {item!r} is not a limit. Give COUNT/SECONDS pairs separated "
                                       "by commas, such as 1/60,3/600,10/3600,25/86400.")
        limits.append((int(seconds), int(count)))
    return limits


def env_url(name: str, schemes: tuple[str, ...], default: str | None = None) -> str | None:
    """Returns the URL in `name`, or `default` when unset; refuses a URL with another scheme."""
    value = _raw(name)
    if value is None:
        return default
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a URL this project can use. "
            f"Set {name} to a URL starting with one of: {', '.join(s + '://' for s in schemes)}."
        )
    return value


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


def env_zone(name: str, default: str) -> str:
    """Returns the IANA time zone name in `name` (such as Asia/Shanghai), refusing one that does not exist."""
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a time zone. Set {name} to an IANA name such as Asia/Shanghai."
        ) from None
    return value


def local_secret_key(path: Path) -> str:
    """Returns the key kept in `path`, generating it the first time (readable by this user only).

    For local use: several processes (a crawl, the test workers) may start at once, so the file is
    created atomically and whoever loses the race reads the winner's key.
    """
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}")
    candidate.write_text(secrets.token_urlsafe(50) + "\n")
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)  # fails if another process created it first
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()
