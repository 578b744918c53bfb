"""A new user signs in, creates a project with classes, uploads images one by one and as a zip."""

import zipfile

import pytest
from playwright.sync_api import expect

from labeling.models import Image, Project

from ..factories import image_bytes

pytestmark = pytest.mark.browser


def _grant_project_creation(user):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(content_type__app_label="labeling", codename="add_project"))


def test_create_project_add_classes_upload_and_see_sizes(signed_in, live_server, tmp_path):
    page, user = signed_in
    _grant_project_creation(user)
    page.reload()
    page.fill("#new-project input[name=name]", "Street scenes")
    page.check("#new-project input[value=box]")
    page.check("#new-project input[value=tag]")
    page.click("#new-project button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Street scenes")
    project = Project.objects.get(name="Street scenes")
    assert project.kinds == ["tag", "box"]

    for name in ["car", "person"]:
        page.fill("#class-form input[name=name]", name)
        page.click("#class-form button[type=submit]")
    expect(page.locator("#classes tbody tr")).to_have_count(2)
    expect(page.locator("#classes")).to_contain_text("person")

    single = tmp_path / "one.png"
    single.write_bytes(image_bytes(320, 200, color=(10, 200, 10)))
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not an image at all")
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.jpg", image_bytes(640, 480, fmt="JPEG", color=(1, 2, 3)))
        zf.writestr("b.png", image_bytes(50, 60, color=(4, 5, 6)))

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.set_input_files("#upload-files", [str(single), str(bad)])
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text("1 image stored, 1 refused")
    expect(page.locator("#upload-errors")).to_contain_text("notes.jpg: This is not an image")
    expect(page.locator("#upload-progress")).to_be_visible()

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.set_input_files("#upload-files", [str(archive)])
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#upload-status")).to_contain_text("2 images stored, 0 refused")
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    tiles = page.locator("#image-grid li.tile")
    expect(tiles).to_have_count(3)
    expect(page.locator("#image-grid")).to_contain_text("640×480")
    expect(page.locator("#image-grid")).to_contain_text("320×200")
    expect(page.locator("[data-stat=images]")).to_have_text("3")
    assert sorted(Image.objects.values_list("file_name", flat=True)) == ["a.jpg", "b.png", "one.png"]


def test_members_page_adds_a_reviewer(signed_in, live_server):
    from ..factories import UserFactory
    from labeling.services.projects import project_create

    page, user = signed_in
    UserFactory(username="rita")
    project = project_create(user=user, name="Team", kinds=["box"])
    page.goto(f"{live_server.url}/projects/{project.pk}/members/")
    page.fill("#member-form input[name=username]", "rita")
    page.select_option("#member-form select[name=role]", "reviewer")
    page.click("#member-form button[type=submit]")
    expect(page.locator("#members tr[data-member=rita]")).to_contain_text("reviewer")
    page.fill("#member-form input[name=username]", "nobody")
    page.click("#member-form button[type=submit]")
    expect(page.locator("#member-form")).to_contain_text("No user called 'nobody' can be added")


def test_background_work_shows_as_progress_bars(signed_in, live_server):
    from labeling.models import Job
    from labeling.services.projects import project_create

    page, user = signed_in
    project = project_create(user=user, name="Busy", kinds=["tag"])
    job = Job.objects.create(project=project, kind="features", state="running", progress=0.25, detail="5/20 images")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    bar = page.locator(f"#jobs li[data-job='{job.pk}'] progress")
    expect(bar).to_have_attribute("value", "0.25")
    expect(page.locator("#jobs")).to_contain_text("5/20 images")
    Job.objects.filter(pk=job.pk).update(state="succeeded", progress=1)
    expect(page.locator("#jobs")).to_be_hidden(timeout=10000)


def test_the_new_project_form_shows_only_to_those_who_may_create(signed_in, live_server):
    from labeling.services.projects import project_create

    page, user = signed_in
    project_create(user=user, name="Mine", kinds=["box"])  # managing a project does not make a creator
    page.reload()
    expect(page.locator("[data-project]")).to_have_count(1)
    expect(page.locator("#new-project")).to_have_count(0)
    _grant_project_creation(user)
    page.reload()
    expect(page.locator("#new-project")).to_be_visible()
    user.user_permissions.clear()
    user.is_staff = True
    user.save()
    page.reload()
    expect(page.locator("#new-project")).to_be_visible()
