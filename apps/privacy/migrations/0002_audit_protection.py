"""Make the audit log append-only and tenant-private on PostgreSQL.

- A trigger refuses UPDATE and DELETE to every role, the owner included (an owner
  who disables the trigger to tamper is what `audit_verify` then finds).
- Row-level security: a hospital reads only its own events. Inserts are allowed
  from any context, because some events (a failed login) are written before any
  hospital is known; the hash chain, not the policy, guards their integrity.
"""

from django.db import migrations

TABLE = "privacy_auditevent"

FORWARD = f"""
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE};
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS audit_read_own_hospital ON {TABLE};
CREATE POLICY audit_read_own_hospital ON {TABLE} FOR SELECT
    USING (hospital_id = (SELECT app_current_hospital_id()) OR (SELECT app_platform_scope()));
DROP POLICY IF EXISTS audit_append ON {TABLE};
CREATE POLICY audit_append ON {TABLE} FOR INSERT WITH CHECK (true);
"""

BACKWARD = f"""
DROP POLICY IF EXISTS audit_append ON {TABLE};
DROP POLICY IF EXISTS audit_read_own_hospital ON {TABLE};
ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY;
ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY;
DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE};
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("tenancy", "0001_initial"),  # app_current_hospital_id() and app_platform_scope()
    ]

    operations = [migrations.RunPython(forward, backward)]
