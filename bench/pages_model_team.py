"""The model, team, members and statistics screens for bench.pages: their pages and the data they
show beyond bench.pages' images and annotations (model versions, every image's uncertainty, 200
suspicious labels, 500 accounts, 20 members, and 20,000 more audit events of 10 people spread over
30 days, so the statistics page sorts and sums a realistic trail).
"""

import random
from datetime import timedelta
from unittest import mock

PAGES = [
    ("model (versions, queue head, suspicious)", "/projects/{p}/model/"),
    ("API: model versions (model page)", "/api/projects/{p}/model-versions/"),
    ("API: training runs (model page)", "/api/projects/{p}/training-runs/"),
    ("API: latest features job (model page)", "/api/projects/{p}/jobs/?kind=features&page_size=1"),
    ("members", "/projects/{p}/members/"),
    ("team (500 accounts, first 100)", "/team/"),
    ("statistics, last 30 days", "/projects/{p}/statistics/"),
    ("statistics, last 365 days", "/projects/{p}/statistics/?days=365"),
]


def fill(project, user, people: int = 10, events: int = 20_000) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from labeling.models import Annotation, AnnotationEvent, Membership
    from mlassist.models import ImageUncertainty, ModelVersion, SuspiciousLabel

    User = get_user_model()
    rng = random.Random(7)
    User.objects.bulk_create(User(username=f"account{i:04d}") for i in range(500))
    crew = User.objects.bulk_create(User(username=f"person{i}") for i in range(people))
    Membership.objects.bulk_create(Membership(project=project, user=u, role="annotator") for u in crew)
    Membership.objects.bulk_create(
        Membership(project=project, user=u, role="reviewer") for u in User.objects.filter(username__lt="account0010"))
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(project=project, kind=kind, number=n, labels_used=100 * n, in_service=n == 10,
                     metrics={"f1_macro": 0.3 + n / 20, "map50": 0.2 + n / 30, "n_val": 20 * n})
        for kind in ("classifier", "detector") for n in range(1, 11))
    image_ids = list(project.images.values_list("pk", flat=True))
    ImageUncertainty.objects.bulk_create(
        (ImageUncertainty(image_id=i, margin=rng.random(), model_version=versions[9]) for i in image_ids),
        batch_size=2000)
    classes = list(project.label_classes.all())
    tags = Annotation.objects.bulk_create(
        Annotation(image_id=i, label_class=classes[0], kind="tag", geometry={}, created_by=crew[0])
        for i in image_ids[:200])
    SuspiciousLabel.objects.bulk_create(
        SuspiciousLabel(annotation=a, predicted_class=classes[1], confidence=0.8 + rng.random() / 5) for a in tags)
    # Proposals judged by people, their events stamped over the last 30 days in order.
    start = timezone.now() - timedelta(days=30)
    clock = iter([start + timedelta(seconds=30 * 24 * 3600 * k / events) for k in range(events)])
    annotation_ids = list(Annotation.objects.filter(image__project=project).values_list("pk", "image_id")[:events])
    with mock.patch("django.utils.timezone.now", side_effect=lambda: next(clock)):
        AnnotationEvent.objects.bulk_create(
            (AnnotationEvent(annotation_id=a, project_id=project.pk, image_id=img, action="state",
                             actor=crew[k % people], before={"state": "proposed", "origin": "model"},
                             after={"state": "accepted" if k % 3 else "rejected", "origin": "model"})
             for k, (a, img) in enumerate(annotation_ids)),
            batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
