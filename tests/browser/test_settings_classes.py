"""A manager edits the project and its classes in the browser; destructive actions say what they lose."""

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation, AnnotationEvent, Image, LabelClass, Membership, Project

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.browser


def project_of(user, role=Membership.Role.MANAGER, name="Garden"):
    return MembershipFactory(project=ProjectFactory(name=name), user=user, role=role).project


def test_settings_rename_queue_order_retraining_threshold_and_errors_by_field(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-settings")
    form = page.locator("#settings-form")
    form.locator("input[name=retrain_every]").fill("0")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for=retrain_every]")).to_contain_text("greater than or equal to 1")
    form.locator("input[name=name]").fill("Backyard")
    form.locator("select[name=queue_order]").select_option("uncertainty")
    form.locator("input[name=retrain_every]").fill("25")
    form.locator("input[name=proposal_threshold]").fill("0.35")
    form.locator("button[type=submit]").click()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    expect(page.locator("#project-title")).to_have_text("Backyard")
    expect(form.locator("[data-error-for=retrain_every]")).to_have_text("")
    project.refresh_from_db()
    assert (project.name, project.queue_order, project.retrain_every, project.proposal_threshold) == (
        "Backyard", "uncertainty", 25, 0.35)


def test_delete_images_by_status_says_what_is_lost_and_cancel_keeps_them(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    keep = ImageFactory(project=project, status="new")
    done = [ImageFactory(project=project, status="done") for _ in range(2)]
    for image in done:
        AnnotationFactory(image=image)
    AnnotationFactory(image=done[0])
    page.goto(f"{live_server.url}/projects/{project.pk}/settings/")
    page.check("#delete-images-form input[value=done]")
    page.click("#delete-images-form button[type=submit]")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Delete 2 images?")
    expect(dialog).to_contain_text("every image that is done: 2 images and 3 annotations")
    page.click("#confirm-cancel")
    expect(page.locator("#delete-images-status")).to_have_text("Nothing was deleted.")
    assert Image.objects.filter(project=project).count() == 3

    page.click("#delete-images-form button[type=submit]")
    page.click("#confirm-ok")
    expect(page.locator("#delete-images-status")).to_have_text("Deleted 2 images and 3 annotations.")
    assert list(Image.objects.filter(project=project).values_list("pk", flat=True)) == [keep.pk]


def test_delete_the_project_after_typing_its_name(signed_in, live_server):
    page, user = signed_in
    project = project_of(user, name="Doomed")
    ImageFactory(project=project)
    page.goto(f"{live_server.url}/projects/{project.pk}/settings/")
    expect(page.locator("#delete-project")).to_contain_text("Deletes 1 image, 0 annotations")
    page.click("#delete-project-button")
    expect(page.locator("#confirm h2")).to_have_text("Delete the project Doomed?")
    expect(page.locator("#confirm-ok")).to_be_disabled()
    page.fill("#confirm-type", "Doomed")
    page.click("#confirm-ok")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("main")).not_to_contain_text("Doomed")
    assert not Project.objects.filter(pk=project.pk).exists()


def test_classes_rekey_recolour_rename_with_errors_beside_the_row(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    cat = LabelClassFactory(project=project, name="cat", hotkey="1")
    LabelClassFactory(project=project, name="dog", hotkey="2")
    AnnotationFactory(image=ImageFactory(project=project), label_class=cat)
    page.goto(f"{live_server.url}/projects/{project.pk}/classes/")
    row = page.locator(f"#classes tr[data-id='{cat.pk}']")
    keys = row.locator("select[name=hotkey] option").all_text_contents()
    assert keys == ["–", "1", "2", "3", "4", "5", "6", "7", "8", "9"]  # no 0, no letters

    row.locator("select[name=hotkey]").select_option("2")
    row.locator("button.save").click()
    expect(row.locator(".row-error")).to_have_text("Key 2 is already used by class 'dog'.")

    row.locator("select[name=hotkey]").select_option("5")
    row.locator("input[name=color]").fill("#00aa00")
    row.locator("input[name=name]").fill("kitten")
    row.locator("button.save").click()
    expect(page.locator("#classes-flash")).to_have_text('Class "kitten" saved.')
    expect(row.locator(".row-error")).to_have_text("")
    cat.refresh_from_db()
    assert (cat.name, cat.hotkey, cat.color) == ("kitten", "5", "#00aa00")

    row.locator("button[name=delete]").click()
    expect(row.locator(".row-error")).to_contain_text("Class 'kitten' still labels 1 object")
    expect(page.locator("#class-form")).not_to_contain_text("This field is required")
    expect(page.locator("#class-form .errorlist")).to_have_count(0)

    dog = page.locator("#classes tr[data-class=dog]")
    dog.locator("button[name=delete]").click()
    expect(page.locator("#classes-flash")).to_have_text('Class "dog" deleted.')
    expect(page.locator("#classes tr[data-class=dog]")).to_have_count(0)


def test_paste_a_list_then_merge_two_classes(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    cat = LabelClassFactory(project=project, name="cat", hotkey="1")
    image, other = ImageFactory(project=project), ImageFactory(project=project)
    AnnotationFactory(image=image, label_class=cat)
    AnnotationFactory(image=other, label_class=cat, kind="tag", geometry={})
    page.goto(f"{live_server.url}/projects/{project.pk}/classes/")

    page.fill("#paste-names", "kitty\ncat\nowl")
    page.click("#paste-form button[type=submit]")
    expect(page.locator("#paste-errors")).to_have_text("Line 2: a class called 'cat' already exists.")
    page.fill("#paste-names", "kitty\nowl\n")
    page.click("#paste-form button[type=submit]")
    expect(page.locator("#classes-flash")).to_have_text("2 classes added: kitty, owl.")
    expect(page.locator("#classes tbody tr")).to_have_count(3)
    kitty = LabelClass.objects.get(project=project, name="kitty")
    AnnotationFactory(image=other, label_class=kitty, kind="tag", geometry={})

    page.select_option("#merge-source", label="cat")
    page.select_option("#merge-target", label="kitty")
    page.click("#merge-form button[type=submit]")
    expect(page.locator("#confirm h2")).to_have_text("Merge cat into kitty?")
    expect(page.locator("#confirm")).to_contain_text("2 labels and 0 proposals of cat become kitty")
    page.click("#confirm-ok")
    expect(page.locator("#classes-flash")).to_have_text("Merged cat into kitty: 1 label moved; 1 duplicate tag dropped.")
    expect(page.locator("#classes tr[data-class=cat]")).to_have_count(0)
    assert Annotation.objects.filter(label_class=kitty).count() == 2
    assert AnnotationEvent.objects.filter(project=project, action="update", actor=user).count() == 1


def test_annotators_see_classes_read_only_without_the_editing_tools(signed_in, live_server):
    page, user = signed_in
    project = project_of(user, Membership.Role.ANNOTATOR)
    LabelClassFactory(project=project, name="cat", hotkey="1")
    page.goto(f"{live_server.url}/projects/{project.pk}/classes/")
    expect(page.locator("#classes tr[data-class=cat]")).to_contain_text("cat")
    expect(page.locator("#classes input, #classes select")).to_have_count(0)
    for form in ("#class-form", "#paste-form", "#merge-form"):
        expect(page.locator(form)).to_have_count(0)


def test_select_images_in_the_grid_and_delete_them_after_the_dialog(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    images = [ImageFactory(project=project, file_name=f"{n}.png") for n in ("a", "b", "c")]
    AnnotationFactory(image=images[0])
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator("#selection")).to_be_hidden()
    for image in images[:2]:
        page.locator(f"#image-grid li[data-image='{image.pk}'] .pick input").check()
    expect(page.locator("#selection-count")).to_have_text("2 images selected")
    page.click("#delete-selected")
    expect(page.locator("#confirm h2")).to_have_text("Delete 2 images?")
    expect(page.locator("#confirm")).to_contain_text("the selected 2 images and the 1 annotation")
    page.click("#confirm-ok")
    expect(page.locator("#selection-count")).to_have_text("Deleted 2 images and 1 annotation.")
    expect(page.locator("#image-grid li.tile")).to_have_count(1)
    expect(page.locator("[data-stat=images]")).to_have_text("1")
    expect(page.locator("#stats")).to_contain_text("1 image")
    assert list(Image.objects.filter(project=project).values_list("pk", flat=True)) == [images[2].pk]


def test_annotators_cannot_select_images_to_delete(signed_in, live_server):
    page, user = signed_in
    project = project_of(user, Membership.Role.ANNOTATOR)
    ImageFactory(project=project)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator("#image-grid li.tile")).to_have_count(1)
    expect(page.locator("#image-grid .pick")).to_have_count(0)
    expect(page.locator("#selection, #delete-selected")).to_have_count(0)
