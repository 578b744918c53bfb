"""Finished images, and kinds a person settled, are not proposed again after a retrain."""

import json

import pytest

from labeling.models import Annotation
from labeling.services.coco import coco_export_chunks

from .synthetic import feature_images, proposed, tag, train

pytestmark = pytest.mark.django_db


@pytest.fixture
def tag_project(project, classes, annotator):
    project.set_kinds(["tag"])
    project.proposal_threshold = 0.01  # the manager's explicit choice: every image's best tag is proposed
    project.save()
    truth = [i % 2 for i in range(30)]
    images = feature_images(project, truth)
    for image, cls in list(zip(images, truth))[:10]:
        tag(image, classes[cls], annotator)
    project.images.filter(pk__in=[i.pk for i in images[:10]]).update(status="done")
    return project, images, truth


def test_an_accepted_proposal_and_a_finished_image_get_no_new_proposals(tag_project, classes, annotator, client_for):
    project, images, truth = tag_project
    train(project)
    open_images = images[10:]
    assert set(proposed(project).values_list("image_id", flat=True)) == {i.pk for i in open_images}
    api = client_for(annotator)
    # One proposal accepted in the workspace (the image stays "in progress"), one image marked done
    # without any label, one proposal rejected.
    accepted = proposed(project, image=open_images[0]).get()
    r = api.patch(f"/api/annotations/{accepted.pk}/", {"state": "accepted", "version": accepted.version}, format="json")
    assert r.status_code == 200, r.content
    assert api.patch(f"/api/images/{open_images[1].pk}/", {"status": "done"}, format="json").status_code == 200
    rejected = proposed(project, image=open_images[2]).get()
    r = api.patch(f"/api/annotations/{rejected.pk}/", {"state": "rejected", "version": rejected.version}, format="json")
    assert r.status_code == 200, r.content

    train(project)  # a retrain proposes again

    assert not proposed(project, image=open_images[0]).exists()
    assert not proposed(project, image=open_images[1]).exists()
    # The rejected class is not proposed again on that image: the next best one is, in its place.
    [instead] = proposed(project, image=open_images[2])
    assert instead.label_class_id != rejected.label_class_id and instead.score > 0.5
    assert proposed(project).count() == len(open_images) - 3 + proposed(project, image=open_images[2]).count()
    # The export with proposals tags every image at most once (single-label project).
    doc = json.loads(b"".join(coco_export_chunks(project=project, states=("accepted", "proposed"))))
    tags = {row["file_name"]: row.get("attributes", {}).get("tags", []) for row in doc["images"]}
    assert len(tags[open_images[0].file_name]) == 1
    assert max(len(t) for t in tags.values()) == 1


def test_a_finished_project_ends_with_no_proposals(tag_project, classes, annotator):
    project, images, truth = tag_project
    train(project)
    assert proposed(project).exists()
    # Everyone finishes: the rest labelled by hand (a stale proposal stays until the next refresh).
    for image, cls in list(zip(images, truth))[10:]:
        tag(image, classes[cls], annotator)
    project.images.update(status="done")
    train(project)
    assert not proposed(project).exists()
    assert Annotation.objects.filter(image__project=project, state="accepted").count() == len(images)


def test_an_image_someone_has_open_keeps_its_proposals_through_a_retrain(tag_project, classes, annotator, client_for):
    project, images, truth = tag_project
    train(project)
    api = client_for(annotator)
    opened = api.get(f"/api/projects/{project.pk}/next-image/").json()["id"]
    before = proposed(project, image_id=opened).get()
    train(project)
    # The person's accept still finds the proposal they are looking at.
    r = api.patch(f"/api/annotations/{before.pk}/", {"state": "accepted", "version": before.version}, format="json")
    assert r.status_code == 200, r.content
    assert proposed(project).exclude(image_id=opened).count() == len(images) - 11


def test_a_retrain_leaves_other_sources_proposals_alone(tag_project, classes, manager, client_for):
    """MAIA's proposals (no version) and an external model's pushed predictions are not our heads' to replace."""
    from mlassist.models import ModelVersion

    project, images, truth = tag_project
    target = images[20]
    external = ModelVersion.objects.create(project=project, kind="classifier", number=99,
                                           metrics={"source": "external", "name": "partner", "version": "1"})
    common = dict(image=target, kind="tag", origin="model", state="proposed", score=0.9)
    theirs = Annotation.objects.create(label_class=classes[0], model_version=external, **common)
    maia = Annotation.objects.create(label_class=classes[1], model_version=None, **common)

    train(project)

    assert set(Annotation.objects.filter(pk__in=[theirs.pk, maia.pk]).values_list("pk", flat=True)) == {theirs.pk, maia.pk}
    ours = proposed(project, image=target).exclude(pk__in=[theirs.pk, maia.pk])
    assert ours.count() == 1 and ours.get().model_version.metrics.get("source") != "external"
    # An external model's version is not something to put in service.
    answer = client_for(manager).post(f"/api/projects/{project.pk}/model-versions/{external.pk}/promote/")
    assert answer.status_code == 400 and "external" in answer.json()["errors"][0]["detail"]
