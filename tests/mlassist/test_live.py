"""Live labels: the served classifier's TFLite file run by LiteRT in the web process, Keep and Correct.

The classifier is trained through the product (uploads, tags, a training run executed here) on
frames that are mostly red or mostly blue, as a camera would send them.
"""

import os
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, Image
from labeling.services.annotations import annotation_create
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create
from mlassist.models import ModelVersion
from mlassist.services.exports import tflite_export
from mlassist.services.training import model_version_promote, training_request, training_run_execute

from ..factories import MembershipFactory
from ..labeling.camera.frames import jpeg, noisy

pytestmark = [pytest.mark.slow]

RED, BLUE = (230, 30, 30), (30, 30, 230)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_TRAINED = {}  # the first test's trained classifier: its TFLite file, labels.txt and class order


def frame(colour, seed):
    return jpeg(noisy(seed, colour=colour), quality=85)


@pytest.fixture
def served(transactional_db, manager, annotator):
    """A tags project whose classifier v1 (red, blue) was trained from captured-like frames and is in service."""
    project = project_create(user=manager, name="Colours", kinds=["tag"], retrain_every=1000)
    MembershipFactory(project=project, user=annotator, role="annotator")
    red, blue = label_class_create(project=project, name="red"), label_class_create(project=project, name="blue")
    for i in range(16):
        cls, colour = (red, RED) if i % 2 == 0 else (blue, BLUE)
        files = [SimpleUploadedFile(f"{i}.jpg", frame(colour, i))]
        [image] = image_upload(project=project, user=manager, files=files).created
        annotation_create(image=image, user=manager, data={"label_class": cls.pk, "kind": "tag", "geometry": {}})
    if not _TRAINED:
        run = training_request(project=project, user=manager)
        training_run_execute(run_id=run.pk)
        version = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
        assert not version.tflite  # built after proposing, by its own task (queued by the run)
        tflite_export(version_id=version.pk)
        version.refresh_from_db()
        assert version.tflite, version
        names = dict(project.label_classes.values_list("id", "name"))
        with version.tflite.open("rb") as fh:
            _TRAINED.update(model=fh.read(), labels=version.tflite_labels, order=[names[i] for i in version.class_ids],
                            backbone_key=version.backbone_key)
    else:
        # Training and exporting take ~20 s: the later tests serve the file the first one trained,
        # stored as that run stored it (a classifier version in service, its TFLite file and labels).
        ids = dict(project.label_classes.values_list("name", "id"))
        version = ModelVersion(project=project, kind="classifier", number=1, in_service=True,
                               class_ids=[ids[n] for n in _TRAINED["order"]], tflite_labels=_TRAINED["labels"],
                               backbone_key=_TRAINED["backbone_key"])
        version.tflite.save(f"{project.pk}/classifier-v1.tflite", ContentFile(_TRAINED["model"]), save=False)
        version.save()
    return project, red, blue, version


def live(api, project, data):
    return api.post(f"/api/projects/{project.pk}/live/", {"frame": SimpleUploadedFile("f.jpg", data)},
                    format="multipart")


def test_live_labels_name_the_colour_and_the_version(served, annotator, client_for):
    project, red, blue, version = served
    api = client_for(annotator)
    for colour, cls in ((RED, red), (BLUE, blue), (RED, red)):
        response = live(api, project, frame(colour, 100))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["version"] == {"id": version.pk, "number": version.number}
        assert [label["label_class"] for label in body["labels"]][0] == cls.pk
        assert body["labels"][0]["name"] == cls.name
        assert len(body["labels"]) == 2 and body["labels"][0]["score"] >= body["labels"][1]["score"]
        assert set(body["timing_ms"]) == {"load", "decode", "infer"}


def test_a_promoted_version_is_used_from_the_next_frame(served, annotator, client_for):
    project, red, blue, version = served
    # Version 2: the same network with its outputs read the other way round, as a retrained model
    # that disagrees would answer. Promoting it must change the next frame's labels and version.
    swapped = ModelVersion.objects.create(
        project=project, kind="classifier", number=version.number + 1, class_ids=list(reversed(version.class_ids)),
        tflite=version.tflite.name, tflite_labels="".join(f"{n}\n" for n in reversed(version.tflite_labels.split())),
    )
    api = client_for(annotator)
    assert live(api, project, frame(RED, 5)).json()["labels"][0]["label_class"] == red.pk
    model_version_promote(version=swapped)
    body = live(api, project, frame(RED, 5)).json()
    assert body["version"]["number"] == version.number + 1
    assert body["labels"][0]["label_class"] == blue.pk


def test_a_frame_reads_the_project_once_and_never_counts_its_images(served, annotator, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, red, blue, version = served
    api = client_for(annotator)
    assert live(api, project, frame(RED, 6)).status_code == 200  # the interpreter and the version are loaded
    with CaptureQueriesContext(connection) as queries:
        body = live(api, project, frame(RED, 7)).json()
    assert body["version"]["id"] == version.pk and body["labels"][0]["label_class"] == red.pk
    sql = [q["sql"] for q in queries.captured_queries]
    # One query for the project, the role and which classifier serves; the classifier itself comes
    # from memory while it stays in service; nothing scans the project's images.
    assert sum('FROM "labeling_project"' in q for q in sql) == 1, sql
    assert not any(q.startswith('SELECT "labeling_membership"') for q in sql), sql
    assert not any(q.startswith('SELECT "mlassist_modelversion"') and "'classifier'" in q for q in sql), sql
    assert not any('"labeling_image"' in q for q in sql), sql
    assert len(sql) <= 4, sql  # + the token, the class names, the box and mask heads in service


def test_keep_stores_the_frame_with_the_models_labels_as_proposals(served, annotator, client_for):
    project, red, blue, version = served
    response = client_for(annotator).post(f"/api/projects/{project.pk}/live/frames/", {
        "frame": SimpleUploadedFile("f.jpg", frame(BLUE, 200)), "model_version": version.pk}, format="multipart")
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["image"])
    proposals = list(image.annotations.order_by("-score"))
    assert [(a.label_class_id, a.origin, a.state, a.model_version_id) for a in proposals] == [
        (blue.pk, "model", "proposed", version.pk), (red.pk, "model", "proposed", version.pk)]
    assert 0.5 < proposals[0].score <= 1 and image.created_by == annotator


def test_correct_stores_the_frame_with_the_persons_class(served, annotator, client_for):
    project, red, blue, version = served
    response = client_for(annotator).post(f"/api/projects/{project.pk}/live/frames/", {
        "frame": SimpleUploadedFile("f.jpg", frame(BLUE, 300)), "model_version": version.pk, "label_class": red.pk,
    }, format="multipart")
    assert response.status_code == 201, response.content
    tag = Annotation.objects.get(image_id=response.json()["image"])
    assert (tag.label_class, tag.origin, tag.state, tag.created_by) == (red, "human", "accepted", annotator)


def test_correct_right_after_keep_on_the_same_picture_tags_that_picture(served, annotator, client_for):
    """A still camera sends the same JPEG twice: Correct then applies to the image Keep stored."""
    project, red, blue, version = served
    api = client_for(annotator)
    same = frame(BLUE, 400)
    kept = api.post(f"/api/projects/{project.pk}/live/frames/", {
        "frame": SimpleUploadedFile("f.jpg", same), "model_version": version.pk}, format="multipart")
    assert kept.status_code == 201, kept.content
    corrected = api.post(f"/api/projects/{project.pk}/live/frames/", {
        "frame": SimpleUploadedFile("f.jpg", same), "model_version": version.pk, "label_class": red.pk,
    }, format="multipart")
    assert corrected.status_code == 201, corrected.content
    assert corrected.json()["image"] == kept.json()["image"]
    image = Image.objects.get(pk=kept.json()["image"])
    assert list(image.annotations.filter(origin="human").values_list("label_class", "state")) == [(red.pk, "accepted")]
    # Keep on a picture already stored is still refused: its proposals are already there.
    again = api.post(f"/api/projects/{project.pk}/live/frames/", {
        "frame": SimpleUploadedFile("f.jpg", same), "model_version": version.pk}, format="multipart")
    assert again.status_code == 400 and "Already in the project" in again.json()["errors"][0]["detail"]


def test_refusals_name_what_is_wrong_and_store_nothing(served, annotator, client_for):
    project, red, blue, version = served
    api = client_for(annotator)
    images = Image.objects.count()
    broken = live(api, project, frame(RED, 1)[:300])
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "frame"
    url = f"/api/projects/{project.pk}/live/frames/"
    wrong_version = api.post(url, {"frame": SimpleUploadedFile("f.jpg", frame(RED, 9)), "model_version": 10**6},
                             format="multipart")
    assert wrong_version.status_code == 400 and wrong_version.json()["errors"][0]["field"] == "model_version"
    huge = api.post(url, {"frame": SimpleUploadedFile("f.jpg", frame(RED, 9)), "model_version": str(2**64),
                          "label_class": str(2**64)}, format="multipart")
    assert huge.status_code == 400
    assert {e["field"] for e in huge.json()["errors"]} == {"model_version", "label_class"}
    already = api.post(url, {"frame": SimpleUploadedFile("f.jpg", frame(RED, 0)), "model_version": version.pk},
                       format="multipart")  # frame 0 was a training picture
    assert already.status_code == 400 and "Already in the project" in already.json()["detail"]
    assert Image.objects.count() == images


def test_a_version_without_its_tflite_file_says_so_and_asks_for_it(served, annotator, client_for):
    project, red, blue, version = served
    bare = ModelVersion.objects.create(project=project, kind="classifier", number=7, class_ids=version.class_ids,
                                       backbone_key=version.backbone_key)
    model_version_promote(version=bare)
    response = live(client_for(annotator), project, frame(RED, 1))
    assert response.status_code == 404 and response.json()["detail"] == (
        "No TFLite file for version 7 yet: it is being built (about 15 s) and the labels start by themselves.")
    bare.refresh_from_db()
    assert "tflite_requested_at" in bare.metrics  # the build was queued (mlassist/services/exports.py)


@pytest.mark.parametrize("change,detail", [
    ({"metrics": {"files_removed": True}}, "the retention policy removed its files"),
    ({"backbone_key": "another"}, "it was trained on another backbone"),
])
def test_a_version_whose_tflite_file_cannot_be_built_says_why(served, annotator, client_for, change, detail):
    project, red, blue, version = served
    fields = {"backbone_key": version.backbone_key, **change}
    bare = ModelVersion.objects.create(project=project, kind="classifier", number=7, class_ids=version.class_ids,
                                       **fields)
    # Put in service directly: promoting a version whose files were removed is refused, but one may
    # have been serving when the policy ran.
    ModelVersion.objects.filter(project=project, kind="classifier").update(in_service=False)
    ModelVersion.objects.filter(pk=bare.pk).update(in_service=True)
    response = live(client_for(annotator), project, frame(RED, 1))
    assert response.status_code == 404
    assert response.json()["detail"].startswith(f"No TFLite file for version 7: {detail}")


def test_no_classifier_in_service_says_what_to_do(project, classes, annotator, client_for):
    response = live(client_for(annotator), project, frame(RED, 1))
    assert response.status_code == 404 and "No tag classifier is in service yet" in response.json()["detail"]


def test_outsiders_get_404(served, outsider, client_for):
    project, *_ = served
    assert live(client_for(outsider), project, frame(RED, 1)).status_code == 404


def test_serving_a_tflite_file_never_imports_tensorflow(served, tmp_path):
    project, red, blue, version = served
    (tmp_path / "f.jpg").write_bytes(frame(RED, 1))
    code = (
        "import sys; from mlassist.services.live import _Runner, _pixels;"
        f"runner = _Runner(open({version.tflite.path!r}, 'rb').read());"
        f"print(runner(_pixels(open({str(tmp_path / 'f.jpg')!r}, 'rb').read(), runner.size)).argmax());"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup();" + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[]"
