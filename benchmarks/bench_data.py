"""Time scene generation, training samples and load_image (numbers only, nothing asserted).

    python benchmarks/bench_data.py
"""

from __future__ import annotations

import time

import numpy as np

from xai_tutor.data import load_image, make_scene, make_training_batch


def _timed(fn, repeats: int) -> float:
    start = time.perf_counter()
    for i in range(repeats):
        fn(i)
    return (time.perf_counter() - start) / repeats * 1000.0


def main() -> None:
    make_scene("flock", seed=0)  # warm the cut-out caches
    for kind in ("single", "pair", "flock"):
        ms = _timed(lambda i, k=kind: make_scene(k, seed=i), 20)
        print(f"make_scene({kind!r}) 626x418: {ms:6.1f} ms")
    ms = _timed(lambda i: make_training_batch(50, size=(160, 112), seed=i), 4) / 50
    print(f"training sample 160x112:        {ms:6.1f} ms")
    ms = _timed(lambda i: make_training_batch(50, size=(160, 112), seed=i, rotate=15,
                                              occlude=0.5), 4) / 50
    print(f"  with tilt + occlusion:        {ms:6.1f} ms")
    image = make_scene("single", seed=0).image
    arr = np.asarray(image)
    print(f"load_image(PIL 626x418):        {_timed(lambda i: load_image(image), 20):6.1f} ms")
    print(f"load_image(array, resize 224):  "
          f"{_timed(lambda i: load_image(arr, size=(224, 224)), 20):6.1f} ms")


if __name__ == "__main__":
    main()
