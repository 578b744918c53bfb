"""Upload 1,000 JPEG images of 1024×768 through the API (multipart, 10 a request, 2 clients).

    python -m bench.server_upload [--count 1000]
"""

import argparse
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PIL.Image
import requests

from ._server import server


def jpegs(count: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:768, 0:1024]
    base = np.stack([x / 4, y / 3, (x + y) / 7], axis=-1)
    out = []
    for i in range(count):
        # A photo-like gradient with noise: about the size of a real 1024×768 JPEG, each one distinct.
        pixels = (base + rng.normal(0, 12, base.shape) + i) % 256
        buf = io.BytesIO()
        PIL.Image.fromarray(pixels.astype(np.uint8)).save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    files = jpegs(args.count)
    print(f"# made {len(files)} JPEGs ({sum(map(len, files)) / len(files) / 1024:.0f} KiB each) in {time.perf_counter() - started:.1f} s")
    with server() as (base, token, project_id, _env):
        batches = [files[i : i + args.per_request] for i in range(0, len(files), args.per_request)]

        def send(batch):
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            parts = [("files", (f"{uuid.uuid4().hex}.jpg", data, "image/jpeg")) for data in batch]
            response = session.post(f"{base}/api/projects/{project_id}/images/", files=parts, timeout=300)
            response.raise_for_status()
            return len(response.json()["created"])

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            stored = sum(pool.map(send, batches))
        elapsed = time.perf_counter() - started
    print(f"upload: {stored} images of 1024x768 in {elapsed:.1f} s = {stored / elapsed:.1f} images/s "
          f"({args.per_request} a request, {args.clients} clients)")
    assert stored == args.count, "some images were refused"


if __name__ == "__main__":
    main()
