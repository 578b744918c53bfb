"""The camera pages in Chromium with a fake camera playing a generated clip (.y4m) of known content.

Each test launches its own Chromium: the clip is a command-line flag
(--use-file-for-fake-video-capture), so the shared session browser cannot play it.
"""

import re
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from labeling.models import Annotation, Image
from labeling.services.annotations import annotation_create
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create
from mlassist.models import ModelVersion
from mlassist.services.training import model_version_promote, training_request

from ..factories import MembershipFactory
from ..labeling.camera.frames import face_frame, jpeg, noisy
from ..waiting import wait

pytestmark = pytest.mark.browser

RED, BLUE = (230, 30, 30), (30, 30, 230)


def write_y4m(path, frames, fps):
    """Raw YUV4MPEG2 4:2:0 (full-range BT.601, as Chromium's file capture reads C420jpeg)."""
    with open(path, "wb") as out:
        height, width = frames[0].shape[:2]
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
            v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
            sub = lambda c: c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))  # noqa: E731
            out.write(b"FRAME\n")
            for plane in (y, sub(u), sub(v)):
                out.write(np.clip(np.round(plane), 0, 255).astype(np.uint8).tobytes())


@pytest.fixture
def camera(browser_type, browser_type_launch_args, browser_context_args, live_server, transactional_db, tmp_path):
    """open(user, frames, fps, fake_ui=True, fake_device=True, host=None) -> a signed-in page whose camera
    plays ``frames`` in a loop (``host``: reach the server by that name instead of localhost)."""
    browsers, violations = [], []

    def open_page(user, frames, fps=10, fake_ui=True, fake_device=True, host=None):
        clip = tmp_path / f"clip{len(browsers)}.y4m"
        write_y4m(clip, frames, fps)
        args = list(browser_type_launch_args["args"])
        if fake_device:
            args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]
        if host:
            args.append(f"--host-resolver-rules=MAP {host} 127.0.0.1")
        if fake_ui:
            args.append("--use-fake-ui-for-media-stream")  # answers the permission prompt with "allow"
        browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
        browsers.append(browser)
        page = browser.new_context(**browser_context_args).new_page()
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        base = live_server.url.replace("localhost", host) if host else live_server.url
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw-secret-123")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        return page

    yield open_page
    for browser in browsers:
        browser.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def numbered_frames(n):
    """Distinct pictures: noise whose seed is the frame number."""
    return [noisy(i) for i in range(n)]


def hold_space(page, seconds):
    page.keyboard.down("Space")
    page.wait_for_timeout(seconds * 1000)
    page.keyboard.up("Space")


def tagged(project, cls):
    return Annotation.objects.filter(image__project=project, label_class=cls, kind="tag", state="accepted",
                                     origin="human").count()


def test_holding_space_captures_frames_into_the_class_and_counts_them(camera, live_server, project, classes,
                                                                      annotator):
    page = camera(annotator, numbered_frames(40), fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#capture-hold")).to_be_enabled()
    page.keyboard.press(classes[1].hotkey)  # the class's key picks it
    expect(page.locator("#capture-class")).to_have_value(str(classes[1].pk))
    hold_space(page, 2)
    status = page.locator("#capture-queue")
    shown = wait(lambda: settled(status), 60, "every captured frame to be answered for")
    assert "0 queued (kept on this device)" in status.inner_text()
    counts = page.locator(f"#capture-counts li[data-class='{classes[1].pk}'] .count")
    stored = tagged(project, classes[1])
    # At 5 frames/s for 2 s: about 10 frames, each stored (or a duplicate when the camera had not moved on).
    assert 6 <= stored <= 14, (stored, status.inner_text())
    expect(counts).to_have_text(str(stored))
    assert shown["captured"] == shown["stored"] + shown["duplicates"] == stored + shown["duplicates"]
    assert Image.objects.filter(project=project).count() == stored
    assert tagged(project, classes[0]) == 0


def figures(status):
    """The numbers the Capture page's status line shows."""
    text = status.inner_text()
    found = {name: re.search(pattern, text) for name, pattern in (
        ("captured", r"Captured (\d+)"), ("stored", r"stored (\d+)"), ("queued", r"(\d+) queued"),
        ("duplicates", r"duplicates (\d+)"))}
    return {name: int(m.group(1)) if m else 0 for name, m in found.items()}


def settled(status):
    """The figures once every frame captured on the page is answered for, else None."""
    shown = figures(status)
    return shown if shown["queued"] == 0 and shown["captured"] == shown["stored"] + shown["duplicates"] else None


def queued(status):
    return figures(status)["queued"]


def block_uploads(page):
    page.route("**/capture/", lambda route: route.abort() if route.request.method == "POST" else route.continue_())


def test_frames_captured_while_the_network_is_down_survive_a_reload_and_are_sent_when_it_returns(
        camera, live_server, project, classes, annotator):
    page = camera(annotator, numbered_frames(40), fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#capture-hold")).to_be_enabled()
    block_uploads(page)
    page.keyboard.press(classes[1].hotkey)
    hold_space(page, 2)
    status = page.locator("#capture-queue")
    counts = page.locator(f"#capture-counts li[data-class='{classes[1].pk}'] .count")
    expect(status).to_contain_text("the network stalled")
    waiting = queued(status)
    assert waiting >= 6 and Image.objects.count() == 0
    expect(status).to_contain_text(f"{waiting} queued (kept on this device)")
    expect(counts).to_have_text(f"0 (+{waiting} queued)")
    # The tab reloads (or crashes, or is closed and opened again) while the network is still down.
    page.reload()
    expect(status).to_contain_text(f"{waiting} frames kept from an earlier visit")
    expect(status).to_contain_text(f"{waiting} queued (kept on this device)")
    expect(status).to_contain_text("the network stalled")
    expect(counts).to_have_text(f"0 (+{waiting} queued)")
    assert Image.objects.count() == 0
    page.unroute("**/capture/")
    expect(status).to_contain_text(" 0 queued", timeout=20_000)
    expect(status).not_to_contain_text("stalled")
    text = status.inner_text()
    duplicates = int(text.split("duplicates ")[1].split(" ")[0]) if "duplicates" in text else 0
    stored = tagged(project, classes[1])
    assert stored + duplicates == waiting and Image.objects.count() == stored
    expect(counts).to_have_text(str(stored))
    page.reload()  # nothing left to send
    expect(counts).to_have_text(str(stored))
    expect(status).not_to_contain_text("earlier visit")


def test_queued_frames_can_be_discarded_and_are_never_sent(camera, live_server, project, classes, annotator):
    page = camera(annotator, numbered_frames(40), fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#capture-hold")).to_be_enabled()
    discard = page.locator("#capture-discard")
    expect(discard).to_be_disabled()
    block_uploads(page)
    hold_space(page, 1)
    status = page.locator("#capture-queue")
    expect(status).to_contain_text("the network stalled")
    waiting = queued(status)
    page.reload()
    expect(status).to_contain_text(f"{waiting} queued (kept on this device)")
    discard.click()
    expect(page.locator("#confirm h2")).to_have_text(f"Discard {waiting} queued frames?")
    page.click("#confirm-cancel")
    expect(status).to_contain_text(f"{waiting} queued")
    discard.click()
    page.click("#confirm-ok")
    expect(status).to_contain_text(f" 0 queued (kept on this device) · {waiting} frames kept from an earlier visit")
    expect(status).to_contain_text(f"discarded {waiting}")
    expect(discard).to_be_disabled()
    expect(page.locator(f"#capture-counts li[data-class='{classes[0].pk}'] .count")).to_have_text("0")
    page.reload()
    expect(status).to_have_text("Captured 0 · stored 0 · 0 queued (kept on this device)")  # no frame was kept
    expect(page.locator("#capture-hold")).to_be_enabled()
    # With the network back, only what is captured now reaches the server.
    page.unroute("**/capture/")
    hold_space(page, 0.5)
    shown = wait(lambda: settled(status), 60, "the new frames to be sent")
    assert shown["stored"] >= 1
    assert Image.objects.count() == tagged(project, classes[0]) == shown["stored"]


def test_face_mode_stores_the_face_not_the_frame(camera, live_server, project, classes, annotator):
    page = camera(annotator, [face_frame((480, 640))] * 5, fps=5)
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#capture-hold")).to_be_enabled()
    page.check("#capture-faces")
    hold_space(page, 1)
    status = page.locator("#capture-queue")
    wait(lambda: figures(status)["captured"] and not queued(status), 60, "the frames to be sent")
    expect(status).to_contain_text("faces ")
    images = list(Image.objects.filter(project=project))
    assert images, "no face was stored"
    for image in images:
        # A crop around the face (with its margin), far smaller than the 640x480 frame.
        assert image.format == "PNG" and 100 < image.width < 400 and abs(image.width - image.height) <= 2
        assert image.annotations.get().label_class == classes[0]


def test_denied_camera_permission_says_what_to_do(camera, live_server, project, classes, annotator):
    page = camera(annotator, numbered_frames(2), fake_ui=False)
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#camera-message")).to_contain_text("Camera access was denied. Allow the camera for this site")
    expect(page.locator("#capture-hold")).to_be_disabled()


def test_no_camera_says_what_to_do(camera, live_server, project, classes, annotator):
    page = camera(annotator, numbered_frames(2), fake_device=False)  # a machine with no camera at all
    page.goto(f"{live_server.url}/projects/{project.pk}/capture/")
    expect(page.locator("#camera-message")).to_contain_text("No camera was found. Connect a camera")
    expect(page.locator("#capture-hold")).to_be_disabled()


def test_a_plain_http_address_says_to_use_https_or_localhost(camera, live_server, project, classes, annotator,
                                                            settings):
    # http://camera.test is what another machine on the network sees: not a secure origin.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "camera.test"]
    page = camera(annotator, numbered_frames(2), host="camera.test")
    base = live_server.url.replace("localhost", "camera.test")
    for name in ("capture", "live"):
        page.goto(f"{base}/projects/{project.pk}/{name}/")
        expect(page.locator("#camera-message")).to_contain_text(
            f"The camera only works on a secure page, and {base} is not one. Open this site over HTTPS, or as "
            "http://localhost")



def coloured(colour, seed):
    return noisy(seed, colour=colour)


@pytest.fixture
def trained(camera, manager, annotator, start_worker):
    """A tags project (red, blue) whose first classifier a real worker trained from camera-like frames."""
    project = project_create(user=manager, name="Colours", kinds=["tag"], retrain_every=1000)
    MembershipFactory(project=project, user=annotator, role="annotator")
    red, blue = label_class_create(project=project, name="red"), label_class_create(project=project, name="blue")
    for i in range(16):
        cls, colour = (red, RED) if i % 2 == 0 else (blue, BLUE)
        upload = SimpleUploadedFile(f"{i}.jpg", jpeg(coloured(colour, i)))
        [image] = image_upload(project=project, user=manager, files=[upload]).created
        annotation_create(image=image, user=manager, data={"label_class": cls.pk, "kind": "tag", "geometry": {}})
    start_worker()
    training_request(project=project, user=manager)
    # The TFLite file is built on demand (mlassist/services/exports.py): the Live page asks for it.
    version = wait(lambda: ModelVersion.objects.filter(project=project, kind="classifier", in_service=True).first(),
                   600, "the first classifier")
    return project, red, blue, version


def test_live_labels_follow_the_clip_keep_and_correct_store_frames_and_a_new_version_shows(
        camera, live_server, trained, annotator):
    project, red, blue, version = trained
    # One second of red frames, one of blue, looping: the top label must follow.
    clip = [coloured(RED, 100 + i) for i in range(10)] + [coloured(BLUE, 200 + i) for i in range(10)]
    page = camera(annotator, clip, fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/live/")
    if not ModelVersion.objects.get(pk=version.pk).tflite:
        # The first frame asked for the file; the page says so, and the labels start once it is built.
        expect(page.locator("#camera-message")).to_contain_text(
            f"No TFLite file for version {version.number} yet: it is being built")
    expect(page.locator("#live-version")).to_have_text(f"Model version {version.number}", timeout=300_000)
    version.refresh_from_db()
    top = page.locator("#live-labels li").first
    seen = set()
    deadline = time.monotonic() + 20
    while seen != {"red", "blue"} and time.monotonic() < deadline:
        seen.add(top.locator(".name").inner_text())
        page.wait_for_timeout(100)
    assert seen == {"red", "blue"}, seen
    expect(page.locator("#live-labels li")).to_have_count(2)

    # Keep: the frame on screen with the model's labels, as proposals of the version shown.
    page.keyboard.press("k")
    stored = page.locator("#live-stored")
    expect(stored).to_contain_text("Kept as image")
    kept = Image.objects.get(pk=stored.get_attribute("data-image"))
    assert sorted(kept.annotations.values_list("origin", "state", "model_version")) == [
        ("model", "proposed", version.pk)] * 2
    # Correct: the class picked (here with its hotkey) as a person's accepted tag.
    page.keyboard.press(blue.hotkey)
    expect(stored).to_contain_text("tagged “blue”")
    corrected = Image.objects.get(pk=stored.get_attribute("data-image"))
    assert list(corrected.annotations.filter(origin="human").values_list("label_class", "origin", "state")) == [
        (blue.pk, "human", "accepted")]
    # A still frame is the picture just kept: it keeps its proposals and gains the tag; any other frame
    # is stored with the person's tag alone.
    assert corrected.annotations.count() == (3 if corrected.pk == kept.pk else 1)

    # A new version put in service is used from the next frame, without reloading the page.
    newer = ModelVersion.objects.create(project=project, kind="classifier", number=version.number + 1,
                                        class_ids=version.class_ids, tflite=version.tflite.name,
                                        tflite_labels=version.tflite_labels)
    model_version_promote(version=newer)
    expect(page.locator("#live-version")).to_have_text(f"Model version {newer.number}")
