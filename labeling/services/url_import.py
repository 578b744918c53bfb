"""Images from a list of URLs: parse the list, then a job fetches each URL and stores it as an upload.

Each line's outcome is a ``UrlImportLine`` row written as the line is done (stored, duplicate or
refused), in the same transaction as the image it stored: the report grows by one small row per
URL instead of a job result rewritten after every URL, and an interrupted job goes on after the
last line recorded. ``Job.result`` keeps only the counts. Fetching itself (the SSRF checks) is
in ``url_fetch``.
"""

import csv
import dataclasses
import io
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from .. import learning_loop
from ..models import Job, Project, UrlImportLine
from .uploads import DuplicateImage, UploadRefused, check_image
from .url_fetch import (  # noqa: F401 - re-exported: the fetching API is reached through this module too
    MAX_URL_LENGTH,
    UrlRefused,
    address_refusal,
    file_name_for,
    host_resolve,
    url_fetch,
    url_problem,
)

log = logging.getLogger(__name__)


class UrlListError(ValueError):
    """The list as a whole cannot be used; ``messages`` name the lines."""

    def __init__(self, messages: list[str]):
        super().__init__(messages[0])
        self.messages = messages


@dataclasses.dataclass
class UrlList:
    urls: list[dict] = dataclasses.field(default_factory=list)  # [{"line": n, "url": ...}]
    errors: list[dict] = dataclasses.field(default_factory=list)  # [{"line": n, "url": ..., "detail": ...}]


# --- The list -------------------------------------------------------------------------------


def url_list_parse(*, name: str, data: bytes) -> UrlList:
    """Read a text file (one URL a line) or a CSV file (first column, or the ``url`` column).

    Blank lines and lines starting with ``#`` are skipped; other lines that are not http(s) URLs
    are reported with their line number. Raises UrlListError when the file is not text, is too
    big or too long, or has no usable URL.
    """
    if len(data) > settings.URL_IMPORT_MAX_LIST_BYTES:
        raise UrlListError([f"The file has {len(data)} bytes; the limit is {settings.URL_IMPORT_MAX_LIST_BYTES}."])
    text = _decode(data)
    rows = _csv_rows(text) if _is_csv(name, text) else _text_rows(text)
    parsed = UrlList()
    for line, value in rows:
        detail = url_problem(value)
        if detail:
            parsed.errors.append({"line": line, "url": value[:MAX_URL_LENGTH], "detail": detail})
        else:
            parsed.urls.append({"line": line, "url": value})
    if len(parsed.urls) > settings.URL_IMPORT_MAX_URLS:
        raise UrlListError([f"The list has {len(parsed.urls)} URLs; the limit is {settings.URL_IMPORT_MAX_URLS}."])
    if not parsed.urls:
        if not parsed.errors:
            raise UrlListError(["The file has no URL (only blank lines and # comments)."])
        raise UrlListError([f"No usable URL: line {e['line']}: {e['detail']}" for e in parsed.errors[:20]])
    return parsed


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UrlListError([f"This is not a text file (line {line} holds a NUL byte)."])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UrlListError([f"This is not a UTF-8 text file (line {line}, byte {exc.start})."]) from None


def _is_csv(name: str, text: str) -> bool:
    if name.lower().endswith(".csv"):
        return True
    # A text list is one URL a line; a first line with a `url` column is a CSV whatever its name.
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    return "," in first and "url" in [c.strip().strip('"').lower() for c in first.split(",")]


def _text_rows(text: str):
    for number, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if value and not value.startswith("#"):
            yield number, value


def _csv_rows(text: str):
    """(line, first or ``url`` cell); a first row with a ``url`` cell, or with no URL at all, is a header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    column = None
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if column is None:
            lowered = [c.lower() for c in cells]
            if "url" in lowered:
                column = lowered.index("url")
                continue
            column = 0
            if not any("://" in c for c in cells):
                continue  # a header without a url column: the URLs are in the first
        value = cells[column] if column < len(cells) else ""
        yield line, value


# --- Importing ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LineOutcome:
    line: int
    url: str
    outcome: str  # UrlImportLine.Outcome
    detail: str = ""
    image_id: int | None = None


def url_import_line(
    *, project: Project, user, line: int, url: str, seen: dict[str, str], job: Job | None = None
) -> LineOutcome:
    """Fetch one URL and store its image; with ``job``, record the outcome as that job's row.

    The image and its row are written in one transaction: a worker killed between them leaves
    neither, so the retried job fetches the line again.
    """
    try:
        with url_fetch(url) as body:
            checked = check_image(file_name_for(url), body)  # the format's extension added when none
            from .images import _image_store

            with transaction.atomic():
                image = _image_store(project=project, user=user, checked=checked, seen=seen)
                outcome = LineOutcome(line, url, UrlImportLine.Outcome.STORED, "", image.pk)
                _record(job, outcome)
            return outcome
    except DuplicateImage as exc:
        # A redelivered job meets its own earlier images here: reported, never stored twice.
        outcome = LineOutcome(line, url, UrlImportLine.Outcome.DUPLICATE, exc.detail, exc.image_id)
    except (UrlRefused, UploadRefused) as exc:
        log.info("URL import into project %s: line %s refused: %s", project.pk, line, exc.detail)
        outcome = LineOutcome(line, url, UrlImportLine.Outcome.REFUSED, exc.detail)
    _record(job, outcome)
    return outcome


def _record(job: Job | None, outcome: LineOutcome) -> None:
    if job is None:
        return
    UrlImportLine.objects.bulk_create(
        [UrlImportLine(job=job, line=outcome.line, url=outcome.url, outcome=outcome.outcome,
                       detail=outcome.detail, image_id=outcome.image_id)],
        ignore_conflicts=True,  # recorded by an earlier attempt of the same job
    )


def url_import(*, project: Project, user, urls: list[dict], on_line=None, job: Job | None = None) -> list[LineOutcome]:
    """Fetch and store each of ``urls`` (``[{"line", "url"}]``) in order; return the outcomes.

    Args:
        on_line: called as ``on_line(done, total, outcome)`` after each URL.
        job: record each outcome as this job's UrlImportLine row.
    """
    seen: dict[str, str] = {}
    outcomes = []
    for index, entry in enumerate(urls):
        outcome = url_import_line(project=project, user=user, line=entry["line"], url=entry["url"], seen=seen, job=job)
        outcomes.append(outcome)
        if on_line is not None:
            on_line(index + 1, len(urls), outcome)
    stored = UrlImportLine.Outcome.STORED
    # An interrupted attempt's images too: a waiting features job takes them all.
    earlier = job is not None and job.url_lines.filter(outcome=stored).exists()
    if earlier or any(o.outcome == stored for o in outcomes):
        learning_loop.images_added(project_id=project.pk)
    return outcomes


def url_import_start(*, project: Project, user, url_list: UrlList) -> Job:
    """Queue a job that imports ``url_list``; the lines refused already are its first report rows."""
    from ..tasks import url_import_task
    from .jobs import job_create

    with transaction.atomic():
        job = job_create(project=project, kind="import_urls", user=user, params={"urls": url_list.urls})
        UrlImportLine.objects.bulk_create(
            [UrlImportLine(job=job, line=e["line"], url=e["url"], outcome=UrlImportLine.Outcome.REFUSED,
                           detail=e["detail"]) for e in url_list.errors],
            batch_size=1000,
        )
        refused = f"; {len(url_list.errors)} lines refused" if url_list.errors else ""
        job.detail = f"0/{len(url_list.urls)} downloaded{refused}"
        job.save(update_fields=["detail"])
        url_import_task.delay_on_commit(str(job.pk))
    return job


def url_import_counts(*, job: Job) -> dict:
    """The job's report in numbers: lines per outcome (the rows are listed by the API)."""
    counts = dict(job.url_lines.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
    return {outcome: counts.get(outcome, 0) for outcome in UrlImportLine.Outcome.values}


def url_import_job(*, job_id) -> None:
    """The worker's side: fetch the lines no earlier attempt recorded, then finish with the counts."""
    from .jobs import job_progress, job_run

    def work(job):
        urls = job.params.get("urls", [])
        recorded = set(job.url_lines.values_list("line", flat=True))
        todo = [u for u in urls if u["line"] not in recorded]
        already = len(urls) - len(todo)
        last = [0.0]

        def on_line(done, total, outcome):
            # Progress at most twice a second (and at the end): the rows are the report, this is the bar.
            if done < total and time.monotonic() - last[0] < 0.5:
                return
            last[0] = time.monotonic()
            done += already
            job_progress(job_id=job.pk, progress=done / len(urls), detail=f"{done}/{len(urls)} downloaded")

        url_import(project=job.project, user=job.created_by, urls=todo, on_line=on_line, job=job)
        return url_import_counts(job=job), ""

    job_run(job_id=job_id, work=work)
