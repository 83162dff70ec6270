"""The contact card's indexes: a contact's calls and callbacks, newest first.

(contact, started_at) and (contact, created_at) replace the single-column indexes of the two
`contact` foreign keys, which they start with. The old indexes are dropped by name, not by
AlterField: on SQLite an AlterField rebuilds the whole table (every call copied), for nothing
but an index.
"""
import django.db.models.deletion
from django.db import migrations, models

TABLES = ("Call", "Callback")


def _contact_indexes(apps, schema_editor):  # noqa: ANN001, ANN202
    """(model, index name) of the indexes on `contact_id` alone."""
    connection = schema_editor.connection
    for name in TABLES:
        model = apps.get_model("calls", name)
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        for index, info in constraints.items():
            if (info["index"] and not info["unique"] and not info["primary_key"]
                    and info["columns"] == ["contact_id"]):
                yield model, index


def drop_contact_indexes(apps, schema_editor) -> None:  # noqa: ANN001
    for model, index in list(_contact_indexes(apps, schema_editor)):
        schema_editor.execute(schema_editor._delete_index_sql(model, index))


def restore_contact_indexes(apps, schema_editor) -> None:  # noqa: ANN001
    for name in TABLES:
        model = apps.get_model("calls", name)
        field = model._meta.get_field("contact")
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0015_callstatday_stale'),
        ('contacts', '0007_contact_search'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='call',
            index=models.Index(fields=['contact', 'started_at'], name='call_contact_started'),
        ),
        migrations.AddIndex(
            model_name='callback',
            index=models.Index(fields=['contact', 'created_at'], name='callback_contact_created'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='call',
                    name='contact',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='calls', to='contacts.contact', verbose_name='contact'),
                ),
                migrations.AlterField(
                    model_name='callback',
                    name='contact',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='callbacks', to='contacts.contact', verbose_name='contact'),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_contact_indexes, restore_contact_indexes),
            ],
        ),
    ]
