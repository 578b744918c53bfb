"""What stands between an accept and new proposals: no TFLite build, warm-started box heads."""

import pytest

from labeling.services.annotations import annotation_create
from mlassist.models import ModelVersion

from .synthetic import feature_images, proposed, tag, train

pytestmark = pytest.mark.django_db


def test_a_retrain_proposes_without_building_the_tflite_file_which_the_download_asks_for(
        project, classes, annotator, manager, client_for):
    project.set_kinds(["tag"])
    project.save()
    truth = [i % 2 for i in range(20)]
    images = feature_images(project, truth)
    for image, cls in list(zip(images, truth))[:10]:
        tag(image, classes[cls], annotator)
    run = train(project)
    assert run.stage == "done" and proposed(project).count() == 10
    version = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
    assert not version.tflite  # not on the way to proposals (it took ~12 s of every retrain)
    api = client_for(annotator)
    first = api.get(f"/api/projects/{project.pk}/model/tflite/")
    assert first.status_code == 202 and first["Retry-After"]
    assert "being built" in first.json()["detail"] and first.json()["errors"][0]["field"] == "file"
    version.refresh_from_db()
    asked = version.metrics["tflite_requested_at"]
    assert api.get(f"/api/projects/{project.pk}/model/tflite/").status_code == 202
    version.refresh_from_db()
    assert version.metrics["tflite_requested_at"] == asked  # asked once, not once per poll
    # A project that uses the file gets the next version's built after its proposals are stored.
    for image, cls in list(zip(images, truth))[10:14]:
        tag(image, classes[cls], annotator)
    train(project)
    newer = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
    assert newer.number == 2 and "tflite_requested_at" in newer.metrics


def test_a_project_that_never_used_tflite_never_builds_it(project, classes, annotator):
    project.set_kinds(["tag"])
    project.save()
    truth = [i % 2 for i in range(20)]
    images = feature_images(project, truth)
    for stop in (8, 14):
        for image, cls in list(zip(images, truth))[stop - 6 if stop > 8 else 0 : stop]:
            tag(image, classes[cls], annotator)
        train(project)
    assert not any("tflite_requested_at" in v.metrics or v.tflite
                   for v in ModelVersion.objects.filter(project=project))


def box(image):
    # The synthetic object fills the middle 2x2 cells of the 4x4 map: the middle half of the picture.
    return {"x": image.width / 4, "y": image.height / 4, "w": image.width / 2, "h": image.height / 2}


def test_box_heads_warm_start_from_the_serving_version_and_choose_their_threshold(project, classes, annotator):
    project.set_kinds(["box"])
    project.save()
    truth = [i % 2 for i in range(30)]
    images = feature_images(project, truth, seed=5)
    for image, cls in list(zip(images, truth))[:12]:
        annotation_create(image=image, user=annotator, data={"label_class": classes[cls].pk, "kind": "box",
                                                             "geometry": box(image)})
    train(project)
    v1 = ModelVersion.objects.get(project=project, kind="detector", number=1)
    assert v1.metrics["warm_start"] is False
    for image, cls in list(zip(images, truth))[12:20]:
        annotation_create(image=image, user=annotator, data={"label_class": classes[cls].pk, "kind": "box",
                                                             "geometry": box(image)})
    train(project)
    v2 = ModelVersion.objects.get(project=project, kind="detector", number=2)
    assert v2.metrics["warm_start"] is True
    assert 0.05 <= v2.metrics["threshold"] <= 0.95 and "recall_at_threshold" in v2.metrics
    served = ModelVersion.objects.get(project=project, kind="detector", in_service=True)
    assert set(proposed(project).values_list("image_id", flat=True)) <= {i.pk for i in images[20:]}
    assert all(p.score >= served.metrics["threshold"] for p in proposed(project))
    # One object a picture was drawn: at most two proposals a picture, the best ones.
    assert served.metrics["max_per_image"] == 2
    per_image = {}
    for p in proposed(project):
        per_image[p.image_id] = per_image.get(p.image_id, 0) + 1
    assert max(per_image.values(), default=0) <= 2
