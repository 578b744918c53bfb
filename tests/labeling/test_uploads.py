"""Bad uploads get a clear 400 naming the file and the reason, and leave nothing behind."""

import io
import os
import zipfile

import PIL.Image
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Image

from ..factories import image_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(project, manager, client_for):
    client = client_for(manager)

    def send(*files):
        return client.post(f"/api/projects/{project.pk}/images/", {"files": list(files)}, format="multipart")

    return send


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs] if os.path.exists(root) else []


def zip_of(entries: dict[str, bytes], name="batch.zip") -> SimpleUploadedFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return SimpleUploadedFile(name, out.getvalue())


def test_good_images_are_stored_with_their_sizes(post, project, settings):
    response = post(upload("a.png", width=64, height=48), upload("b.jpg", fmt="JPEG", width=30, height=20, color=(0, 0, 255)))
    assert response.status_code == 201, response.content
    created = response.json()["created"]
    assert [(i["file_name"], i["width"], i["height"]) for i in created] == [("a.png", 64, 48), ("b.jpg", 30, 20)]
    assert response.json()["errors"] == []
    assert Image.objects.filter(project=project).count() == 2
    assert len(stored_files(settings)) == 2


def test_exif_rotated_jpeg_reports_the_size_browsers_show(post):
    picture = PIL.Image.new("RGB", (60, 20), "red")
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90°: shown as 20 wide, 60 high
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif)
    created = post(SimpleUploadedFile("r.jpg", out.getvalue())).json()["created"][0]
    assert (created["width"], created["height"]) == (20, 60)


def _truncated_png():
    data = image_bytes(200, 200, color=(1, 2, 3))
    big = io.BytesIO()
    PIL.Image.effect_noise((300, 300), 50).convert("RGB").save(big, "PNG")
    return big.getvalue()[: len(big.getvalue()) // 2] if data else b""


def _bomb_png():
    # A real 20000×20000 PNG compresses to a few hundred kilobytes: the header alone must refuse it.
    out = io.BytesIO()
    PIL.Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


BAD = {
    "truncated.png": (_truncated_png, "could not be decoded"),
    "text.jpg": (lambda: b"hello, I am not a picture\n" * 10, "not an image"),
    "bomb.png": (_bomb_png, "over the limit"),
    "script.svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not an image"),
    "empty.png": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_gets_400_naming_it_and_stores_nothing(post, settings, name):
    make, reason = BAD[name]
    settings.IMAGE_MAX_PIXELS = 50_000_000
    response = post(SimpleUploadedFile(name, make()))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["created"] == []
    assert body["errors"][0]["file"] == name
    assert reason in body["errors"][0]["detail"]
    assert name in body["detail"]
    assert not Image.objects.exists()
    assert stored_files(settings) == []


def test_batch_keeps_good_files_and_reports_bad_ones(post, settings):
    response = post(upload("good.png"), SimpleUploadedFile("bad.jpg", b"nope"))
    assert response.status_code == 201
    body = response.json()
    assert [i["file_name"] for i in body["created"]] == ["good.png"]
    assert [e["file"] for e in body["errors"]] == ["bad.jpg"]
    assert len(stored_files(settings)) == 1


def test_duplicates_are_refused_within_a_batch_and_against_the_project(post):
    first = post(upload("a.png"), upload("copy.png"))
    assert [e["file"] for e in first.json()["errors"]] == ["copy.png"]
    again = post(upload("again.png"))
    assert again.status_code == 400
    assert "Already in the project" in again.json()["errors"][0]["detail"]


def test_zip_upload_stores_members_with_their_paths(post):
    archive = zip_of({"dir/one.png": image_bytes(color=(1, 1, 1)), "two.jpg": image_bytes(fmt="JPEG", color=(9, 9, 9))})
    response = post(archive)
    assert response.status_code == 201, response.content
    assert sorted(i["file_name"] for i in response.json()["created"]) == ["dir/one.png", "two.jpg"]


def test_zip_with_climbing_names_refuses_those_members(post, settings):
    archive = zip_of({"../evil.png": image_bytes(color=(5, 5, 5)), "ok.png": image_bytes(color=(6, 6, 6))})
    body = post(archive).json()
    assert [i["file_name"] for i in body["created"]] == ["ok.png"]
    assert body["errors"] == [{"file": "batch.zip/../evil.png", "detail": "The name climbs out of the archive's folder; refused."}]
    assert not any("evil" in f for f in stored_files(settings))


def test_zip_inside_zip_is_refused(post):
    inner = zip_of({"x.png": image_bytes()}).read()
    response = post(zip_of({"inner.zip": inner, "renamed.png": inner}))
    assert response.status_code == 400
    details = {e["file"]: e["detail"] for e in response.json()["errors"]}
    assert "Archives inside archives" in details["batch.zip/inner.zip"]
    assert "Archives inside archives" in details["batch.zip/renamed.png"]


def test_zip_bomb_is_refused_whole(post, settings):
    settings.ZIP_MAX_TOTAL_BYTES = 1_000_000
    response = post(zip_of({"zeros.png": b"\0" * 5_000_000}, name="bomb.zip"))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["file"] == "bomb.zip" and "zip bomb" in error["detail"]
    assert stored_files(settings) == []


def test_missing_files_field_is_a_clear_400(project, manager, client_for):
    response = client_for(manager).post(f"/api/projects/{project.pk}/images/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "files"
