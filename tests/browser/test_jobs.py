"""Failed background work stays on the project page with its reason, and Retry queues it again."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from labeling.models import Job, Membership
from labeling.services.leases import crash_reason

pytestmark = pytest.mark.browser


def project_of(user, role=Membership.Role.MANAGER):
    from ..factories import MembershipFactory, ProjectFactory

    return MembershipFactory(project=ProjectFactory(name="Failing"), user=user, role=role).project


def test_a_failed_export_shows_its_reason_and_retry_queues_it(signed_in, live_server):
    page, user = signed_in
    project = project_of(user)
    job = Job.objects.create(project=project, kind="coco_export", state="failed", attempts=3, error=crash_reason(3),
                             finished_at=timezone.now())
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    row = page.locator(f"#jobs li[data-job='{job.pk}']")
    expect(row).to_contain_text("COCO export failed:")
    expect(row).to_contain_text("The worker stopped 3 times while running this job")
    row.get_by_role("button", name="Retry").click()
    expect(row.locator("progress")).to_be_visible()
    expect(row).to_contain_text("waiting for a worker")
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == ("queued", 0, "")


def test_an_annotator_sees_the_failure_but_no_retry(signed_in, live_server):
    page, user = signed_in
    project = project_of(user, Membership.Role.ANNOTATOR)
    job = Job.objects.create(project=project, kind="coco_import", state="failed", error="annotations[0].bbox: bad",
                             finished_at=timezone.now())
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    row = page.locator(f"#jobs li[data-job='{job.pk}']")
    expect(row).to_contain_text("COCO import failed: annotations[0].bbox: bad")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)


def test_a_failed_training_run_shows_its_reason_and_leads_to_the_model_page(signed_in, live_server):
    from mlassist.models import TrainingRun

    page, user = signed_in
    project = project_of(user)
    TrainingRun.objects.create(project=project, state="failed", attempts=3, error=crash_reason(3),
                               finished_at=timezone.now())
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    jobs = page.locator("#jobs")
    expect(jobs).to_contain_text("Training failed: The worker stopped 3 times")
    jobs.get_by_role("link", name="Train again on the model page").click()
    page.wait_for_url(f"{live_server.url}/projects/{project.pk}/model/")
