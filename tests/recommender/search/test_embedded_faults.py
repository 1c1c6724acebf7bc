"""The embedded engine under faults: writers killed at any point, readers in threads while a writer
commits, and a rebuild with another embedding dimension while another process keeps querying.

Each query must read one committed snapshot: everything of a commit or nothing of it, and its
lexical and vector sides from the same one."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from recommender.search import embedded
from recommender.search.base import IndexDocument, SearchFilters
from recommender.search.embedded import EmbeddedBackend

ROOT = Path(__file__).resolve().parents[3]
EVERYTHING = SearchFilters(published_only=False)
DIM = 8


def direction(i: int, dim: int = DIM) -> np.ndarray:
    vector = np.zeros(dim, dtype=np.float32)
    vector[i % dim] = 1.0
    vector[(i + 1) % dim] = 0.5
    return vector / np.linalg.norm(vector)


def plan(batch: int) -> tuple[str, list]:
    """What writer batch `batch` does: upsert five documents, delete an earlier batch's, or compact."""
    if batch % 5 == 4:
        return "compact", []
    if batch % 3 == 2:
        return "delete", [(batch - 2) * 10 + j for j in range(5)]
    return "upsert", [batch * 10 + j for j in range(5)]


def state_after(batches: int) -> set[int]:
    """The ids live after batches 0 .. batches-1 all committed."""
    live: set[int] = set()
    for batch in range(batches):
        kind, ids = plan(batch)
        if kind == "upsert":
            live |= set(ids)
        elif kind == "delete":
            live -= set(ids)
    return live


WRITER = textwrap.dedent("""
    import sys
    from recommender.search import embedded
    from tests.recommender.search.test_embedded_faults import direction, plan
    from recommender.search.base import IndexDocument
    # Small thresholds, so that kills also land in index builds, index upkeep and cleanup.
    embedded.VECTOR_INDEX_MIN_ROWS, embedded.UNINDEXED_MAX_ROWS, embedded.CLEANUP_EVERY = 40, 10, 3
    backend = embedded.EmbeddedBackend(sys.argv[1])
    batch = int(sys.argv[2])
    print("ready", flush=True)
    while True:
        kind, ids = plan(batch)
        if kind == "upsert":
            backend.upsert([IndexDocument(i, f"common b{batch} w{i}", published=True, vector=direction(i))
                            for i in ids])
        elif kind == "delete":
            backend.delete(ids)
        else:
            backend.compact()
        print(f"committed {batch}", flush=True)
        batch += 1
""")


def visible(directory: Path, *, memory: bool = False) -> tuple[set[int], set[int], set[int]]:
    """What a fresh reader finds: by the shared token, by vector, and in the id listing; with
    `memory`, from its in-memory copy of the live version (memory.py) instead of Lance."""
    with pytest.MonkeyPatch.context() as patch:
        if memory:
            patch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
            patch.setattr(embedded, "MEMORY_INDEX_SYNC", True)
        reader = EmbeddedBackend(directory)
        lexical = {h.id for h in reader.lexical(["common"], k=1000, filters=EVERYTHING)}
        vector = {h.id for h in reader.vector(direction(0), k=1000, filters=EVERYTHING)}
        if memory and reader.info().documents:
            assert reader.memory_ready() == int(reader.info().generation), "the copy answered"
        return lexical, vector, reader.ids()


def test_a_writer_killed_at_random_points_leaves_the_last_commit_and_the_next_writer_carries_on(tmp_path):
    directory = tmp_path / "killed"
    rng = random.Random(20261201)
    committed = 0  # batches 0 .. committed-1 are known committed
    kills = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    while kills < 30:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(committed)], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True, env=env)
        assert writer.stdout.readline().strip() == "ready"
        first = writer.stdout.readline().strip()
        assert first == f"committed {committed}", "the next commit after a kill succeeds"
        committed += 1
        time.sleep(rng.uniform(0.0, 0.6))
        writer.send_signal(signal.SIGKILL)
        for line in writer.stdout.read().splitlines():  # what it reported before it died
            assert line == f"committed {committed}"
            committed += 1
        writer.wait(timeout=30)
        kills += 1

        lexical, vector, ids = visible(directory)
        # The batch in flight at the kill is all there or not there at all; everything before it is.
        assert ids in (state_after(committed), state_after(committed + 1)), f"kill {kills}: a torn commit"
        assert lexical == ids, f"kill {kills}: lexical and the listing disagree"
        assert vector == ids, f"kill {kills}: vector and the listing disagree"
        assert visible(directory, memory=True) == (ids, ids, ids), f"kill {kills}: the in-memory copy disagrees"

    # A last writer finishes cleanly and every commit so far is there.
    final = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(committed)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True, env=env)
    for _ in range(4):
        line = final.stdout.readline().strip()
        assert line in ("ready", f"committed {committed}")
        committed += line.startswith("committed")
    final.kill()
    final.wait(timeout=30)
    assert visible(directory)[2] in (state_after(committed), state_after(committed + 1))


@pytest.mark.parametrize(("engine", "reads"), [("lance", 2500), ("memory", 2500), ("memory_background", 2500)])
def test_threads_querying_while_a_writer_commits_each_read_one_snapshot(tmp_path, monkeypatch, engine, reads):
    """Lance alone; the in-memory copy caught up inside each query; and the copy following in the
    background, so that queries go to Lance or the copy depending on whether it has caught up."""
    if engine.startswith("memory"):
        monkeypatch.setattr(embedded, "MEMORY_INDEX_MIN_ROWS", 0)
        monkeypatch.setattr(embedded, "MEMORY_INDEX_SYNC", engine == "memory")
    directory = tmp_path / "threads"
    writer = EmbeddedBackend(directory)
    expected: dict[str, set[int]] = {}
    first = [IndexDocument(j, "common start", published=True, vector=direction(j)) for j in range(5)]
    expected[writer.upsert(first).generation] = set(range(5))
    stop = threading.Event()
    errors: list[BaseException] = []
    results: list[tuple[str, set[int], set[int]]] = []

    def write():
        live = set(range(5))
        generation = 1
        try:
            while not stop.is_set():
                new = {generation * 10 + j for j in range(5)}
                docs = [IndexDocument(i, f"common g{generation}", published=True, vector=direction(i)) for i in new]
                expected[writer.upsert(docs).generation] = live | new
                expected[writer.delete(sorted(live)).generation] = new
                live = new
                generation += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    reader = EmbeddedBackend(directory)  # one instance shared by every reader thread, as in a web process

    def read(count: int):
        try:
            for i in range(count):
                found = reader.search(["common"], direction(i), k=50)
                results.append((found.generation, {h.id for h in found.lexical}, {h.id for h in found.vector}))
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    writer_thread = threading.Thread(target=write)
    readers = [threading.Thread(target=read, args=(reads,)) for _ in range(4)]
    writer_thread.start()
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(timeout=600)
    stop.set()
    writer_thread.join(timeout=120)

    assert not errors, errors[:3]
    assert len(results) == 4 * reads
    if engine.startswith("memory"):
        assert reader.memory_ready() is not None, reader._memory.failed
    generations = {generation for generation, _, _ in results}
    assert len(generations) > 10, "the writer committed while the readers read"
    for generation, lexical, vector in results:
        assert lexical == expected[generation] and vector == expected[generation], generation


READER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from recommender.search import embedded
    from recommender.search.embedded import EmbeddedBackend
    if sys.argv[2] == "memory":  # every query from the in-memory copy, caught up inside the query
        embedded.MEMORY_INDEX_MIN_ROWS, embedded.MEMORY_INDEX_SYNC = 0, True
    backend = EmbeddedBackend(sys.argv[1])
    seen, stale, started = [], None, time.monotonic()
    print("ready", flush=True)
    while time.monotonic() - started < 120:
        for attempt in range(3):
            dim = backend.info().vector_dim
            vector = np.ones(dim, dtype=np.float32) / np.sqrt(dim)  # "the model the index names"
            found = backend.search(["common"], vector, k=50)
            if found.vector_dim == dim:
                break  # else the rebuild landed between info() and search(): again, as retrieve() does
        seen.append([found.generation, dim, sorted(h.id for h in found.lexical), sorted(h.id for h in found.vector)])
        if dim == 16 and seen[-1][3]:
            old = np.ones(4, dtype=np.float32) / 2  # a query vector from the model before
            stale = [h.id for h in backend.search(["common"], old, k=50).vector]
            break
    print(json.dumps({"seen": seen, "stale": stale, "memory": backend.memory_ready()}))
""")


@pytest.mark.parametrize("engine", ["lance", "memory"])
def test_a_reader_process_follows_a_rebuild_with_another_dimension(tmp_path, engine):
    directory = tmp_path / "model"
    backend = EmbeddedBackend(directory)
    backend.upsert([IndexDocument(i, "common old", published=True, vector=np.ones(4, dtype=np.float32) / 2,
                                  vector_model="old-model") for i in range(1, 4)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(directory), engine], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env=env)
    assert reader.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    new = [IndexDocument(i, "common new", published=True, vector=np.ones(16, dtype=np.float32) / 4,
                         vector_model="new-model") for i in range(10, 14)]
    rebuilt = EmbeddedBackend(directory).rebuild([new[:2], new[2:]])
    out, _ = reader.communicate(timeout=180)

    assert reader.returncode == 0, "the reader raised"
    report = json.loads(out)
    first, last = report["seen"][0], report["seen"][-1]
    assert first[1] == 4 and first[2] == first[3] == [1, 2, 3]
    assert last == [rebuilt.generation, 16, [10, 11, 12, 13], [10, 11, 12, 13]]
    # Every answer came whole from one side of the rebuild.
    assert all(s[2] in ([1, 2, 3], [10, 11, 12, 13]) and (s[3] == s[2]) for s in report["seen"])
    assert report["stale"] == [], "a vector of the old dimension finds nothing and raises nothing"
    assert EmbeddedBackend(directory).info().vector_model == "new-model"
    assert report["memory"] == (int(rebuilt.generation) if engine == "memory" else None)


def test_a_killed_writers_orphan_files_are_removed_by_the_next_cleanup(tmp_path):
    from recommender.search import embedded

    directory = tmp_path / "orphans"
    backend = EmbeddedBackend(directory)
    backend.upsert([IndexDocument(1, "common", published=True, vector=direction(1))])
    orphan = directory / embedded.ARTICLES / "data" / "orphan-from-a-killed-writer.lance"
    orphan.write_bytes(b"half a data file")
    old = time.time() - 3600
    os.utime(orphan, (old, old))

    backend.rebuild([[IndexDocument(2, "common", published=True, vector=direction(2))]])  # reindex cleans up

    assert not orphan.exists()
    assert backend.ids() == {2}


def test_retrieval_encodes_the_query_with_the_model_the_index_names(tmp_path, settings, monkeypatch):
    from recommender import retrieval

    settings.EMBEDDING_MODEL = "bundled"
    backend = EmbeddedBackend(tmp_path / "idx")
    backend.upsert([IndexDocument(1, "冷链 仓储", published=True, vector=direction(1), vector_model="index-model")])
    asked = []
    monkeypatch.setattr(retrieval, "_query_vector", lambda text, model="": asked.append(model) or direction(1))

    result = retrieval.retrieve("冷链", backend=backend, check_database=False)

    assert asked == ["index-model"]
    assert result.ids == [1] and result.generation == backend.info().generation


def test_encode_query_follows_a_stored_model_name_not_the_setting(settings):
    from recommender import embeddings

    settings.EMBEDDING_MODEL = "bundled"
    vector = embeddings.encode_query("冷链物流", model=embeddings.E5_NAME)

    assert np.allclose(vector, embeddings.e5_encoder().encode_queries(["冷链物流"])[0], atol=1e-6)
