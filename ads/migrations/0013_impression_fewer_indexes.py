"""Drops the impression table's six foreign-key indexes: every served impression wrote them and no
query reads through them (docs/TRACKING.md, "Indexes of the impression table").

Only the indexes go: Django's AlterField would also drop and re-add each foreign key, and re-adding
one checks every row of the table under a lock that stops serving, so the database side is six
DROP INDEX statements (their names are Django's, the same in every database).
"""
import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "ads_impression_auction_id_87e1a4e0": "auction_id",
    "ads_impression_campaign_id_aa004405": "campaign_id",
    "ads_impression_keyword_id_3ea86576": "keyword_id",
    "ads_impression_ledger_entry_id_48edd870": "ledger_entry_id",
    "ads_impression_placement_id_df2b654d": "placement_id",
    "ads_impression_promotion_id_78d01eb0": "promotion_id",
}


class Migration(migrations.Migration):

    dependencies = [
        ('ads', '0012_submission_markdown_versions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  f'CREATE INDEX "{name}" ON "ads_impression" ("{column}")')
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='impression',
                    name='auction',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='impressions', to='ads.auctionlog', verbose_name='auction'),
                ),
                migrations.AlterField(
                    model_name='impression',
                    name='campaign',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='impressions', to='ads.campaign', verbose_name='campaign'),
                ),
                migrations.AlterField(
                    model_name='impression',
                    name='keyword',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ads.campaignkeyword', verbose_name='keyword'),
                ),
                migrations.AlterField(
                    model_name='impression',
                    name='ledger_entry',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='impressions', to='ads.ledgerentry', verbose_name='charged in'),
                ),
                migrations.AlterField(
                    model_name='impression',
                    name='placement',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ads.placement', verbose_name='placement'),
                ),
                migrations.AlterField(
                    model_name='impression',
                    name='promotion',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ads.promotion', verbose_name='promotion'),
                ),
            ],
        ),
    ]
