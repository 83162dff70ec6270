# "Can call from any extension": click-to-call from another extension than one's own.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0007_recordings'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='callattempt',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('place_calls', 'Can place calls'), ('call_from_any_extension', 'Can call from any extension')], 'verbose_name': 'call attempt', 'verbose_name_plural': 'call attempts'},
        ),
    ]
