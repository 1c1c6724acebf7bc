"""PostgreSQL's CPU per buffered impression flushed, with version-4 (random) ids against this code's
version-7 (time-ordered) ids, alternating in one process and one table.

    .venv/bin/python bench/impression_ids.py --database-url postgres://postgres@127.0.0.1:5432/DB \
        --redis-url redis://127.0.0.1:6379/12 [--events 20000] [--rounds 3]

Each round, for each kind of id: serve `--events` impressions into the Redis buffer, then flush them
all with `impressions_flush`; prints the backend's CPU (/proc/<pid>/stat of `pg_backend_pid()`, so
the server must run on this machine) and the WAL written, per row. The database must be migrated
(the script runs `migrate`); it writes an advertiser, campaigns and their impressions there.
"""
import argparse
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tracking_cpu import _cpu, serving  # noqa: PLC0415  (bench/tracking_cpu.py)

    _campaign_ids, result, placement, visitor, backend = serving(args)
    from django.db import connection  # noqa: PLC0415

    from ads import events  # noqa: PLC0415

    def wal() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn() - '0/0'")
            return int(cursor.fetchone()[0])

    version_7 = events.impression_id_new
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; {args.events} events a round")
    print(f"{'round':>5} {'ids':>4} {'postgres µs':>12} {'WAL bytes':>10}  (a row)")
    for n in range(1, args.rounds + 1):
        for name, make in (("v4", uuid.uuid4), ("v7", version_7)):
            events.impression_id_new = make
            for _ in range(args.events // len(result.slots)):
                events.impressions_serve(result=result, placement=placement, visitor=visitor)
            cpu, written = _cpu(backend), wal()
            while events.impressions_flush():
                pass
            per = 1e6 / args.events
            print(f"{n:>5} {name:>4} {(_cpu(backend) - cpu) * per:>12.1f} {(wal() - written) / args.events:>10.0f}")
    events.impression_id_new = version_7


if __name__ == "__main__":
    main()
