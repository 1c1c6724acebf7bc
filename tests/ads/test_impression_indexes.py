"""The impression table keeps only the indexes its queries use and the foreign-key constraints money
depends on: every served impression writes each index and PostgreSQL checks each constraint with a
query per row (docs/TRACKING.md, "What a served impression costs the database", says which query each
index serves; bench/impression_plans.py shows the plans)."""
import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def _index_columns() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ads_impression'")
        return {name: definition.split(" USING btree ", 1)[1] for name, definition in cursor.fetchall()}


def test_the_impression_table_has_no_index_of_its_own_on_a_foreign_key():
    columns = sorted(_index_columns().values())
    assert columns == sorted([
        "(id)",  # the primary key: beacons, clicks, credits, the flush's ON CONFLICT
        "(served_at)",  # admin's list order and date hierarchy
        "(campaign_id, ad_day)",  # reports, the CPM flush's groups, retention, a campaign's foreign key
        "(reader_key, ad_day, campaign_id)",  # the auction's frequency cap
        "(campaign_id) WHERE ((cost > (0)::numeric) AND (ledger_entry_id IS NULL))",  # CPM accrued, not flushed
    ])


def test_the_campaign_and_the_ledger_entry_keep_their_foreign_key_constraints():
    """The campaign's and the ledger entry's references are checked by PostgreSQL (what billing
    and the rollups key on); auction, placement, keyword and promotion are checked by no one but the
    code that serves (their parents are never deleted)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.attname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
                       "AND a.attnum = ANY (c.conkey) WHERE c.conrelid = 'ads_impression'::regclass AND c.contype = 'f'")
        assert sorted(row[0] for row in cursor.fetchall()) == ["campaign_id", "ledger_entry_id"]
