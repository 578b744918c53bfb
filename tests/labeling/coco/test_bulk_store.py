"""COCO import stores plain rows in bulk (COPY on PostgreSQL): every annotation with its event, in a
number of queries that does not grow with the file, and nothing when a row is refused."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Annotation, AnnotationEvent

from ...factories import ImageFactory
from .test_import_rules import doc_for, send

pytestmark = pytest.mark.django_db


def _boxes(n_images, per_image):
    return [{"id": k, "image_id": 1 + k % n_images, "category_id": 1 + k % 2, "bbox": [1 + k % 40, 2, 10, 12]}
            for k in range(n_images * per_image)]


def test_every_imported_annotation_has_its_own_event_and_the_queries_do_not_grow(client_for, manager, project):
    api = client_for(manager)
    counts = []
    for n_images, per_image in ((1, 1), (8, 40)):
        images = [ImageFactory(project=project) for _ in range(n_images)]
        with CaptureQueriesContext(connection) as queries:
            response = send(api, project, doc_for([(img, {}) for img in images], _boxes(n_images, per_image)))
        assert response.status_code == 201, response.json()
        assert response.json()["annotations"] == n_images * per_image
        # Inserts go in batches (SQLite's are small); every other query is the same for 1 or 320 rows.
        counts.append(sum(not q["sql"].startswith("INSERT") for q in queries.captured_queries))
    assert counts[1] <= counts[0] + 1  # +1: the image status update names 8 ids instead of 1
    events = dict(AnnotationEvent.objects.values_list("annotation_id", "after"))
    annotations = list(Annotation.objects.values_list("id", "geometry", "created_by"))
    assert len(annotations) == 321 and set(events) == {pk for pk, _, _ in annotations}
    for pk, geometry, created_by in annotations:
        assert events[pk]["geometry"] == geometry and events[pk]["source"] == "coco import"
        assert created_by == manager.pk


def test_a_refused_row_late_in_a_big_file_leaves_nothing(client_for, manager, project):
    images = [ImageFactory(project=project) for _ in range(4)]
    annotations = _boxes(4, 50)
    annotations[-1]["bbox"] = [95, 2, 10, 12]  # past the right edge of a 100 px image
    response = send(client_for(manager), project, doc_for([(img, {}) for img in images], annotations))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("annotations[199]")
    assert not Annotation.objects.exists() and not AnnotationEvent.objects.exists()
