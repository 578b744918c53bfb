"""Django's flush, able to empty the append-only audit trail.

The triggers of labeling/migrations/0004_audit_trigger.py refuse DELETE (SQLite) and TRUNCATE
(PostgreSQL) of annotation events, and flush is exactly that. Flush is the one sanctioned way to
empty the trail (the tests' flush between transactional tests uses it too): the triggers are lifted
inside the flush's own transaction and are back when it commits or rolls back, so no other
connection ever sees the table unguarded.
"""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction

TABLE = "labeling_annotationevent"


def _lift_triggers(connection) -> list[str]:
    """Lift the trail's triggers for this transaction; returns the SQL that puts them back."""
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            return []
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            return [f"ALTER TABLE {TABLE} ENABLE TRIGGER USER"]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            return [sql for _, sql in triggers]
    return []


class Command(DjangoFlush):
    def handle(self, **options):
        connection = connections[options["database"]]
        with transaction.atomic(using=connection.alias):
            restore = _lift_triggers(connection)
            super().handle(**options)
            with connection.cursor() as cursor:
                for sql in restore:
                    cursor.execute(sql)
