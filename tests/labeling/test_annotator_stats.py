"""Per-person statistics from the audit trail: labels, judged proposals, images done, time active."""

from datetime import datetime, timedelta, timezone as dt_timezone
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import selectors
from labeling.models import Annotation, Image
from labeling.services.annotations import annotation_create, annotation_update
from labeling.services.images import image_status_set

from ..factories import AnnotationFactory, ImageFactory

DAY1 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)
DAY2 = datetime(2026, 11, 21, 14, 0, tzinfo=dt_timezone.utc)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=dt_timezone.utc)


def _at(moment):
    """Make the audit trail's auto_now_add stamp ``moment`` (the trail refuses later UPDATEs)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def _box(image, label_class, user, moment):
    with _at(moment):
        return annotation_create(image=image, user=user, data={
            "label_class": label_class.pk, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}})


def _judge(annotation, user, state, moment):
    with _at(moment):
        annotation_update(annotation=annotation, user=user, version=annotation.version, changes={"state": state})


@pytest.fixture
def busy_project(project, classes, annotator, reviewer):
    project.retrain_every = 1000  # no training runs queued by these labels
    project.save()
    cat = classes[0]
    images = [ImageFactory(project=project) for _ in range(3)]
    # Annotator, day 1: three boxes 1 and 2 minutes apart (3 min active), then one after a
    # 40-minute pause (a pause adds nothing).
    for minutes, image in [(0, images[0]), (1, images[0]), (3, images[1]), (43, images[1])]:
        _box(image, cat, annotator, DAY1 + timedelta(minutes=minutes))
    # Annotator, day 2: accepts one proposal and rejects another, 30 seconds apart.
    proposals = [AnnotationFactory(image=images[2], label_class=cat, origin="model", state="proposed", score=0.9,
                                   created_by=None) for _ in range(2)]
    _judge(proposals[0], annotator, "accepted", DAY2)
    _judge(proposals[1], annotator, "rejected", DAY2 + timedelta(seconds=30))
    # Reviewer, day 2: one box.
    _box(images[2], cat, reviewer, DAY2 + timedelta(minutes=5))
    image_status_set(image=images[0], status=Image.Status.DONE)
    image_status_set(image=images[1], status=Image.Status.REVIEWED)
    return project


def test_counts_per_person_and_day(busy_project, annotator, reviewer):
    stats = selectors.annotator_stats(project=busy_project, days=30, now=NOW)
    people = {p["username"]: p for p in stats["people"]}
    ann = people[annotator.username]
    assert (ann["labels"], ann["accepted"], ann["rejected"], ann["images_done"]) == (4, 1, 1, 2)
    assert ann["active_seconds"] == pytest.approx(3 * 60 + 30, abs=0.01)
    days = {d["day"]: d for d in ann["days"]}
    assert set(days) == {"2026-11-20", "2026-11-21"}
    assert days["2026-11-20"]["labels"] == 4 and days["2026-11-20"]["active_seconds"] == pytest.approx(180, abs=0.01)
    assert (days["2026-11-21"]["accepted"], days["2026-11-21"]["rejected"]) == (1, 1)
    assert days["2026-11-21"]["active_seconds"] == pytest.approx(30, abs=0.01)
    rev = people[reviewer.username]
    assert (rev["labels"], rev["accepted"], rev["images_done"], rev["active_seconds"]) == (1, 0, 0, 0)
    assert stats["active_gap_seconds"] == 300


def test_a_shorter_period_leaves_older_work_out(busy_project, annotator):
    stats = selectors.annotator_stats(project=busy_project, days=4, now=NOW)  # from 2026-11-21
    ann = {p["username"]: p for p in stats["people"]}[annotator.username]
    assert (ann["labels"], ann["accepted"]) == (0, 1)
    assert [d["day"] for d in ann["days"]] == ["2026-11-21"]


def test_a_fixed_number_of_queries_however_many_people_and_days(busy_project, classes, project):
    from ..factories import MembershipFactory, UserFactory

    with CaptureQueriesContext(connection) as small:
        selectors.annotator_stats(project=project, days=30, now=NOW)
    image = Image.objects.filter(project=project).first()
    for i in range(6):
        user = UserFactory(username=f"extra{i}")
        MembershipFactory(project=project, user=user, role="annotator")
        _box(image, classes[1], user, DAY1 - timedelta(days=i))
    with CaptureQueriesContext(connection) as large:
        stats = selectors.annotator_stats(project=project, days=30, now=NOW)
    assert len(stats["people"]) == 8
    assert len(small.captured_queries) == len(large.captured_queries) == 3


def test_other_projects_do_not_count(busy_project, annotator):
    from ..factories import LabelClassFactory, ProjectFactory

    other = ProjectFactory()
    other_image = ImageFactory(project=other)
    _box(other_image, LabelClassFactory(project=other), annotator, DAY1)
    stats = selectors.annotator_stats(project=busy_project, days=30, now=NOW)
    assert {p["username"]: p["labels"] for p in stats["people"]}[annotator.username] == 4
    assert Annotation.objects.filter(image__project=other).count() == 1
