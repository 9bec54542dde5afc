from django.db import migrations, models

# PostgreSQL checks the row-level security policy (hospital_id) on every index entry
# the catalogue reads; with hospital_id in the index, counting a search piece's
# experts is an index-only scan instead of one table read per entry.
TERM_INDEX_COVERING = [
    "DROP INDEX IF EXISTS expert_search_term",
    "CREATE INDEX expert_search_term ON booking_expertsearchterm (term, expert_id) INCLUDE (hospital_id)",
]
TERM_INDEX_PLAIN = [
    "DROP INDEX IF EXISTS expert_search_term",
    "CREATE INDEX expert_search_term ON booking_expertsearchterm (term, expert_id)",
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('booking', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='expert',
            index=models.Index(fields=['title_rank', 'name', 'id'], name='expert_listing_order'),
        ),
        migrations.AddIndex(
            model_name='schedule',
            index=models.Index(condition=models.Q(('status', 'published')), fields=['date', 'expert'],
                               name='schedule_published_day'),
        ),
        # Same name and key columns as the model's index, so Django's state is unchanged.
        migrations.RunPython(_on_postgresql(TERM_INDEX_COVERING), _on_postgresql(TERM_INDEX_PLAIN)),
    ]
