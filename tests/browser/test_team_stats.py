"""Team, members and statistics screens, clicked through by each role that may use them, and refused
to the others."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from labeling.apis_auth import PREFIX_LENGTH
from labeling.models import Membership
from labeling.permissions import can_create_project
from labeling.services.annotations import annotation_create, annotation_update
from labeling.services.projects import project_create

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser
User = get_user_model()
GOOD = "Tr1cky-enough-pass"


def _sign_in(page, live_server, username, password="pw-secret-123"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def team(transactional_db):
    boss = UserFactory(username="boss")
    project = project_create(user=boss, name="Birds", kinds=["box"])
    people = {"boss": boss}
    for name, role in [("rev", "reviewer"), ("ann", "annotator")]:
        people[name] = UserFactory(username=name)
        MembershipFactory(project=project, user=people[name], role=role)
    return project, people


def test_site_admin_creates_a_user_resets_a_password_and_makes_a_token(page, live_server, team):
    project, people = team
    UserFactory(username="sam", is_staff=True)
    MembershipFactory(project=project, user=User.objects.get(username="sam"), role="annotator")
    _sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-team")
    expect(page.locator("h1")).to_have_text("Team")

    form = page.locator("#create-user")
    form.locator("input[name=username]").fill("nina")
    form.locator("input[name=password]").fill("short")
    form.get_by_role("button", name="Create user").click()
    expect(page.locator("#create-user [data-field=password]").first).to_contain_text("too short")
    form.locator("input[name=password]").fill(GOOD)
    form.locator("input[name=can_create_projects]").check()
    form.get_by_role("button", name="Create user").click()
    expect(page.locator(".messages")).to_contain_text("User nina created")
    expect(page.locator("#users tr[data-user=nina] [data-col=creator]")).to_have_text("yes")
    assert can_create_project(User.objects.get(username="nina"))

    ann = page.locator("#users tr[data-user=ann]")
    ann.locator("input[name=password]").fill("ann")
    ann.get_by_role("button", name="Set password").click()
    expect(page.locator("#users tr[data-user=ann] .field-error").first).to_be_visible()  # too short / too similar
    ann = page.locator("#users tr[data-user=ann]")
    ann.locator("input[name=password]").fill(GOOD)
    ann.get_by_role("button", name="Set password").click()
    expect(page.locator(".messages")).to_contain_text("ann's password is changed")

    page.locator("#users tr[data-user=ann]").get_by_role("button", name="Make API token").click()
    key = Token.objects.get(user=people["ann"]).key
    expect(page.locator("#new-key")).to_contain_text(key)
    expect(page.locator("#users tr[data-user=ann] [data-col=token]")).to_contain_text(key[:PREFIX_LENGTH])
    # Replacing a token asks first; dismissing keeps the old key.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#users tr[data-user=ann]").get_by_role("button", name="New API token").click()
    expect(page.locator("#new-key")).to_contain_text(key)
    assert Token.objects.get(user=people["ann"]).key == key

    page.locator("#users tr[data-user=ann]").get_by_role("button", name="Allow creating projects").click()
    expect(page.locator("#users tr[data-user=ann] [data-col=creator]")).to_have_text("yes")

    # The new password works.
    page.context.clear_cookies()
    _sign_in(page, live_server, "ann", GOOD)


def test_members_and_annotators_get_no_team_page(page, live_server, team):
    project, _ = team
    _sign_in(page, live_server, "boss")  # a project manager, not a site admin
    page.goto(f"{live_server.url}/projects/{project.pk}/members/")
    expect(page.locator("#nav-team")).to_have_count(0)
    response = page.goto(f"{live_server.url}/team/")
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("Only site admins")


def test_manager_invites_changes_roles_and_removes_with_errors_beside_the_row(page, live_server, team):
    project, people = team
    UserFactory(username="rita")
    _sign_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("nav.tabs >> text=Members")
    page.fill("#member-form input[name=username]", "rita")
    page.select_option("#member-form select[name=role]", "annotator")
    page.click("#member-form button[type=submit]")
    rita = page.locator("#members tr[data-member=rita]")
    expect(rita.locator("select[name=role]")).to_have_value("annotator")

    rita.locator("select[name=role]").select_option("reviewer")
    expect(rita.locator(".row-note")).to_have_text("now reviewer")
    assert Membership.objects.get(project=project, user__username="rita").role == "reviewer"

    boss = page.locator("#members tr[data-member=boss]")
    boss.locator("select[name=role]").select_option("annotator")
    expect(boss.locator(".row-error")).to_have_text("A project keeps at least one manager.")
    expect(boss.locator("select[name=role]")).to_have_value("manager")
    expect(page.locator("#member-form .errorlist")).to_have_count(0)  # not on the invite form

    page.once("dialog", lambda dialog: dialog.dismiss())
    rita.get_by_role("button", name="remove").click()
    expect(rita).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    rita.get_by_role("button", name="remove").click()
    expect(page.locator("#members tr[data-member=rita]")).to_have_count(0)
    assert not Membership.objects.filter(project=project, user__username="rita").exists()

    page.once("dialog", lambda dialog: dialog.accept())
    boss.get_by_role("button", name="remove").click()
    expect(boss.locator(".row-error")).to_have_text("A project keeps at least one manager.")


def test_reviewer_sees_members_without_controls(page, live_server, team):
    project, _ = team
    _sign_in(page, live_server, "rev")
    page.goto(f"{live_server.url}/projects/{project.pk}/members/")
    expect(page.locator("#members tr[data-member=ann]")).to_contain_text("annotator")
    expect(page.locator("#members select")).to_have_count(0)
    expect(page.locator("#member-form")).to_have_count(0)
    expect(page.get_by_role("button", name="remove")).to_have_count(0)


def _activity(project, people):
    cat = LabelClassFactory(project=project, name="cat")
    image = ImageFactory(project=project, file_name="a.png")
    start = timezone.now() - timedelta(hours=1)
    for minutes in (0, 2, 3):
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=minutes)):
            annotation_create(image=image, user=people["ann"], data={
                "label_class": cat.pk, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}})
    proposal = AnnotationFactory(image=image, label_class=cat, origin="model", state="proposed", score=0.8,
                                 created_by=None)
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=4)):
        annotation_update(annotation=proposal, user=people["ann"], version=1, changes={"state": "rejected"})
    return start


def test_reviewer_reads_statistics_per_person_and_day(page, live_server, team):
    project, people = team
    start = _activity(project, people)
    _sign_in(page, live_server, "rev")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-statistics")
    row = page.locator("#people tr[data-user=ann]")
    expect(row.locator("[data-col=labels]")).to_have_text("3")
    expect(row.locator("[data-col=rejected]")).to_have_text("1")
    expect(row.locator("[data-col=accepted]")).to_have_text("0")
    expect(row.locator("[data-col=active]")).to_have_text("4 min")
    expect(page.locator("#annotator-stats")).to_contain_text("gaps under 5 minutes")
    day = page.locator(f".per-day[data-user=ann] tr[data-day='{start.date().isoformat()}']")
    expect(day).to_contain_text("4 min")
    page.select_option("#stats-period select[name=days]", "7")
    page.wait_for_url("**/statistics/?days=7")
    expect(page.locator("#people tr[data-user=ann] [data-col=labels]")).to_have_text("3")


def test_annotator_has_no_statistics(page, live_server, team):
    project, _ = team
    _sign_in(page, live_server, "ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator("nav.tabs")).to_be_visible()
    expect(page.locator("#nav-statistics")).to_have_count(0)
    response = page.goto(f"{live_server.url}/projects/{project.pk}/statistics/")
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("reviewers and managers")
