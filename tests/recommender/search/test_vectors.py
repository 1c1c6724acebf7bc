"""The embedded vector index's journal and snapshots: compaction keeps every reader correct."""
import numpy as np

from recommender.search import vectors
from recommender.search.base import SearchFilters
from recommender.search.vectors import VectorRecord, VectorStore


def test_compaction_keeps_readers_correct_and_drops_old_files(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "COMPACT_MIN_RECORDS", 10)
    writer, reader = VectorStore(tmp_path), VectorStore(tmp_path)
    rng = np.random.default_rng(7)
    expected = {}
    for i in range(60):
        vector = rng.normal(size=8).astype(np.float32)
        vector /= np.linalg.norm(vector)
        expected[i % 25] = vector  # ids repeat: updates in place
        writer.write([VectorRecord(id=i % 25, vector=vector, published=True)])
    writer.write([VectorRecord.deletion(3)])
    del expected[3]

    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("snapshot-", "journal-")))
    assert len(files) == 2  # one snapshot, one journal: compaction ran and cleaned up
    for doc_id, vector in expected.items():
        assert reader.search(vector, k=1, filters=SearchFilters())[0].id == doc_id
    assert reader.table.live_ids() == set(expected)
