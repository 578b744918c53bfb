"""Smart drawing tools (issue 14): box → mask on the server, interactions to IoU 0.85, wand and
scissors per mouse move in Chromium.

    python -m bench.smart_tools [--objects 60] [--requests 40] [--skip-full]

Figures:
- Box → mask through the HTTP API (gunicorn, the cached reduced copies) at 1024² and 8000²: p50/p95
  per request after the first, the first request (which decodes the image once) apart; side by
  side, GrabCut over the whole image as the issue measured it (5 iterations, box as its rectangle).
  At 8000² that would need ~10 GB and minutes on this machine, so it is measured at 2048² and
  scaled by the pixel count (GrabCut is linear in pixels), and printed as an estimate.
- NoC@85: interactions (the box, then one corrective click-stroke each at the centre of the largest
  error region, foreground or background as the truth says there) until IoU ≥ 0.85, capped at 20,
  on generated textured shapes on textured backgrounds with exact masks (bench/smart_shapes.py);
  next to it, the clicks of a hand-drawn polygon: the fewest vertices of the true outline
  (Douglas–Peucker, tolerance raised until IoU falls below 0.85) plus the closing click.
- Wand hover and scissors moves, per mouse move, measured in the page with performance.now(), and
  their set-up (reading the visible pixels; one Dijkstra per scissors click).
"""

import argparse
import datetime
import io
import time

import cv2
import numpy as np

from ._server import machine, percentile, server, signed_in_page
from .smart_shapes import objects, scene

TIMES = "() => [window.__ws.ws.tools.TOOL.moveTimes.slice(), window.__ws.ws.tools.TOOL.setupTimes.slice()]"


def _stats(values, unit="ms"):
    return (f"p50 {percentile(values, 50):7.1f} {unit}, p95 {percentile(values, 95):7.1f} {unit}, "
            f"max {max(values):7.1f} {unit} (n={len(values)})")


def _jpeg(pixels) -> bytes:
    import PIL.Image

    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def _big_scene(side: int, seed: int):
    """A scene generated at 1000² (objects and texture), enlarged to side² with its masks."""
    pixels, masks = scene(seed, 1000, 1000, objects=6)
    if side == 1000:
        return pixels, masks
    big = cv2.resize(pixels, (side, side), interpolation=cv2.INTER_LINEAR)
    big_masks = [cv2.resize(m.astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST).astype(bool)
                 for m in masks]
    return big, big_masks


def _store_image(project_id: int, name: str, pixels) -> int:
    from django.core.files.base import ContentFile

    from labeling.models import Image

    data = _jpeg(pixels)
    image = Image(project_id=project_id, file_name=name, width=pixels.shape[1], height=pixels.shape[0],
                  sha256=f"{name:0>64}"[:64], size=len(data), format="JPEG")
    image.file.save(name, ContentFile(data), save=False)
    image.save()
    return image.pk


def _boxes(masks, count, rng):
    out = []
    while len(out) < count:
        for m in masks:
            ys, xs = np.nonzero(m)
            x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            j = lambda: rng.uniform(-0.03, 0.03)  # noqa: E731 - a roughly drawn box
            w, h = x1 - x0, y1 - y0
            bx0, by0 = max(0, x0 + j() * w), max(0, y0 + j() * h)
            bx1, by1 = min(m.shape[1], x1 + j() * w), min(m.shape[0], y1 + j() * h)
            out.append({"x": round(float(bx0), 1), "y": round(float(by0), 1),
                        "w": round(float(bx1 - bx0), 1), "h": round(float(by1 - by0), 1)})
    return out[:count]


def _full_grabcut_seconds(side: int, seed: int = 5) -> float:
    pixels, masks = _big_scene(side, seed)
    ys, xs = np.nonzero(masks[0])
    mask = np.zeros(pixels.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    rect = (int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))
    t0 = time.perf_counter()
    cv2.grabCut(pixels, mask, rect, bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    return time.perf_counter() - t0


def bench_box_mask(base, token, project_id, requests_per_size, skip_full):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    rng = np.random.default_rng(0)
    results = {}
    for side in (1024, 8000):
        pixels, masks = _big_scene(side, seed=side)
        image_id = _store_image(project_id, f"scene{side}.jpg", pixels)
        boxes = _boxes(masks, requests_per_size + 1, rng)
        url = f"{base}/api/images/{image_id}/smart/box-mask/"
        t0 = time.perf_counter()
        first = session.post(url, json={"box": boxes[0]})
        first_ms = (time.perf_counter() - t0) * 1000
        first.raise_for_status()
        wall, server_ms, ious = [], [], []
        for box in boxes[1:]:
            t0 = time.perf_counter()
            res = session.post(url, json={"box": box})
            wall.append((time.perf_counter() - t0) * 1000)
            res.raise_for_status()
            server_ms.append(res.json()["timing_ms"]["total"])
        # The same boxes through the service in this process (warm cache): the server's own share,
        # without HTTP and without the two gunicorn workers competing for the 2 cores.
        from labeling.models import Image
        from labeling.services.smart import smart_box_mask

        image = Image.objects.get(pk=image_id)
        smart_box_mask(image=image, box=boxes[0], strokes=[])
        direct = []
        for box in boxes[1:]:
            t0 = time.perf_counter()
            smart_box_mask(image=image, box=box, strokes=[])
            direct.append((time.perf_counter() - t0) * 1000)
        results[side] = (first_ms, wall, server_ms, direct)
        del pixels, masks
    full = {}
    if not skip_full:
        full[1024] = _full_grabcut_seconds(1024)
        full[2048] = _full_grabcut_seconds(2048)
    return results, full


def _polygon_clicks(gt) -> int:
    contours, _ = cv2.findContours(gt.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    best = len(contour)
    for tol in np.arange(0.5, 60, 0.5):
        approx = cv2.approxPolyDP(contour, tol, True)
        if len(approx) < 3:
            break
        drawn = np.zeros(gt.shape, np.uint8)
        cv2.fillPoly(drawn, [approx], 1)
        drawn = drawn.astype(bool)
        if (drawn & gt).sum() / (drawn | gt).sum() < 0.85:
            break
        best = len(approx)
    return best + 1  # and the click that closes it


def bench_noc(count):
    from labeling.smart.grabcut import Stroke, grabcut_box_to_mask
    from labeling.smart.pyramid import Level

    def levels_of(img):
        levels, f = [Level(1, img)], 1
        while max(levels[-1].pixels.shape[:2]) > 128:
            f *= 2
            h, w = -(-img.shape[0] // f), -(-img.shape[1] // f)
            levels.append(Level(f, cv2.resize(levels[-1].pixels, (w, h), interpolation=cv2.INTER_AREA)))
        return levels

    rng = np.random.default_rng(1)
    nocs, first_ious, polys, times = [], [], [], []
    for img, gt in objects(count):
        H, W = gt.shape
        levels = levels_of(img)
        [box] = _boxes([gt], 1, rng)
        strokes, n = [], 1
        while True:
            t0 = time.perf_counter()
            crop = grabcut_box_to_mask(levels, width=W, height=H, box=(box["x"], box["y"], box["w"], box["h"]),
                                       strokes=strokes)
            times.append((time.perf_counter() - t0) * 1000)
            pred = np.zeros((H, W), bool)
            pred[crop.y0:crop.y1, crop.x0:crop.x1] = crop.upscaled()
            iou = (pred & gt).sum() / max(1, (pred | gt).sum())
            if n == 1:
                first_ious.append(iou)
            if iou >= 0.85 or n >= 20:
                break
            err = (pred ^ gt).astype(np.uint8)
            _, labels, stats, _ = cv2.connectedComponentsWithStats(err, connectivity=8)
            largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            dist = cv2.distanceTransform(np.pad(labels == largest, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
            y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
            strokes.append(Stroke(bool(gt[y, x]), [(x + 0.5, y + 0.5)], radius=float(max(2, min(8, dist[y, x] * 0.5)))))
            n += 1
        nocs.append(n if iou >= 0.85 else 21)
        polys.append(_polygon_clicks(gt))
    return nocs, first_ious, polys, times


def bench_browser(base, project_id, image_ids):
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        browser, page = signed_in_page(pw, base)
        for side, image_id in image_ids.items():
            page.goto(f"{base}/projects/{project_id}/images/{image_id}/annotate/")
            page.wait_for_function("() => window.__workspaceImageReady", timeout=60000)
            page.wait_for_timeout(1500)  # the page's own pyramid of the image is built in the background
            box = page.locator("#ws-canvas").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.locator("#ws-canvas").focus()
            page.keyboard.press("w")
            for i in range(150):
                page.mouse.move(cx + 300 * np.sin(i / 9), cy + 200 * np.sin(i / 13))
            wand = page.evaluate(TIMES.replace("TOOL", "wand"))
            page.keyboard.press("i")
            setups, moves = [], []
            for k in range(4):
                page.mouse.click(cx - 200 + 130 * k, cy - 100 + 60 * (k % 2))
                for i in range(60):
                    page.mouse.move(cx - 200 + 130 * k + 100 * np.sin(i / 7), cy - 100 + 80 * np.cos(i / 9))
            scissors = page.evaluate(TIMES.replace("TOOL", "scissors"))
            page.keyboard.press("Escape")
            moves, setups = scissors
            t0 = page.evaluate("() => performance.now()")
            page.keyboard.press("u")
            page.mouse.move(cx, cy)
            page.wait_for_function("() => document.body.dataset.superpixels === 'ready'", timeout=60000)
            superpixel_ms = page.evaluate(f"() => performance.now() - {t0}")
            out[side] = {"wand": wand, "scissors": (moves, setups), "superpixels": superpixel_ms}
        browser.close()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=60)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--skip-full", action="store_true", help="leave out the slow full-image GrabCut")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # as in a gunicorn worker next to others: one core each

    nocs, first_ious, polys, gc_ms = bench_noc(args.objects)
    with server(workers=2) as (base, token, project_id, _env):
        results, full = bench_box_mask(base, token, project_id, args.requests, args.skip_full)
        from labeling.models import Image

        image_ids = {side: Image.objects.get(project_id=project_id, file_name=f"scene{side}.jpg").pk
                     for side in (1024, 8000)}
        browser = bench_browser(base, project_id, image_ids)

    print(f"# {datetime.date.today()}; {machine()}")
    print("## box → mask, through the HTTP API (gunicorn, 2 workers), roughly drawn boxes around generated objects")
    for side, (first_ms, wall, server_ms, direct) in results.items():
        print(f"{side}²: first request (decodes the image once) {first_ms:7.1f} ms")
        print(f"{side}²: request, client side: {_stats(wall)}   target p95 ≤ 150 ms")
        print(f"{side}²: request, server time: {_stats(server_ms)}")
        print(f"{side}²: the service called in one process: {_stats(direct)}")
    for side, seconds in full.items():
        print(f"full-image GrabCut (5 iterations) at {side}²: {seconds * 1000:9.0f} ms")
    if 2048 in full:
        print(f"full-image GrabCut at 8000², estimated from 2048² × 64/4.2: {full[2048] * 8000**2 / 2048**2:9.0f} s")
    print(f"## NoC@85 on {len(nocs)} generated objects (640×480 scenes; box jittered ±3 %)")
    nocs_a = np.array(nocs)
    print(f"box → mask: median NoC {np.median(nocs_a):.1f}, mean {nocs_a.mean():.2f}; "
          f"IoU ≥ 0.85 after 1 / 2 / 3 interactions: "
          f"{np.mean(nocs_a <= 1):.0%} / {np.mean(nocs_a <= 2):.0%} / {np.mean(nocs_a <= 3):.0%}; "
          f"not reached in 20: {np.sum(nocs_a > 20)}; IoU after the box alone: median {np.median(first_ious):.3f}, "
          f"mean {np.mean(first_ious):.3f}   target median ≤ 3")
    print(f"hand-drawn polygon: median {np.median(polys):.0f} clicks, mean {np.mean(polys):.1f}")
    print(f"GrabCut call in-process (ROI, 640×480 scenes): {_stats(gc_ms)}")
    print("## in Chromium (headless, software rendering, 1280×800), per mouse move")
    for side, b in browser.items():
        wand_moves, wand_setup = b["wand"]
        moves, setups = b["scissors"]
        print(f"{side}²: wand hover: {_stats(wand_moves)}; set-up (visible pixels): {_stats(wand_setup)}"
              "   target ≤ 16 ms / ≤ 300 ms")
        print(f"{side}²: scissors move: {_stats(moves)}; set-up per click (Dijkstra): {_stats(setups)}")
        print(f"{side}²: superpixels of the view, request to ready: {b['superpixels']:.0f} ms")


if __name__ == "__main__":
    main()
