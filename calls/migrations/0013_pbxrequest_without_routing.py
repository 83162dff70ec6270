# The journal is an audit log only: a lookup's routing decision lives on CallerLookup (0010).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0012_callerlookup'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='pbxrequest',
            name='route_note',
        ),
        migrations.RemoveField(
            model_name='pbxrequest',
            name='route_reason',
        ),
        migrations.RemoveField(
            model_name='pbxrequest',
            name='routed_to',
        ),
    ]
