"""Managers export, import and upload through the browser; other roles are refused.

Export and URL import run in a real Celery worker process, as in production.
"""

import functools
import http.server
import io
import json
import threading
import zipfile

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation, Image, Membership

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory, image_bytes

pytestmark = pytest.mark.browser


def project_of(user, role=Membership.Role.MANAGER, name="Street"):
    return MembershipFactory(project=ProjectFactory(name=name), user=user, role=role).project


def test_export_a_coco_zip_follow_its_bar_download_it_and_see_it_listed(signed_in, live_server, celery_worker_process):
    page, user = signed_in
    project = project_of(user)
    car = LabelClassFactory(project=project, name="car")
    image = ImageFactory(project=project, file_name="street.png")
    AnnotationFactory(image=image, label_class=car)
    AnnotationFactory(image=image, label_class=car, origin="model", state="proposed", score=0.8)

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-export")
    expect(page.locator("#exports")).to_contain_text("No exports yet.")
    page.check("#export-form input[name=output][value=zip]")
    page.check("#export-form input[name=states][value=proposed]")
    page.click("#export-form button[type=submit]")
    expect(page.locator("#export-progress")).to_be_visible()
    link = page.locator("#export-download")
    expect(link).to_be_visible(timeout=60_000)
    expect(page.locator("#export-status")).to_have_text("Export ready.")
    expect(page.locator("#export-progress")).to_have_js_property("value", 1)
    with page.expect_download() as caught:
        link.click()
    with zipfile.ZipFile(caught.value.path()) as archive:
        names = archive.namelist()
        coco = json.loads(archive.read(next(n for n in names if n.endswith(".json"))))
    assert any(n.endswith("street.png") for n in names)
    assert sorted(a.get("score") is not None for a in coco["annotations"]) == [False, True]

    row = page.locator("#exports tbody tr").first
    expect(row).to_contain_text("zip · accepted, proposed")
    expect(row).to_contain_text("KB")
    page.reload()  # listed by the server too, with the file's size
    row = page.locator("#exports tbody tr").first
    expect(row).to_contain_text("zip · accepted, proposed")
    expect(row.locator("a")).to_have_attribute("href", f"/api/jobs/{project.jobs.get().pk}/result/")


def _coco(file_name="a.png", bbox=(1, 2, 10, 10)):
    return json.dumps({
        "images": [{"id": 1, "file_name": file_name, "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": list(bbox), "area": 1, "iscrowd": 0}],
    }).encode()


def test_import_lists_every_refused_element_and_keeps_it_then_imports(signed_in, live_server, tmp_path):
    page, user = signed_in
    project = project_of(user)
    ImageFactory(project=project, file_name="a.png")
    bad = tmp_path / "bad.json"
    bad.write_bytes(_coco(bbox=(90, 2, 50, 10)))
    good = tmp_path / "good.json"
    good.write_bytes(_coco())

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-import")
    page.set_input_files("#coco-file", str(bad))
    page.click("#coco-form button[type=submit]")
    expect(page.locator("#coco-status")).to_have_text("Refused; nothing was imported.")
    expect(page.locator("#coco-errors li").first).to_contain_text("annotations[0]")
    assert not Annotation.objects.exists()
    page.evaluate("window.stillThisPage = true")

    page.set_input_files("#coco-file", str(good))
    page.click("#coco-form button[type=submit]")
    expect(page.locator("#coco-status")).to_have_text("Imported 1 annotation on 1 image; new classes: cat.")
    assert page.evaluate("window.stillThisPage") is True
    assert Annotation.objects.get().label_class.name == "cat"


@pytest.fixture
def image_host(tmp_path):
    """A tiny web server on 127.0.0.1 serving tmp_path/site, the worker being allowed to fetch from it."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def worker_env(worker_env):
    return {**worker_env, "URL_IMPORT_ALLOW_NETWORKS": "127.0.0.0/8"}


def test_url_import_shows_each_lines_outcome_and_why(signed_in, live_server, image_host, celery_worker_process):
    page, user = signed_in
    project = project_of(user)
    site, base = image_host
    (site / "red.png").write_bytes(image_bytes(40, 30, color=(200, 0, 0)))
    (site / "again.png").write_bytes(image_bytes(40, 30, color=(200, 0, 0)))
    (site / "notes.txt").write_bytes(b"hello")
    lines = [f"{base}/red.png", "ftp://example.org/x.png", f"{base}/again.png", f"{base}/notes.txt",
             f"{base}/missing.png"]

    page.goto(f"{live_server.url}/projects/{project.pk}/import/")
    page.fill("#url-list", "\n".join(lines))
    page.click("#url-form button[type=submit]")
    report = page.locator("#url-report")
    expect(page.locator("#url-counts")).to_have_text("1 stored, 1 already in the project, 3 refused", timeout=60_000)
    expect(report.locator("li")).to_have_count(5)
    expect(report.locator("li[data-line='1']")).to_contain_text("stored")
    expect(report.locator("li[data-line='2']")).to_contain_text("refused")
    expect(report.locator("li[data-line='3']")).to_contain_text("already in the project")
    expect(report.locator("li[data-line='4']")).to_contain_text("refused")
    expect(report.locator("li[data-line='5']")).to_contain_text("404")
    assert Image.objects.filter(project=project).count() == 1


def test_an_unusable_list_is_refused_naming_the_line(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    page.goto(f"{live_server.url}/projects/{project.pk}/import/")
    page.fill("#url-list", "# my list\nnot a url")
    page.click("#url-form button[type=submit]")
    expect(page.locator("#url-errors")).to_contain_text("line 2")
    expect(page.locator("#url-status")).to_have_text("Refused; nothing was downloaded.")


def _drop_files(page, selector, files):
    """Drop files on an element as a user dragging them from the desktop would."""
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const [name, type, bytes] of files) transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
            document.querySelector(selector).dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        [selector, [[name, mime, list(data)] for name, mime, data in files]],
    )


def test_dropped_uploads_join_the_grid_and_refused_files_stay_listed(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator("[data-stat=images]")).to_have_text("0")
    page.evaluate("window.stillThisPage = true")
    _drop_files(page, "#upload-drop", [("one.png", "image/png", image_bytes(32, 24)), ("notes.jpg", "image/jpeg", b"text")])
    expect(page.locator("#upload-status")).to_have_text("1 image stored, 1 refused.")
    expect(page.locator("#image-grid li.tile")).to_have_count(1)
    expect(page.locator("#image-grid")).to_contain_text("32×24")
    expect(page.locator("[data-stat=images]")).to_have_text("1")
    expect(page.locator("[data-stat=new]")).to_have_text("1")
    # The page did not reload: the reasons stay on screen.
    assert page.evaluate("window.stillThisPage") is True
    expect(page.locator("#upload-errors")).to_contain_text("notes.jpg: This is not an image")
    expect(page.locator("#stats")).to_contain_text("1 image")
    expect(page.locator("#stats")).not_to_contain_text("1 images")


@pytest.mark.parametrize("role", [Membership.Role.ANNOTATOR, Membership.Role.REVIEWER])
def test_other_roles_see_no_data_links_and_get_a_403_page(signed_in, live_server, role):
    page, user = signed_in
    project = project_of(user, role)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator("nav.tabs")).to_contain_text("Classes")
    for link in ("#nav-export", "#nav-import", "#nav-settings"):
        expect(page.locator(link)).to_have_count(0)
    expect(page.locator("#upload")).to_have_count(0)
    for name in ("export", "import", "settings"):
        response = page.goto(f"{live_server.url}/projects/{project.pk}/{name}/")
        assert response.status == 403
        expect(page.locator("#error-page")).to_contain_text("Only the project's managers may use this page")
    page.get_by_role("link", name="Back to your projects").click()
    page.wait_for_url(f"{live_server.url}/")


def test_a_missing_page_is_styled_with_a_way_back_and_pages_have_a_favicon(signed_in, live_server):
    page, user = signed_in
    response = page.goto(f"{live_server.url}/projects/999999/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")
    page.get_by_role("link", name="Back to your projects").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.request.get(f"{live_server.url}/static/favicon.svg").ok


def test_dark_mode_follows_the_system_setting(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    ImageFactory(project=project, status="in_progress")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    expect(page.locator("#stats")).to_contain_text("in progress")
    expect(page.locator("#image-grid .badge")).to_have_text("in progress")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
    assert light == "rgb(245, 246, 248)"
    assert dark == "rgb(18, 21, 27)" and card == "rgb(28, 33, 41)"


def test_import_with_an_images_zip_runs_as_a_job_with_its_bar_then_its_counts(signed_in, live_server, tmp_path,
                                                                               celery_worker_process):
    page, user = signed_in
    project = project_of(user)
    coco = tmp_path / "coco.json"
    coco.write_bytes(json.dumps({
        "images": [{"id": 1, "file_name": "photos/a.png", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "area": 100, "iscrowd": 0}],
    }).encode())
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.png", image_bytes(100, 80))
    page.goto(f"{live_server.url}/projects/{project.pk}/import/")
    page.set_input_files("#coco-file", str(coco))
    page.set_input_files("#coco-images", str(archive))
    page.click("#coco-form button[type=submit]")
    expect(page.locator("#coco-progress")).to_be_visible()
    expect(page.locator("#coco-status")).to_have_text("Imported 1 annotation on 1 image; new classes: cat.", timeout=60_000)
    assert Image.objects.get(project=project).file_name == "a.png"
    assert Annotation.objects.get(image__project=project).kind == "box"


def test_our_own_export_zip_goes_back_in_alone_as_downloaded(signed_in, live_server, tmp_path, celery_worker_process):
    page, user = signed_in
    project = project_of(user)
    bundle = tmp_path / "export.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("annotations/instances_default.json", json.dumps({
            "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "area": 100,
                             "iscrowd": 0}],
        }))
        zf.writestr("images/a.png", image_bytes(100, 80))
    page.goto(f"{live_server.url}/projects/{project.pk}/import/")
    page.set_input_files("#coco-file", str(bundle))
    page.click("#coco-form button[type=submit]")
    expect(page.locator("#coco-status")).to_have_text("Imported 1 annotation on 1 image; new classes: cat.", timeout=60_000)
    assert Image.objects.get(project=project).file_name == "a.png"
    assert Annotation.objects.get(image__project=project).kind == "box"
