"""The throw-away PostgreSQL database a bench fills: made beside the one DATABASE_URL names."""
import os
import sys
from urllib.parse import urlsplit, urlunsplit


def postgres_url(script: str) -> str:
    """DATABASE_URL, or a clear exit when it does not name a PostgreSQL server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"{script} needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/any-database")
    return url


def scratch_database(url: str, name: str, *, reuse: bool = False) -> tuple[str, bool]:
    """The URL of the database `name` on the server `url` names, dropped and made anew unless `reuse`
    and it exists (an earlier run's --keep); and whether it was kept."""
    import psycopg  # noqa: PLC0415

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), reuse and exists


def drop_database(url: str) -> None:
    """Drops the database `url` names (after the bench, unless --keep)."""
    import psycopg  # noqa: PLC0415

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')
