"""A project's counts (project page, stats API, review page) from grouped counts over an index:
the same numbers as counting row by row, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Annotation
from labeling.selectors import project_stats
from labeling.selectors_review import classes_with_proposals

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory

pytestmark = pytest.mark.django_db


def _fill(project, classes):
    images = [ImageFactory(project=project) for _ in range(3)]
    made = [
        (classes[0], "box", "accepted"), (classes[0], "box", "accepted"), (classes[0], "polygon", "accepted"),
        (classes[1], "box", "proposed"), (classes[1], "box", "proposed"), (classes[1], "mask", "rejected"),
        (classes[2], "box", "proposed"),
    ]
    for i, (cls, kind, state) in enumerate(made):
        AnnotationFactory(image=images[i % 3], label_class=cls, kind=kind, state=state,
                          origin="model" if state == "proposed" else "human", score=0.5 if state == "proposed" else None)
    other = LabelClassFactory()  # another project's annotations are not counted
    AnnotationFactory(image=ImageFactory(project=other.project), label_class=other)


def test_project_stats_counts_by_state_kind_and_class(project, classes):
    _fill(project, classes)
    with CaptureQueriesContext(connection) as queries:
        stats = project_stats(project=project)
    assert len(queries) == 3  # images by status, the classes, annotations by class, state and kind
    assert stats["images"] == 3
    assert stats["by_state"] == {"proposed": 3, "accepted": 3, "rejected": 1}
    assert stats["by_kind"] == {"tag": 0, "box": 2, "polygon": 1, "mask": 0}
    assert [(c["name"], c["accepted"], c["proposed"]) for c in stats["by_class"]] == [
        ("cat", 3, 0), ("dog", 0, 2), ("bird", 0, 1)]
    assert stats["by_state"]["accepted"] == Annotation.objects.filter(image__project=project, state="accepted").count()


def test_review_page_counts_waiting_proposals_per_class(project, classes):
    _fill(project, classes)
    assert [(c.name, c.proposed) for c in classes_with_proposals(project=project)] == [("cat", 0), ("dog", 2), ("bird", 1)]


def test_project_page_queries_do_not_grow_with_the_images_shown(project, classes, manager, client):
    client.force_login(manager)
    url = f"/projects/{project.pk}/"
    ImageFactory(project=project)
    client.get(url)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(12):
        ImageFactory(project=project)
    assert queries() == few


def test_project_list_counts_images_and_done_ones(project, manager, client_for):
    for status in ("new", "done", "reviewed", "in_progress"):
        ImageFactory(project=project, status=status)
    body = client_for(manager).get(f"/api/projects/{project.pk}/").json()
    assert (body["image_count"], body["done_count"]) == (4, 2)
