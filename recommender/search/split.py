"""The fixed split of the judged queries into a development half (tuning) and a test half (reporting).

The split is made once, deterministically, and committed in `relevance_split.json` before any weight
or threshold was tuned: within each (language, query type) stratum the queries are ordered by a hash
of their id and dealt alternately to dev and test, so both halves hold Chinese, English, paraphrase
and unanswerable queries in like proportion.
"""
import hashlib
import json
from collections import defaultdict
from pathlib import Path

SPLIT_FILE = Path(__file__).with_name("relevance_split.json")


def split_make(query_ids_by_stratum: dict[tuple[str, str], list[str]]) -> dict[str, list[str]]:
    """Returns {"dev": [...], "test": [...]} dealing each stratum's hash-ordered ids alternately."""
    halves: dict[str, list[str]] = {"dev": [], "test": []}
    turn = 0
    for stratum in sorted(query_ids_by_stratum):
        for query_id in sorted(query_ids_by_stratum[stratum], key=lambda i: hashlib.sha1(i.encode()).hexdigest()):
            halves["dev" if turn % 2 == 0 else "test"].append(query_id)
            turn += 1
    return {name: sorted(ids) for name, ids in halves.items()}


def split_from_queries(queries) -> dict[str, list[str]]:
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for query in queries:
        strata[(query.lang, query.type)].append(query.id)
    return split_make(strata)


def split_load() -> dict[str, list[str]]:
    """The committed split. Queries added to the fixtures later belong to neither half until
    `manage.py search_split` deals them (`split_extend`)."""
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))


def split_extend(split: dict[str, list[str]], queries) -> dict[str, list[str]]:
    """The split with the queries that are in neither half dealt as `split_from_queries` deals them,
    and every query already split left where it is (its half may already have been looked at)."""
    known = set(split["dev"]) | set(split["test"])
    added = split_from_queries([q for q in queries if q.id not in known])
    return {half: sorted(split[half] + added[half]) for half in ("dev", "test")}


def split_save(split: dict[str, list[str]]) -> None:
    SPLIT_FILE.write_text(json.dumps(split, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
