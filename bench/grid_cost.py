"""The review grid's cost per item: a person's actions counted on the real grid, costed by KLM.

    .venv/bin/python -m bench.grid_cost [--pages 2] [--precisions 1.0,0.9,0.7,0.5,0.2]

Issue 12 asks for a grid selection's cost per item to be measured, not assumed. We have no people
here, so the measured part is the *actions*: for pages of proposals in the grid's own order (score,
highest first), `plan_page` says what a person does with the grid as built (static/review/): select
the cheaper of the two sets (the right or the wrong proposals) as runs of neighbouring tiles (a
click, a Shift-click for the run's end, Ctrl for each run after the first), press A or R; the other
set is then alone on the page: click its first tile, Shift-click its last, press the other key. An
emptied page loads the next by itself. Chromium carries out every plan on the real grid (gunicorn,
PostgreSQL when reachable), the database is checked (every right proposal accepted, every wrong one
rejected), and the actions it took are counted.

They are costed with the keystroke-level model (Card, Moran & Newell 1980): K 0.28 s a key (an
average typist; a held modifier counts once), P 1.1 s pointing, B 0.1 s a button press or release
(a click is BB), M 1.35 s mental preparation, once before each command key (A, R) and each class
change (by the KLM heuristics; pointing at a tile is an argument, not a command). The mouse hand
stays on the mouse and the other hand on the keys, so no homing (H).

Looking at each tile is not a KLM operator. What we use, argued from the Model Human Processor
(Card, Moran & Newell 1983: eye movement 230 ms, perceptual cycle 100 ms, cognitive cycle 70 ms):
one fixation, one perceptual cycle and two cognitive cycles (match against the page's one class,
decide) for a tag thumbnail, 0.47 s; a box or mask crop needs a second fixation and cycle to judge
the outline's fit, 0.80 s. The published 1.6 s "check" (verifying one box on a whole picture,
including answering) is reported alongside as the upper bound: it is the figure the grid would
have to beat, not a cost of looking at a crop centred on its object in a page of one class.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
from collections.abc import Sequence

import numpy as np

KLM = {"K": 0.28, "P": 1.1, "B": 0.1, "M": 1.35}
LOOK_S = {"tag": 0.47, "box": 0.80, "mask": 0.80}  # argued above (Model Human Processor)
CHECK_S = 1.6  # the published check, as the upper bound on looking
PAGE_SIZE = 60  # static/review/review.js
# A class change: M, then point at the class menu and click, point at the class and click.
CLASS_CHANGE_S = KLM["M"] + 2 * (KLM["P"] + 2 * KLM["B"])


def _runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive positions, as (first, last)."""
    out: list[tuple[int, int]] = []
    for p in positions:
        if out and p == out[-1][1] + 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def _select(runs, shown: int) -> list[tuple]:
    """Clicks that select these runs of a page of ``shown`` tiles (one tile alone is focused already)."""
    steps: list[tuple] = []
    for k, (first, last) in enumerate(runs):
        extra = ("Control",) if k else ()
        steps.append(("click", first, extra))
        if last > first:
            steps.append(("click", last, extra + ("Shift",)))
    return steps


def plan_page(right: Sequence[bool]) -> list[tuple]:
    """What a person does to accept the right and reject the wrong tiles of one page, in grid order.

    Steps are ("click", position on the page as it is then, modifiers) and ("key", "a" | "r").
    """
    right = [bool(r) for r in right]
    n = len(right)
    if not n:
        return []
    yes = [i for i, r in enumerate(right) if r]
    no = [i for i, r in enumerate(right) if not r]
    if not yes or not no:
        key = "a" if yes else "r"
        return ([] if n == 1 else _select([(0, n - 1)], n)) + [("key", key)]
    clicks = {key: sum(1 if a == b else 2 for a, b in _runs(s)) for key, s in (("r", no), ("a", yes))}
    first = "r" if clicks["r"] <= clicks["a"] else "a"
    chosen, rest = (no, yes) if first == "r" else (yes, no)
    steps = _select(_runs(chosen), n) + [("key", first)]
    # After the key the acted tiles leave and only the other set is on the page; one tile left is
    # focused by itself (review.js focuses the next tile).
    if len(rest) > 1:
        steps += _select([(0, len(rest) - 1)], len(rest))
    return steps + [("key", "r" if first == "a" else "a")]


def step_seconds(step: tuple) -> float:
    if step[0] == "key":
        return KLM["M"] + KLM["K"]
    return KLM["P"] + 2 * KLM["B"] + KLM["K"] * len(step[2])


def grid_seconds(right_in_order: Sequence[bool], kind: str, look: float | None = None) -> float:
    """Simulated seconds to settle one class's proposals in the grid (pages of PAGE_SIZE in score
    order): the actions of plan_page on each page plus looking at every tile. The class change
    that brings this class up is not included (see CLASS_CHANGE_S)."""
    look = LOOK_S[kind] if look is None else look
    total = 0.0
    right_in_order = list(right_in_order)
    for start in range(0, len(right_in_order), PAGE_SIZE):
        page = right_in_order[start : start + PAGE_SIZE]
        total += look * len(page) + sum(step_seconds(s) for s in plan_page(page))
    return total


# ---------------------------------------------------------------- the real grid in Chromium


def _scenario(n: int, precision: float, seed: int) -> list[tuple[float, bool]]:
    """(score, right) for n proposals: a share ``precision`` right, scores as a fair model gives them
    (right ones mostly high, wrong ones mostly low, overlapping: Beta(5, 2) and Beta(2, 4))."""
    rng = np.random.default_rng(seed)
    n_right = int(round(n * precision))
    right = [True] * n_right + [False] * (n - n_right)
    scores = [float(rng.beta(5, 2) if r else rng.beta(2, 4)) for r in right]
    return sorted(zip(scores, right, strict=True), key=lambda t: -t[0])


def _png(w: int, h: int, colour) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(out, "PNG")
    return out.getvalue()


def _fill(owner, precision: float, n: int, seed: int):
    """A project whose one class holds n box proposals; returns (project, {annotation id: right})."""
    from django.core.files.base import ContentFile

    from labeling.models import Image
    from labeling.services.annotations import annotation_create
    from labeling.services.projects import label_class_create, project_create

    project = project_create(user=owner, name=f"grid {precision}", kinds=["box"], retrain_every=100000)
    cls = label_class_create(project=project, name="object")
    images = []
    for k in range(4):
        data = _png(160, 120, (60 * k, 120, 200 - 40 * k))
        image = Image(project=project, file_name=f"{k}.png", width=160, height=120, sha256=f"{seed:032x}{k:032x}",
                      size=len(data), format="PNG")
        image.file.save(f"{k}.png", ContentFile(data), save=False)
        image.save()
        images.append(image)
    truth = {}
    for i, (score, right) in enumerate(_scenario(n, precision, seed)):
        a = annotation_create(image=images[i % 4], user=None, data={
            "label_class": cls.pk, "kind": "box", "origin": "model", "score": round(score, 4),
            "geometry": {"x": 5 + i % 60, "y": 10 + i % 40, "w": 40, "h": 30}})
        truth[a.pk] = right
    return project, truth


def _carry_out(page, truth: dict, counts: dict) -> None:
    """Settle every proposal of the grid open in ``page`` by plan_page, page after page; count the steps."""
    from playwright.sync_api import expect

    tiles = page.locator("#review-grid .review-tile")
    count = page.locator("#review-count")
    while True:
        ids = [int(i) for i in tiles.evaluate_all("els => els.map(e => e.dataset.id)")]
        if not ids:
            return
        counts["pages"] += 1
        for step in plan_page([truth[i] for i in ids]):
            if step[0] == "click":
                tiles.nth(step[1]).click(modifiers=list(step[2]))
                counts["clicks"] += 1
                counts["modifier keys"] += len(step[2])
            else:
                before = int(count.get_attribute("data-count"))
                targets = page.evaluate("() => document.querySelectorAll('#review-grid [aria-selected=true]').length")
                page.keyboard.press(step[1])
                counts["command keys"] += 1
                done = max(1, targets)
                expect(count).to_have_attribute("data-count", str(before - done))
        counts["items"] += len(ids)


def measure(precisions: Sequence[float], pages: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from ._server import server, signed_in_page

    # Playwright's sync API runs an event loop in this thread; our ORM calls are synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    rows = []
    with server(workers=2) as (base, _token, _project, _env):
        from django.contrib.auth import get_user_model  # Django is set up by server()

        from labeling.models import Annotation

        owner = get_user_model().objects.get(username="bench")
        with sync_playwright() as pw:
            browser, page = signed_in_page(pw, base)
            for k, precision in enumerate(precisions):
                project, truth = _fill(owner, precision, pages * PAGE_SIZE, seed=k)
                page.goto(f"{base}/projects/{project.pk}/review/")
                page.wait_for_function("() => document.body.dataset.reviewReady === '1'")
                counts = dict.fromkeys(("items", "pages", "clicks", "modifier keys", "command keys"), 0)
                _carry_out(page, truth, counts)
                states = dict(Annotation.objects.filter(pk__in=truth).values_list("pk", "state"))
                wrong = [pk for pk, right in truth.items() if states[pk] != ("accepted" if right else "rejected")]
                if wrong or counts["items"] != len(truth):
                    raise SystemExit(f"precision {precision}: {len(wrong)} proposals not settled as planned, "
                                     f"{counts['items']} of {len(truth)} seen")
                order = [right for _score, right in _scenario(pages * PAGE_SIZE, precision, k)]
                actions = grid_seconds(order, "box", look=0.0)
                planned = sum(len(plan_page(order[s : s + PAGE_SIZE])) for s in range(0, len(order), PAGE_SIZE))
                assert planned == counts["clicks"] + counts["command keys"], (planned, counts)
                rows.append({"precision": precision, **counts, "actions_s_per_item": actions / len(order)})
            browser.close()
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=2, help="pages of 60 proposals per precision")
    ap.add_argument("--precisions", default="1.0,0.9,0.7,0.5,0.2")
    args = ap.parse_args(argv)
    rows = measure([float(p) for p in args.precisions.split(",")], args.pages)
    load = os.getloadavg()
    print(f"# {datetime.date.today()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; Chromium headless; "
          f"every plan carried out on the real grid and its outcome checked in the database")
    print("| precision | items | pages | clicks | modifier keys | command keys | actions s / item | "
          "tag s / item (look 0.47) | box, mask s / item (look 0.80) | with the 1.6 s check as look |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        a = r["actions_s_per_item"]
        print(f"| {r['precision']} | {r['items']} | {r['pages']} | {r['clicks']} | {r['modifier keys']} | "
              f"{r['command keys']} | {a:.3f} | {a + LOOK_S['tag']:.2f} | {a + LOOK_S['box']:.2f} | {a + CHECK_S:.2f} |")
    print(f"target: a grid item cheaper than the 1.6 s workspace check; a class change adds {CLASS_CHANGE_S:.2f} s")


if __name__ == "__main__":
    main()
