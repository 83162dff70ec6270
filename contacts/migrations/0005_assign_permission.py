# "Can assign contacts": changing a contact's responsible agent is a right of its own.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0004_contactphone_contact_index_in_unique'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='contact',
            options={'ordering': ['name', 'id'], 'permissions': [('assign_contact', 'Can assign contacts')], 'verbose_name': 'contact', 'verbose_name_plural': 'contacts'},
        ),
    ]
