"""The effort benchmark: a simulated annotator drives a running instance through the public API only.

    .venv/bin/python -m bench.effort [--images 120] [--kinds tag,box,mask] [--workflows W0,W1,W2]

It starts gunicorn and a Celery worker on a fresh database (PostgreSQL when reachable, as
bench/_server.py), with the offline random-initialised backbone, generates a data set per kind
(the ground truth is drawn into --picture so a person can check it), and labels it three ways:

- W0: everything by hand (choose a tag 3.0 s, draw a box 7 s by extreme clicking, a mask 79 s);
- W1: image by image in the workspace (next-image), checking the model's pre-labels: a right one is
  accepted (check 1.6 s; 0.5 <= IoU < 0.75 also an edit, 2.2 s), a wrong one rejected (1.0 s), a
  missing object drawn by hand;
- W2: MAIA's way: the proposals of all open images filtered in the review grid, class by class in
  the grid's order (score, highest first), right ones accepted and wrong ones rejected in bulk, an
  image whose objects are all found is finished; a retrain, another round (while the grid is
  cheaper than the workspace for what is proposed: a tile saves a check less the look, a class
  change costs 3.95 s); what is left is done as in W1.

Costs are the published ones quoted in issue 12. The grid's cost is bench/grid_cost.py's: the
actions a person needs on each page of 60 (clicks, Shift/Ctrl ranges, A and R; carried out and
counted on the real grid in Chromium there) costed by the keystroke-level model, plus looking at
each tile (0.47 s a tag thumbnail, 0.80 s a box or mask crop, argued there), plus 3.95 s a class
change. W2 is also reported with the published 1.6 s check as the look ("W2 at check"), the upper
bound.
Both workflows label SEED_IMAGES images by hand first, then ask for training and wait for it:
that wait is the annotator's waiting time. Later retrains (every RETRAIN_EVERY labels) run while
the annotator works on; their wall time from the last accept to new proposals is reported as
"turn". Per stage: proposal precision/recall against the ground truth, simulated seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw

from bench.grid_cost import CHECK_S, CLASS_CHANGE_S, LOOK_S, grid_seconds

ROOT = Path(__file__).resolve().parent.parent
COST = {"tag": 3.0, "box": 7.0, "mask": 79.0, "check": 1.6, "edit": 2.2, "reject": 1.0}
SEED_IMAGES = 20
RETRAIN_EVERY = 20
STAGE = 20  # images per reported stage
CLASSES = ("square", "circle", "triangle")
HUES = ((215, 60, 50), (60, 110, 215), (70, 180, 80))
SIZE = 128


# ---------------------------------------------------------------- data


@dataclass
class Item:
    name: str
    png: bytes
    cls: int
    box: list[float]
    mask: np.ndarray = field(repr=False)


def make_dataset(n: int, seed: int) -> list[Item]:
    """One large shape per picture on a noisy background; its shape and colour family are its class."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cls = i % len(CLASSES)
        base = rng.integers(70, 150, (SIZE, SIZE, 3)).astype(np.uint8)
        picture = Image.fromarray(base)
        mask_img = Image.new("L", (SIZE, SIZE), 0)
        s = int(rng.integers(44, 76))
        x, y = (int(v) for v in rng.integers(4, SIZE - s - 4, 2))
        colour = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in HUES[cls])
        for target, fill in ((ImageDraw.Draw(picture), colour), (ImageDraw.Draw(mask_img), 255)):
            if cls == 0:
                target.rectangle([x, y, x + s - 1, y + s - 1], fill=fill)
            elif cls == 1:
                target.ellipse([x, y, x + s - 1, y + s - 1], fill=fill)
            else:
                target.polygon([(x + s / 2, y), (x + s - 1, y + s - 1), (x, y + s - 1)], fill=fill)
        mask = np.asarray(mask_img) > 127
        ys, xs = np.nonzero(mask)
        box = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
        buf = io.BytesIO()
        picture.save(buf, "PNG")
        out.append(Item(f"{seed}-{i:04d}.png", buf.getvalue(), cls, box, mask))
    return out


def picture_of(items: list[Item], path: str, count: int = 12) -> None:
    """The ground truth drawn over the pictures (box in white, mask edge in black, class name)."""
    tiles = []
    for item in items[:count]:
        im = Image.open(io.BytesIO(item.png)).convert("RGB")
        d = ImageDraw.Draw(im)
        x, y, w, h = item.box
        d.rectangle([x, y, x + w - 1, y + h - 1], outline=(255, 255, 255))
        edge = item.mask ^ np.roll(item.mask, 1, axis=0) | item.mask ^ np.roll(item.mask, 1, axis=1)
        arr = np.asarray(im).copy()
        arr[edge] = 0
        im = Image.fromarray(arr)
        ImageDraw.Draw(im).text((3, 3), CLASSES[item.cls], fill=(255, 255, 0))
        tiles.append(im)
    cols = 6
    sheet = Image.new("RGB", (cols * SIZE, -(-len(tiles) // cols) * SIZE))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % cols) * SIZE, (k // cols) * SIZE))
    sheet.save(path)


def rle_of(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}


def mask_of(rle: dict) -> np.ndarray:
    from pycocotools import mask as mask_utils

    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


# ---------------------------------------------------------------- the running product


@contextlib.contextmanager
def product():
    """gunicorn (2 workers) and one Celery worker on a fresh database; yields (base URL, env)."""
    sys.path.insert(0, str(ROOT))
    from bench._server import _free_port, _fresh_postgres

    var = Path(tempfile.mkdtemp(prefix="annotator-effort-"))
    database = _fresh_postgres() or f"sqlite:///{var / 'effort.sqlite3'}"
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(var), "DATABASE_URL": database,
           "DJANGO_SETTINGS_MODULE": "annotator.settings", "LOG_LEVEL": "WARNING",
           "MLASSIST_BACKBONE_WEIGHTS": "none", "MLASSIST_BACKBONE": os.environ.get("MLASSIST_BACKBONE", "mobilenet_v2"),
           "MLASSIST_INPUT_SIZE": os.environ.get("MLASSIST_INPUT_SIZE", "128"),
           "MLASSIST_ALPHA": os.environ.get("MLASSIST_ALPHA", "0.35")}
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    web = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "annotator.wsgi", "--bind", f"127.0.0.1:{port}",
                            "--workers", "2", "--log-level", "warning"], cwd=ROOT, env=env)
    log = open(var / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "annotator", "worker", "-P", "solo", "-l",
                               "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{base}/accounts/login/", timeout=1)
                break
            time.sleep(0.2)
        print(f"# database: {'PostgreSQL' if database.startswith('postgres') else 'SQLite'}; worker log {var}/worker.log")
        yield base, env
    finally:
        for proc in (web, worker):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        log.close()


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.s = base, requests.Session()
        self.s.headers["Authorization"] = f"Token {token}"

    def __call__(self, method: str, path: str, expect=(200, 201, 202, 204), **kw):
        r = self.s.request(method, self.base + path, timeout=120, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content and r.headers.get("Content-Type", "").startswith("application/json") else None


def make_user(env) -> str:
    code = ("import django; django.setup();"
            "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token;"
            "u = get_user_model().objects.create_user('effort', password='effort-password-1', is_staff=True);"
            "print(Token.objects.create(user=u).key)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


# ---------------------------------------------------------------- the simulated annotator


@dataclass
class Stage:
    images: int = 0
    seconds: float = 0.0
    tp: int = 0
    fp: int = 0
    truth: int = 0
    wait: float = 0.0
    turn: float | None = None
    grid_items: int = 0  # tiles looked at in the review grid (W2)
    relabelled: int = 0  # shapes that fit under the wrong class, relabelled in the workspace


class Annotator:
    def __init__(self, api: Api, kind: str, items: list[Item], workflow: str, seed_images: int = SEED_IMAGES):
        self.api, self.kind, self.workflow, self.seed_images = api, kind, workflow, seed_images
        self.truth = {}
        project = api("POST", "/api/projects/", json={
            "name": f"{kind} {workflow}", "kinds": [kind],
            # By hand, nothing is trained (a model nobody uses would only hold the worker up).
            "retrain_every": 100000 if workflow == "W0" else RETRAIN_EVERY})
        self.pid = project["id"]
        self.classes = [api("POST", f"/api/projects/{self.pid}/classes/", json={"name": n})["id"] for n in CLASSES]
        for start in range(0, len(items), 40):
            chunk = items[start : start + 40]
            made = api("POST", f"/api/projects/{self.pid}/images/",
                       files=[("files", (it.name, it.png, "image/png")) for it in chunk])["created"]
            by_name = {row["file_name"]: row["id"] for row in made}
            for it in chunk:
                self.truth[by_name[it.name]] = it
        self.stages: list[Stage] = []

    # one image, as in the workspace
    def _draw(self, image_id: int, stage: Stage) -> None:
        it = self.truth[image_id]
        geometry = {} if self.kind == "tag" else (dict(zip("xywh", it.box)) if self.kind == "box"
                                                  else {"rle": rle_of(it.mask)})
        self.api("POST", f"/api/images/{image_id}/annotations/",
                 json=[{"label_class": self.classes[it.cls], "kind": self.kind, "geometry": geometry}])
        stage.seconds += COST[self.kind]

    def _match(self, image_id: int, row: dict, any_class: bool = False) -> float:
        """How well a proposal fits the image's object: 1 right tag, IoU for shapes, 0 wrong class
        (with ``any_class``, a shape's fit whatever its class)."""
        it = self.truth[image_id]
        if row["label_class"] != self.classes[it.cls] and not (any_class and self.kind != "tag"):
            return 0.0
        if self.kind == "tag":
            return 1.0
        if self.kind == "box":
            g = row["geometry"]
            return box_iou([g["x"], g["y"], g["w"], g["h"]], it.box)
        m = mask_of(row["geometry"]["rle"])
        return float((m & it.mask).sum() / max(1, (m | it.mask).sum()))

    def _set(self, row: dict, state: str) -> None:
        self.api("PATCH", f"/api/annotations/{row['id']}/", json={"state": state, "version": row["version"]})

    def workspace_image(self, image_id: int, stage: Stage) -> None:
        rows = sorted((r for r in self.api("GET", f"/api/images/{image_id}/annotations/")
                       if r["state"] == "proposed" and r["kind"] == self.kind), key=lambda r: -(r["score"] or 0))
        stage.truth += 1
        right = next((r for r in rows if self._match(image_id, r) >= 0.5), None)
        # No right proposal, but a shape that fits under the wrong class: it is relabelled (check and
        # an edit, with the workspace's class menu), not drawn again. It is not a right proposal.
        fitting = [r for r in rows if self._match(image_id, r, any_class=True) >= 0.5]
        relabel = None if right or not fitting else max(fitting, key=lambda r: self._match(image_id, r, True))
        for row in rows:
            if row is right:
                fit = self._match(image_id, row)
                stage.tp += 1
                stage.seconds += COST["check"] + (COST["edit"] if fit < 0.75 else 0.0)
                self._set(row, "accepted")
            elif row is relabel:
                stage.fp += 1
                stage.relabelled += 1
                stage.seconds += COST["check"] + COST["edit"]
                self.api("PATCH", f"/api/annotations/{row['id']}/", json={
                    "label_class": self.classes[self.truth[image_id].cls], "state": "accepted",
                    "version": row["version"]})
            else:
                stage.fp += 1
                stage.seconds += COST["reject"]
                self._set(row, "rejected")
        if right is None and relabel is None:
            self._draw(image_id, stage)
        self.api("PATCH", f"/api/images/{image_id}/", json={"status": "done"})
        stage.images += 1

    def next_image(self) -> int | None:
        r = self.api.s.get(f"{self.api.base}/api/projects/{self.pid}/next-image/", timeout=60)
        return r.json()["id"] if r.status_code == 200 else None

    def wait_for_training(self) -> float:
        """Wall seconds until no run is queued or running (the run's proposals are stored by then)."""
        t0 = time.monotonic()
        time.sleep(0.2)
        while self.api("GET", f"/api/projects/{self.pid}/training-runs/", params={"state": "queued,running"}):
            time.sleep(0.25)
        return time.monotonic() - t0

    def seed(self) -> None:
        stage = Stage()
        for _ in range(self.seed_images):
            image_id = self.next_image()
            self._draw(image_id, stage)
            stage.truth += 1
            self.api("PATCH", f"/api/images/{image_id}/", json={"status": "done"})
            stage.images += 1
        self.api("POST", f"/api/projects/{self.pid}/train/")
        stage.wait = self.wait_for_training()
        self.stages.append(stage)

    def run(self) -> list[Stage]:
        if self.workflow == "W0":
            while (image_id := self.next_image()) is not None:
                if not self.stages or self.stages[-1].images >= STAGE:
                    self.stages.append(Stage())
                self._draw(image_id, self.stages[-1])
                self.stages[-1].truth += 1
                self.api("PATCH", f"/api/images/{image_id}/", json={"status": "done"})
                self.stages[-1].images += 1
            return self.stages
        self.seed()
        if self.workflow == "W1":
            stage = Stage()
            while (image_id := self.next_image()) is not None:
                self.workspace_image(image_id, stage)
                if stage.images >= STAGE:
                    stage.turn = self.wait_for_training()  # the retrain the last labels asked for
                    self.stages.append(stage)
                    stage = Stage()
            if stage.images:
                self.stages.append(stage)
            return self.stages
        for _ in range(3):  # W2: grid rounds
            stage = self.grid_round()
            if stage is None:  # the rest is cheaper in the workspace
                break
            self.stages.append(stage)
            if not stage.images:
                break
            self.api("POST", f"/api/projects/{self.pid}/train/")
            stage.turn = self.wait_for_training()
        stage = Stage()
        while (image_id := self.next_image()) is not None:
            self.workspace_image(image_id, stage)
        self.stages.append(stage)
        return self.stages

    def grid_round(self) -> Stage | None:
        """One pass over the grid, class by class; None when the grid would cost more than checking the
        same proposals in the workspace (a few tiles, each class change costing CLASS_CHANGE_S)."""
        stage = Stage()
        rows = []
        page = self.api("GET", f"/api/projects/{self.pid}/review/annotations/",
                        params={"state": "proposed", "kind": self.kind, "page_size": 500})
        while True:
            rows += page["results"]
            if not page.get("next"):
                break
            page = self.api("GET", page["next"].split(self.api.base.split("//")[1], 1)[-1])
        good, bad, done_images = [], [], set()
        by_class: dict[int, list[dict]] = {}
        for row in rows:
            by_class.setdefault(row["label_class"], []).append(row)
        # A person sees the counts per class in the grid's class menu before starting: the grid pays
        # off when what it saves a tile over a workspace check outweighs the class changes.
        if len(rows) * (COST["check"] - LOOK_S[self.kind]) < CLASS_CHANGE_S * len(by_class):
            return None
        for class_rows in by_class.values():  # the grid shows one class at a time, in this order
            class_rows.sort(key=lambda r: (-(r["score"] if r["score"] is not None else -1), -r["id"]))
            right = []
            for row in class_rows:
                ok = row["image"] not in done_images and self._match(row["image"], row) >= 0.75
                right.append(ok)
                (good if ok else bad).append(row)
                if ok:
                    done_images.add(row["image"])
            stage.seconds += CLASS_CHANGE_S + grid_seconds(right, self.kind)
            stage.grid_items += len(class_rows)
        stage.tp, stage.fp = len(good), len(bad)
        stage.truth = len(self.truth) - sum(s.images for s in self.stages)  # every open image has one object
        for chosen, state in ((good, "accepted"), (bad, "rejected")):
            for start in range(0, len(chosen), 200):
                part = chosen[start : start + 200]
                self.api("POST", f"/api/projects/{self.pid}/annotations/bulk/", json={
                    "ids": [r["id"] for r in part], "versions": [r["version"] for r in part], "state": state})
        for image_id in done_images:
            self.api("PATCH", f"/api/images/{image_id}/", json={"status": "done"})
        stage.images = len(done_images)
        return stage


def report(kind: str, workflow: str, stages: list[Stage], manual: float) -> dict:
    total = sum(s.seconds for s in stages)
    rows = []
    for n, s in enumerate(stages):
        precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else None
        recall = s.tp / s.truth if s.truth else None
        rows.append({"stage": n, "images": s.images, "seconds": round(s.seconds, 1),
                     "precision": None if precision is None else round(precision, 3),
                     "recall": None if recall is None else round(recall, 3),
                     "wait_s": round(s.wait, 1), "turn_s": None if s.turn is None else round(s.turn, 1),
                     "relabelled": s.relabelled})
    # The same run with the published 1.6 s check as the look at each grid tile (the upper bound).
    at_check = total + sum(s.grid_items for s in stages) * (CHECK_S - LOOK_S[kind])
    return {"kind": kind, "workflow": workflow, "seconds": round(total, 1),
            "ratio": round(total / manual, 3) if manual else None,
            "ratio_at_check": round(at_check / manual, 3) if manual and workflow == "W2" else None,
            "waiting_s": round(sum(s.wait for s in stages), 1), "stages": rows}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--kinds", default="tag,box,mask")
    ap.add_argument("--workflows", default="W0,W1,W2")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seed-images", type=int, default=SEED_IMAGES, help="labelled by hand before the first training")
    ap.add_argument("--picture", default="/tmp/effort-ground-truth.png")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    items = make_dataset(args.images, args.seed)
    picture_of(items, args.picture)
    print(f"# ground truth drawn into {args.picture}; {args.images} images, classes {', '.join(CLASSES)}")
    results = []
    with product() as (base, env):
        api = Api(base, make_user(env))
        for kind in args.kinds.split(","):
            manual = None
            for workflow in args.workflows.split(","):
                t0 = time.monotonic()
                stages = Annotator(api, kind, items, workflow, args.seed_images).run()
                out = report(kind, workflow, stages, manual or 0.0)
                if workflow == "W0":
                    manual = out["seconds"]
                    out["ratio"] = 1.0
                out["wall_s"] = round(time.monotonic() - t0, 1)
                results.append(out)
                print(json.dumps(out), flush=True)
    load = os.getloadavg()
    print(f"\n# load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| kind | workflow | simulated s | ÷ manual | ÷ manual, grid look 1.6 s | waiting s | "
          "proposals P / R after the seed (per stage) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        pr = "; ".join(f"{s['precision']}/{s['recall']}" for s in r["stages"][1:] if s["precision"] is not None)
        print(f"| {r['kind']} | {r['workflow']} | {r['seconds']} | {r['ratio']} | {r['ratio_at_check'] or '-'} | "
              f"{r['waiting_s']} | {pr or '-'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
