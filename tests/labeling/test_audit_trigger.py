"""The audit trail is append-only in the database itself: raw SQL cannot change or delete events."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from labeling.models import AnnotationEvent, Project
from labeling.services.projects import project_delete

from ..factories import UserFactory


@pytest.fixture
def event(image, classes, annotator):
    return AnnotationEvent.objects.create(annotation_id=7, project=image.project, image_id=image.pk,
                                          action="create", actor=annotator, after={"kind": "box"})


def _refused(sql, params=()):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_raw_sql_can_neither_update_nor_delete_an_event(event):
    _refused("UPDATE labeling_annotationevent SET action = 'delete' WHERE id = %s", [event.pk])
    _refused("UPDATE labeling_annotationevent SET after = NULL WHERE id = %s", [event.pk])
    _refused("DELETE FROM labeling_annotationevent WHERE id = %s", [event.pk])
    if connection.vendor == "postgresql":
        # The test's transaction holds deferred foreign-key checks, which TRUNCATE will not run over.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _refused("TRUNCATE labeling_annotationevent")
    else:
        _refused("DELETE FROM labeling_annotationevent")
    event.refresh_from_db()
    assert event.action == "create" and event.after == {"kind": "box"}


def test_bulk_orm_writes_that_skip_the_models_guard_are_refused_too(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnotationEvent.objects.filter(pk=event.pk).update(action="update")
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnotationEvent.objects.filter(pk=event.pk)._raw_delete(connection.alias)
    assert AnnotationEvent.objects.get(pk=event.pk).action == "create"


def test_deleting_a_user_keeps_their_events_without_who(event, annotator):
    annotator.delete()
    event.refresh_from_db()
    assert event.actor_id is None and event.action == "create" and event.after == {"kind": "box"}
    # Only that: clearing another column along with the actor is still refused.
    other = UserFactory()
    AnnotationEvent.objects.create(annotation_id=8, project_id=event.project_id, image_id=1, action="create",
                                   actor=other)
    _refused("UPDATE labeling_annotationevent SET actor_id = NULL, annotation_id = 9 WHERE annotation_id = 8")


def test_deleting_a_project_keeps_its_trail(event):
    project_id = event.project_id
    project_delete(project=Project.objects.get(pk=project_id))
    assert not Project.objects.filter(pk=project_id).exists()
    assert AnnotationEvent.objects.get(pk=event.pk).project_id == project_id


def test_flush_empties_the_trail_and_leaves_it_guarded(transactional_db, event):
    call_command("flush", interactive=False, verbosity=0)
    assert not AnnotationEvent.objects.exists()
    project = Project.objects.create(name="again", uses_boxes=True)
    fresh = AnnotationEvent.objects.create(annotation_id=1, project=project, image_id=1, action="create")
    _refused("DELETE FROM labeling_annotationevent WHERE id = %s", [fresh.pk])
