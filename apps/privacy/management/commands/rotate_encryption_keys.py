"""Re-encrypt every encrypted column under the active key.

Rotation: add a new key to FIELD_ENCRYPTION_KEYS, make it FIELD_ENCRYPTION_ACTIVE_KEY_ID,
deploy (new writes use it, old rows still decrypt with their key id), run this
command, and only then drop the old key from the ring.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from apps.privacy.encryption import PREFIX, key_ring
from apps.privacy.fields import EncryptedTextField
from apps.privacy.services import audit_record


def encrypted_columns():
    for model in apps.get_models():
        fields = [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields whose key is not the active key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size=500, **options):
        active = key_ring().active_key_id
        current_prefix = f"{PREFIX}{active}:"
        total = 0
        for model, fields in encrypted_columns():
            table = connection.ops.quote_name(model._meta.db_table)
            pk_column = connection.ops.quote_name(model._meta.pk.column)
            stale_condition = " OR ".join(
                f"({connection.ops.quote_name(f.column)} <> '' AND {connection.ops.quote_name(f.column)} NOT LIKE %s)"
                for f in fields
            )
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {pk_column} FROM {table} WHERE {stale_condition}",
                               [current_prefix + "%"] * len(fields))
                stale_ids = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(stale_ids), batch_size):
                batch = stale_ids[start:start + batch_size]
                with transaction.atomic():
                    # The base manager: the command works across every hospital.
                    rows = list(model._base_manager.select_for_update().filter(pk__in=batch))
                    model._base_manager.bulk_update(rows, [f.name for f in fields])
            total += len(stale_ids)
            self.stdout.write(f"{model._meta.label}: re-encrypted {len(stale_ids)} rows")
        audit_record(action="privacy.keys_rotated", hospital_id=None,
                     detail={"active_key_id": active, "rows": total})
        self.stdout.write(f"Done: {total} rows now under key {active!r}.")
