"""Makes a served impression cheaper to write (docs/TRACKING.md, "What a served impression costs the
database"): the impression table's six foreign-key indexes go (no query reads through them, no parent
is ever deleted), and so do four of its foreign-key constraints (auction, placement, keyword,
promotion), which PostgreSQL checked with a query per inserted row. The campaign's and the ledger
entry's constraints stay.

The campaign's and the ledger entry's indexes are dropped by name (Django's, the same in every
database): Django's AlterField would also drop and re-add their constraints, and re-adding one checks
every row of the table under a lock that stops the flush.
"""
import django.db.models.deletion
from django.db import migrations, models

KEPT_CONSTRAINT_INDEXES = {
    "ads_impression_campaign_id_aa004405": "campaign_id",
    "ads_impression_ledger_entry_id_48edd870": "ledger_entry_id",
}


class Migration(migrations.Migration):

    dependencies = [
        ("ads", "0013_auctionlog_day"),
    ]

    operations = [
        # No constraint and no index: Django drops both.
        migrations.AlterField(
            model_name="impression",
            name="auction",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="impressions",
                                    to="ads.auctionlog", verbose_name="auction"),
        ),
        migrations.AlterField(
            model_name="impression",
            name="keyword",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="ads.campaignkeyword", verbose_name="keyword"),
        ),
        migrations.AlterField(
            model_name="impression",
            name="placement",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="ads.placement", verbose_name="placement"),
        ),
        migrations.AlterField(
            model_name="impression",
            name="promotion",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="ads.promotion", verbose_name="promotion"),
        ),
        # The constraint stays, the index goes.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  f'CREATE INDEX "{name}" ON "ads_impression" ("{column}")')
                for name, column in KEPT_CONSTRAINT_INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="impression",
                    name="campaign",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="impressions", to="ads.campaign", verbose_name="campaign"),
                ),
                migrations.AlterField(
                    model_name="impression",
                    name="ledger_entry",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT, related_name="impressions",
                                            to="ads.ledgerentry", verbose_name="charged in"),
                ),
            ],
        ),
    ]
