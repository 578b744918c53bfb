"""Training runs under a lease: never claimed twice, failed with the reason after three dead workers."""

from datetime import timedelta

from django.utils import timezone

from labeling.services.leases import crash_reason
from mlassist.models import TrainingRun
from mlassist.services.training import _claim, training_run_execute, training_runs_sweep


def long_ago():
    return timezone.now() - timedelta(minutes=5)


def test_a_run_held_by_a_live_worker_is_not_claimed_by_a_second_delivery(project):
    run = TrainingRun.objects.create(project=project, state="running", attempts=1, lease_owner="live:1:x",
                                     heartbeat_at=timezone.now())
    assert _claim(run.pk) is None
    run.refresh_from_db()
    assert (run.state, run.attempts, run.lease_owner) == ("running", 1, "live:1:x")


def test_a_run_whose_worker_died_three_times_fails_with_the_reason_and_the_waiting_run_is_kept(project):
    dead = TrainingRun.objects.create(project=project, state="running", attempts=3, lease_owner="dead:1:x",
                                      heartbeat_at=long_ago())
    waiting = TrainingRun.objects.create(project=project, state="queued")
    training_run_execute(run_id=dead.pk)  # the broker's redelivery of its message
    dead.refresh_from_db()
    assert dead.state == "failed" and dead.error == crash_reason(3)
    # The waiting run can run now: nothing holds the project.
    assert _claim(waiting.pk).state == "running"


def test_the_sweeper_releases_a_dead_run_once_and_a_new_claim_takes_it(project):
    dead = TrainingRun.objects.create(project=project, state="running", attempts=1, lease_owner="dead:1:x",
                                      heartbeat_at=long_ago())
    assert training_runs_sweep() == {"failed": 0, "sent": 1}
    assert training_runs_sweep() == {"failed": 0, "sent": 0}
    claimed = _claim(dead.pk)
    assert (claimed.state, claimed.attempts) == ("running", 2) and claimed.lease_owner not in ("", "dead:1:x")


def test_a_waiting_run_is_sent_again_only_when_no_live_run_holds_its_project(project):
    TrainingRun.objects.create(project=project, state="running", attempts=1, lease_owner="live:1:x",
                               heartbeat_at=timezone.now())
    waiting = TrainingRun.objects.create(project=project, state="queued")
    TrainingRun.objects.filter(pk=waiting.pk).update(created_at=long_ago())
    assert training_runs_sweep()["sent"] == 0
    TrainingRun.objects.filter(state="running").update(heartbeat_at=long_ago(), attempts=3)
    assert training_runs_sweep() == {"failed": 1, "sent": 1}
