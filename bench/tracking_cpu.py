"""CPU time per buffered impression, in each process that handles it: the producer (serving), Redis,
the flusher and the PostgreSQL backend. Less moved by the machine's load than bench/tracking.py's rate.

    .venv/bin/python bench/tracking_cpu.py --database-url postgres://postgres@127.0.0.1:5432/DB \
        --redis-url redis://127.0.0.1:6379/12 [--events 40000] [--rounds 3]

Each round, in one process: serve `--events` impressions (2 slots an auction) into the Redis buffer,
then flush them all with `impressions_flush`. The producer's and the flusher's CPU are this
process's (`time.process_time`), Redis's and PostgreSQL's are read from /proc/<pid>/stat of the Redis
server and of this connection's backend (`pg_backend_pid()`), so the servers must run on this
machine. Prints µs of CPU per event for each, and the rows counted by id (nothing lost or doubled).
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process `pid` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def serving(args) -> tuple[list[int], object, object, object, int]:
    """Sets Django up on the bench's database and Redis buffer (`migrate` runs) and returns what a
    serving loop needs: the campaign ids, an auction result with their slots, the question
    placement, a visitor, and this connection's PostgreSQL backend pid (for its /proc CPU)."""
    from tracking import _result, _setup, fixtures  # noqa: PLC0415  (bench/tracking.py)

    _setup(args.database_url, args.redis_url)
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    from ads.events import Visitor  # noqa: PLC0415
    from ads.models import Placement  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    campaign_ids = fixtures()
    placement = Placement.objects.get_or_create(slug="question", defaults={"kind": "question"})[0]
    visitor = Visitor(reader_key="k" * 32, ip_prefix="203.0.113.0", browser_family="Chrome", os_family="Windows")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    return campaign_ids, _result(campaign_ids), placement, visitor, backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    campaign_ids, result, placement, visitor, backend = serving(args)
    from ads import events  # noqa: PLC0415
    from ads.models import Impression  # noqa: PLC0415

    redis_pid = events._buffer().info("server")["process_id"]
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; {args.events} events a round")
    print(f"{'round':>5} {'serve µs':>9} {'redis µs':>9} {'flush µs':>9} {'postgres µs':>12} {'rows':>7}")
    for n in range(1, args.rounds + 1):
        before = Impression.objects.filter(campaign_id__in=campaign_ids).count()
        redis0, own0 = _cpu(redis_pid), time.process_time()
        for _ in range(args.events // len(result.slots)):
            events.impressions_serve(result=result, placement=placement, visitor=visitor)
        own1, redis1, pg1 = time.process_time(), _cpu(redis_pid), _cpu(backend)
        while events.impressions_flush():
            pass
        own2, redis2, pg2 = time.process_time(), _cpu(redis_pid), _cpu(backend)
        rows = Impression.objects.filter(campaign_id__in=campaign_ids).count() - before
        per = 1e6 / args.events
        print(f"{n:>5} {(own1 - own0) * per:>9.1f} {(redis1 - redis0 + redis2 - redis1) * per:>9.1f} "
              f"{(own2 - own1) * per:>9.1f} {(pg2 - pg1) * per:>12.1f} {rows:>7}"
              + ("" if rows == args.events // len(result.slots) * len(result.slots) else "  LOST OR DOUBLED"))


if __name__ == "__main__":
    main()
