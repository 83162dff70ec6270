# Agent moves from the calls app to contacts, its table (calls_agent) and rows untouched: only
# Django's state moves (calls 0011 re-points its foreign keys and drops calls.Agent from the
# state), and the content type row moves with it, so the agent permissions keep their ids and
# every group and user holding them keeps them.

import django.db.models.deletion
from django.conf import settings
from django.db import IntegrityError, migrations, models, transaction


def _move_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    try:
        with transaction.atomic(using=db):
            ContentType.objects.using(db).filter(app_label=old, model="agent").update(
                app_label=new
            )
    except IntegrityError:
        # A stale row for the new label already exists: left alone, as Django's own
        # RenameModel does; `manage.py remove_stale_contenttypes` then asks what to do.
        pass


def to_contacts(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="calls", new="contacts")


def to_calls(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="contacts", new="calls")


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0009_webhook_throttle'),
        ('contacts', '0005_assign_permission'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Agent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('extension', models.CharField(max_length=32, unique=True, verbose_name='extension')),
                        ('name', models.CharField(blank=True, max_length=200, verbose_name='name')),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                        ('is_away', models.BooleanField(default=False, help_text='Away agents get no calls routed to them by the CRM.', verbose_name='away')),
                        ('away_since', models.DateTimeField(blank=True, null=True, verbose_name='away since')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('user', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='agent', to=settings.AUTH_USER_MODEL, verbose_name='user')),
                    ],
                    options={
                        'verbose_name': 'agent',
                        'verbose_name_plural': 'agents',
                        'db_table': 'calls_agent',
                        'ordering': ['extension'],
                    },
                ),
                migrations.AlterField(
                    model_name='contact',
                    name='responsible',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='contacts', to='contacts.agent', verbose_name='responsible agent'),
                ),
            ],
        ),
        migrations.RunPython(to_contacts, to_calls, elidable=False),
    ]
