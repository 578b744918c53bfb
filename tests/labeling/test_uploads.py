"""Bad uploads get a clear 400 naming the file and the reason, and leave nothing behind."""

import io
import os
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

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


def test_zip_upload_stores_members_under_their_base_names(post):
    archive = zip_of({"dir/one.png": image_bytes(color=(1, 1, 1)), "two.jpg": image_bytes(fmt="JPEG", color=(9, 9, 9))})
    response = post(archive)
    assert response.status_code == 201, response.content
    assert sorted(i["file_name"] for i in response.json()["created"]) == ["one.png", "two.jpg"]


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


# --- Names, formats and bounded memory ------------------------------------------------------


def test_names_are_stored_as_safe_base_names(post, settings):
    archive = zip_of({
        "a\\b\\back.png": image_bytes(color=(2, 1, 1)),
        "dir/.hidden.png": image_bytes(color=(3, 1, 1)),
        "dir/ctl\x07\u202ename.png": image_bytes(color=(4, 1, 1)),
        "noext": image_bytes(color=(5, 1, 1)),
        "dir/" + "x" * 300 + ".png": image_bytes(color=(6, 1, 1)),
    })
    response = post(archive, upload("..png", color=(7, 1, 1)))
    assert response.status_code == 201, response.json()
    names = sorted(i["file_name"] for i in response.json()["created"])
    assert names == sorted(["back.png", "hidden.png", "ctlname.png", "noext.png", "x" * 196 + ".png", "image.png"])


def test_mpo_camera_jpegs_are_stored_as_their_first_jpeg_frame(post):
    out = io.BytesIO()
    first, second = PIL.Image.new("RGB", (60, 40), (200, 0, 0)), PIL.Image.new("RGB", (60, 40), (0, 0, 200))
    first.save(out, "MPO", save_all=True, append_images=[second])
    data = out.getvalue()
    assert PIL.Image.open(io.BytesIO(data)).format == "MPO"
    response = post(SimpleUploadedFile("stereo.jpg", data))
    assert response.status_code == 201, response.json()
    created = response.json()["created"][0]
    assert (created["file_name"], created["width"], created["height"]) == ("stereo.jpg", 60, 40)
    image = Image.objects.get(pk=created["id"])
    assert image.format == "JPEG" and image.size < len(data)
    with image.file.open("rb") as fh:
        stored = fh.read()
    assert stored.endswith(b"\xff\xd9") and data.startswith(stored)  # the first JPEG stream, whole
    assert PIL.Image.open(io.BytesIO(stored)).convert("RGB").getpixel((30, 20))[0] > 150


def test_a_zip_of_zero_filled_members_is_refused_member_by_member_in_bounded_memory(post, settings):
    """Five 40 MB zero-filled members (a 200 KB zip, within every limit) used to be read whole."""
    archive = zip_of({f"zeros{i}.png": b"\0" * 40_000_000 for i in range(5)}, name="zeros.zip")
    assert archive.size < 1_000_000
    tracemalloc.start()
    try:
        response = post(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert [e["file"] for e in response.json()["errors"]] == [f"zeros.zip/zeros{i}.png" for i in range(5)]
    assert all("not an image" in e["detail"] for e in response.json()["errors"])
    assert peak < 10_000_000, peak  # was over 40 MB: a member read whole
    assert stored_files(settings) == []


def test_a_member_past_the_file_limit_is_refused_alone(post, settings):
    settings.UPLOAD_MAX_FILE_BYTES = 2_000_000
    png = image_bytes(color=(8, 8, 8))
    body = post(zip_of({"padded.png": png + b"\0" * 5_000_000, "ok.png": png}, name="big.zip")).json()
    assert [i["file_name"] for i in body["created"]] == ["ok.png"]
    assert body["errors"] == [
        {"file": "big.zip/padded.png", "detail": f"The file has {len(png) + 5_000_000} bytes; the limit is 2000000."}
    ]


def blank_png(width: int, height: int, *, truncate_idat: bool = False) -> bytes:
    """A black RGB PNG written row by row (a 100-MP one is ~300 KB and never exists as a bitmap)."""
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    packer, row = zlib.compressobj(9), b"\0" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    if truncate_idat:
        idat = idat[: len(idat) // 2]
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_large_pngs_are_verified_without_their_bitmap(settings):
    """Above IMAGE_FULL_DECODE_MAX_PIXELS a PNG is inflated as a stream: incomplete data is still refused."""
    from labeling.services.uploads import UploadRefused, check_image

    settings.IMAGE_FULL_DECODE_MAX_PIXELS = 10_000
    checked = check_image("big.png", blank_png(3000, 2000))
    assert (checked.width, checked.height, checked.format) == (3000, 2000, "PNG")
    with pytest.raises(UploadRefused, match="incomplete|truncated|could not be decoded"):
        check_image("cut.png", blank_png(3000, 2000, truncate_idat=True))
    for at, problem in ((-20, "incorrect data check"), (-14, "CRC mismatch")):  # IDAT's data, IDAT's CRC
        data = bytearray(blank_png(300, 200))
        data[at] ^= 0xFF
        with pytest.raises(UploadRefused, match=problem):
            check_image("flipped.png", bytes(data))


def test_a_100_megapixel_png_is_checked_in_bounded_memory(tmp_path):
    """The worst upload of the issue: 100 MP in a few hundred KB. Measured as the ru_maxrss growth of a
    fresh process (Pillow's bitmaps are outside tracemalloc's view); a full decode needs 300 MB."""
    path = tmp_path / "huge.png"
    path.write_bytes(blank_png(10_000, 10_000))
    code = (
        "import resource, django; django.setup(); from labeling.services.uploads import check_image;"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        f"c = check_image('huge.png', open({str(path)!r}, 'rb'));"
        "print(c.width, c.height, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    width, height, grown_kib = map(int, out.stdout.split())
    assert (width, height) == (10_000, 10_000)
    assert grown_kib < 50_000, grown_kib


def test_thumbnails_of_huge_pngs_are_made_in_bounded_memory_and_upright(tmp_path):
    """The thumbnail task decoded a 100-MP PNG whole (400 MB); now strip by strip. Orientation still applies."""
    from labeling.services.images import thumbnail_of

    rotated = io.BytesIO()
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotated 90°: the thumbnail is taller than wide
    PIL.Image.new("RGB", (900, 300), (0, 200, 0)).save(rotated, "PNG", exif=exif)
    rotated.seek(0)
    assert thumbnail_of(rotated, 256).size == (85, 256)

    path = tmp_path / "huge.png"
    path.write_bytes(blank_png(10_000, 10_000))
    code = (
        "import resource, django; django.setup(); from labeling.services.images import thumbnail_of;"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        f"t = thumbnail_of(open({str(path)!r}, 'rb'), 256);"
        "print(t.size[0], t.size[1], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    width, height, grown_kib = map(int, out.stdout.split())
    assert (width, height) == (256, 256)
    assert grown_kib < 100_000, grown_kib
