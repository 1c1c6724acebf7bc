"""The near-duplicate index now belongs to the library core (contentlib 0007 took its tables)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('contentlib', '0007_minhash_from_crawlers'),
        ('crawlers', '0004_verbose_names'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='MinHashBand'),
                migrations.DeleteModel(name='MinHashSignature'),
            ],
            database_operations=[],
        ),
    ]
