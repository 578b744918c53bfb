"""The audit trail is append-only in the database itself, not only in the ORM.

Triggers refuse every UPDATE and DELETE of labeling_annotationevent (and TRUNCATE on PostgreSQL),
whoever sends them: raw SQL, a shell, another program. One UPDATE is allowed: setting actor_id to
NULL and nothing else, which is what deleting a user does (on_delete=SET_NULL) — a person can be
erased, what was done stays.

Deleting a project no longer cascades to its events (the foreign key keeps no constraint and does
nothing on delete): a cascade would be a DELETE the trigger refuses, and a trail that vanishes with
what it describes is no trail. The rows keep the deleted project's id.

`manage.py flush` (and so the tests' flush between transactional tests) empties the trail too:
labeling/management/commands/flush.py lifts these triggers for that one transaction.

Note for later migrations: on SQLite, an AlterField on this table rebuilds it and drops its
triggers; such a migration must create them again (tests/test_hardening.py would notice).
"""

from django.db import migrations, models
import django.db.models.deletion

REFUSED = "annotation events are append-only"

POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION labeling_annotationevent_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;  -- a deleted user's events lose only who made them
        END IF;
        RAISE EXCEPTION '{REFUSED} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER labeling_annotationevent_append_only
    BEFORE UPDATE OR DELETE ON labeling_annotationevent
    FOR EACH ROW EXECUTE FUNCTION labeling_annotationevent_append_only()
    """,
    """
    CREATE TRIGGER labeling_annotationevent_no_truncate
    BEFORE TRUNCATE ON labeling_annotationevent
    FOR EACH STATEMENT EXECUTE FUNCTION labeling_annotationevent_append_only()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS labeling_annotationevent_no_truncate ON labeling_annotationevent",
    "DROP TRIGGER IF EXISTS labeling_annotationevent_append_only ON labeling_annotationevent",
    "DROP FUNCTION IF EXISTS labeling_annotationevent_append_only()",
]

# SQLite has no statement to bypass: RAISE(ABORT) rolls back the statement and reports a constraint error.
_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in
                          ("id", "annotation_id", "project_id", "image_id", "action", "at", "before", "after"))
SQLITE = [
    f"""
    CREATE TRIGGER labeling_annotationevent_no_update
    BEFORE UPDATE ON labeling_annotationevent
    WHEN NOT (NEW.actor_id IS NULL AND {_UNCHANGED})
    BEGIN SELECT RAISE(ABORT, '{REFUSED} (UPDATE refused)'); END
    """,
    f"""
    CREATE TRIGGER labeling_annotationevent_no_delete
    BEFORE DELETE ON labeling_annotationevent
    BEGIN SELECT RAISE(ABORT, '{REFUSED} (DELETE refused)'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS labeling_annotationevent_no_update",
    "DROP TRIGGER IF EXISTS labeling_annotationevent_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"No audit trigger for {schema_editor.connection.vendor}: add one here.")
        for sql in statements:
            schema_editor.execute(sql, params=None)  # no %-formatting: the SQL holds a literal %

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0003_job_lease_outline_url_lines"),
    ]

    operations = [
        migrations.AlterField(
            model_name="annotationevent",
            name="project",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="annotation_events", to="labeling.project"),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
