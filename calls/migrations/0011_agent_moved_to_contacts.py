# Agent now lives in contacts (contacts 0006): the foreign keys point there and calls.Agent
# leaves the state. Nothing changes in the database: the table is still calls_agent.

import django.db.models.deletion
from django.db import migrations, models

import calls.models


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0009_webhook_throttle'),
        ('contacts', '0006_agent'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='callback',
                    name='agent',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='callbacks', to='contacts.agent', verbose_name='agent'),
                ),
                migrations.AlterField(
                    model_name='calldaystat',
                    name='agent',
                    field=models.ForeignKey(blank=True, null=True, on_delete=calls.models.forget_stat_days, related_name='+', to='contacts.agent'),
                ),
                migrations.AlterField(
                    model_name='line',
                    name='default_agent',
                    field=models.ForeignKey(blank=True, help_text='Gets the callbacks of missed calls from callers with no responsible.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contacts.agent', verbose_name='default agent'),
                ),
                migrations.AlterField(
                    model_name='call',
                    name='routed_to',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contacts.agent', verbose_name='routed to'),
                ),
                migrations.AlterField(
                    model_name='pbxrequest',
                    name='routed_to',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contacts.agent', verbose_name='routed to'),
                ),
                migrations.AlterField(
                    model_name='call',
                    name='agent',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='calls', to='contacts.agent', verbose_name='agent'),
                ),
                migrations.DeleteModel(
                    name='Agent',
                ),
            ],
        ),
    ]
