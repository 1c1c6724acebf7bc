"""The near-duplicate index moves from crawlers into the library core, keeping its rows.

The state takes the models over as they stand on the crawlers' tables; the tables are then renamed
(AlterModelTable), so no signature or band is copied or lost. crawlers 0005 drops the models from
the crawlers' state only.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contentlib', '0006_verbose_names'),
        ('crawlers', '0004_verbose_names'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='MinHashSignature',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('content_hash', models.CharField(help_text="The article's content hash when this was computed.", max_length=64, verbose_name='content hash')),
                        ('hashvalues', models.BinaryField(help_text='uint32 MinHash values (datasketch affine32 scheme), little-endian.', verbose_name='hash values')),
                        ('article', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='minhash', to='contentlib.article', verbose_name='article')),
                    ],
                    options={
                        'verbose_name': 'MinHash signature',
                        'verbose_name_plural': 'MinHash signatures',
                        'db_table': 'crawlers_minhashsignature',
                    },
                ),
                migrations.CreateModel(
                    name='MinHashBand',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.BigIntegerField(help_text="A 63-bit hash of (band number, the band's MinHash values).", verbose_name='key')),
                        ('article', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='minhash_bands', to='contentlib.article', verbose_name='article')),
                    ],
                    options={
                        'verbose_name': 'MinHash band',
                        'verbose_name_plural': 'MinHash bands',
                        'db_table': 'crawlers_minhashband',
                        'indexes': [models.Index(fields=['key'], name='minhashband_key')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name='minhashsignature', table=None),
        migrations.AlterModelTable(name='minhashband', table=None),
    ]
