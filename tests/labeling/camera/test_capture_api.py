"""The capture API: camera frames into a class through the upload checks, dedup and the tag rules."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, Image

from ...factories import LabelClassFactory, ProjectFactory
from .frames import face_frame, jpeg, noisy

pytestmark = pytest.mark.django_db


def frames(*seeds, **kwargs):
    return [SimpleUploadedFile(f"capture-{s}.jpg", jpeg(noisy(s, **kwargs)), content_type="image/jpeg") for s in seeds]


def capture(api, project, cls, files, faces=False):
    return api.post(f"/api/projects/{project.pk}/capture/",
                    {"label_class": cls.pk, "frames": files, "faces": "true" if faces else "false"}, format="multipart")


def test_an_annotator_captures_frames_into_a_class_and_sees_the_count(project, classes, annotator, client_for):
    api = client_for(annotator)
    response = capture(api, project, classes[1], frames(1, 2, 3))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stored"] == 3 and body["duplicates"] == 0 and body["errors"] == []
    assert body["counts"][str(classes[1].pk)] == 3 and body["counts"][str(classes[0].pk)] == 0
    tags = Annotation.objects.filter(image_id__in=body["images"])
    assert sorted(tags.values_list("label_class", "kind", "origin", "state")) == [
        (classes[1].pk, "tag", "human", "accepted")] * 3
    assert all(tag.created_by == annotator for tag in tags)
    assert api.get(f"/api/projects/{project.pk}/capture/").json()["counts"][str(classes[1].pk)] == 3


def test_the_same_picture_again_is_counted_as_a_duplicate_not_stored(project, classes, annotator, client_for):
    api = client_for(annotator)
    assert capture(api, project, classes[0], frames(1, 2)).status_code == 201
    # A still camera: the same JPEG twice in one batch, and the earlier ones again.
    response = capture(api, project, classes[0], frames(1, 2, 5, 5))
    assert response.status_code == 201
    body = response.json()
    assert (body["stored"], body["duplicates"], body["errors"]) == (1, 3, [])
    assert project.images.count() == 3
    assert body["counts"][str(classes[0].pk)] == 3


def test_a_frame_sent_again_after_a_request_cut_short_gets_its_class(project, classes, annotator, client_for):
    from labeling.services.images import image_upload

    api = client_for(annotator)
    assert capture(api, project, classes[0], frames(1)).status_code == 201
    # Frame 2 was stored but the request stopped before its tag (a crash, a lost connection): the page
    # kept it and sends it again with the rest of its batch.
    [cut_short] = image_upload(project=project, user=annotator, files=frames(2)).created
    response = capture(api, project, classes[0], frames(1, 2, 3, 3))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["stored"], body["duplicates"], body["errors"]) == (2, 2, [])
    assert cut_short.pk in body["images"] and project.images.count() == 3
    assert body["counts"][str(classes[0].pk)] == 3
    assert list(cut_short.annotations.values_list("label_class", "state")) == [(classes[0].pk, "accepted")]
    # Tagged now: the next time it is a plain duplicate, and a tagged picture never gets a second class.
    body = capture(api, project, classes[1], frames(2)).json()
    assert (body["stored"], body["duplicates"]) == (0, 1) and cut_short.annotations.count() == 1


def test_face_mode_stores_each_face_crop_and_counts_frames_without_one(project, classes, annotator, client_for):
    api = client_for(annotator)
    files = [SimpleUploadedFile("face.jpg", jpeg(face_frame((480, 640)))), *frames(7)]
    response = capture(api, project, classes[0], files, faces=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["stored"], body["faces"], body["no_face"]) == (1, 1, 1)
    crop = Image.objects.get(pk=body["images"][0])
    # The crop, not the frame: a square around the face with its margin, a lossless PNG.
    assert crop.format == "PNG" and crop.file_name == "face-face1.png"
    assert 150 < crop.width < 480 and abs(crop.width - crop.height) <= 2
    assert crop.annotations.get().label_class == classes[0]


def test_a_broken_frame_is_named_and_the_others_are_stored(project, classes, annotator, client_for):
    broken = SimpleUploadedFile("capture-broken.jpg", jpeg(noisy(3))[:500])
    response = capture(client_for(annotator), project, classes[0], [*frames(1), broken])
    assert response.status_code == 201
    body = response.json()
    assert body["stored"] == 1
    assert [e["file"] for e in body["errors"]] == ["capture-broken.jpg"]
    assert project.images.count() == 1


def test_a_class_of_another_project_is_refused_before_anything_is_stored(project, classes, annotator, client_for):
    theirs = LabelClassFactory(project=ProjectFactory())
    response = capture(client_for(annotator), project, theirs, frames(1))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "label_class"
    assert f"No class {theirs.pk} in this project." in response.json()["detail"]
    assert not Image.objects.exists()


def test_an_id_past_64_bits_is_refused_naming_the_field(project, classes, annotator, client_for):
    response = client_for(annotator).post(f"/api/projects/{project.pk}/capture/",
                                          {"label_class": str(2**64), "frames": frames(1)}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "label_class"
    assert not Image.objects.exists()


def test_no_frames_and_too_many_frames_are_refused_naming_the_field(project, classes, annotator, client_for):
    api = client_for(annotator)
    assert capture(api, project, classes[0], []).json()["errors"][0]["field"] == "frames"
    response = capture(api, project, classes[0], frames(*range(51), size=(16, 16)))
    assert response.status_code == 400 and "at most 50" in response.json()["detail"]
    assert not Image.objects.exists()


def test_outsiders_cannot_capture(project, classes, outsider, client_for):
    response = capture(client_for(outsider), project, classes[0], frames(1))
    assert response.status_code == 404
    assert not Image.objects.exists()


def test_pages_show_for_members_only(project, classes, annotator, outsider, client):
    client.force_login(annotator)
    for page in ("capture", "live"):
        html = client.get(f"/projects/{project.pk}/{page}/")
        assert html.status_code == 200 and b"camera-config" in html.content
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/capture/").status_code == 404
