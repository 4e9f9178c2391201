"""A fake camera for browser tests: a generated video that Chromium plays as its webcam.

Chromium reads a YUV4MPEG2 (``.y4m``) file as the camera with
``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream --use-file-for-fake-video-capture=PATH``
(see :func:`chromium_camera_args`); when the file ends it starts again from the first frame.

The video shows two clearly different kinds of frames, so a model trained on pictures of each
kind (:func:`kind_frame`, :func:`write_kind_pictures`) must change its answer when the video does:

- ``"a"``: bright and dark red horizontal stripes;
- ``"b"``: a bright and dark blue checkerboard.

Both carry a little noise, so no two frames are the same. Stripes and squares are wide, so they
survive the video compression of WebRTC (VP8) on their way to the server.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ("a", "b")
_BAND = 24  # pixels: stripe height of "a", square side of "b"


def kind_frame(kind: str, size: tuple[int, int] = (320, 240), seed: int = 0) -> np.ndarray:
    """One RGB uint8 frame of ``kind`` ("a" or "b"), ``size`` = (width, height), with a little noise.

    ``seed`` shifts the pattern by a few pixels and changes the noise, so pictures of one kind differ.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    width, height = size
    rng = np.random.default_rng(seed)
    shift = int(rng.integers(0, _BAND))
    ys, xs = np.mgrid[0:height, 0:width]
    if kind == "a":
        on = ((ys + shift) // _BAND) % 2 == 0
        first, second = (235, 40, 40), (140, 40, 40)
    else:
        on = (((ys + shift) // _BAND) + ((xs + shift) // _BAND)) % 2 == 0
        first, second = (40, 40, 235), (40, 40, 140)
    frame = np.where(on[..., None], np.array(first, np.int16), np.array(second, np.int16))
    frame = frame + rng.integers(-12, 13, size=frame.shape, dtype=np.int16)
    return np.clip(frame, 0, 255).astype(np.uint8)


def write_kind_pictures(folder: Path, kind: str, count: int, *, size: tuple[int, int] = (320, 240),
                        seed: int = 0) -> list[Path]:
    """``count`` PNG pictures of ``kind`` in ``folder`` (made if missing), as a camera would have taken them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{kind}_{i:03d}.png"
        Image.fromarray(kind_frame(kind, size, seed=seed * 10_000 + i)).save(path)
        paths.append(path)
    return paths


def _rgb_to_i420(frame: np.ndarray) -> bytes:
    """BT.601 (studio range) Y, then U and V at half resolution: the planes of one y4m ``C420`` frame."""
    rgb = frame.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    height, width = y.shape

    def half(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    planes = [y, half(u), half(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path, phases: list[tuple[str, float]], size: tuple[int, int] = (320, 240), fps: int = 15) -> Path:
    """Write a video Chromium plays as its fake camera: each phase is ``(kind, seconds)``.

    Args:
        path: Where to write the ``.y4m`` file.
        phases: The kinds shown in turn, e.g. ``[("a", 6), ("b", 6)]`` (kind in {"a", "b"}).
        size: (width, height) in pixels, both even.
        fps: Frames per second of the video.

    Returns:
        The path written.
    """
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"size must be even in both directions for 4:2:0 video, got {size!r}")
    if not phases:
        raise ValueError("phases is empty: give at least one (kind, seconds)")
    path = Path(path)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{int(fps)}:1 Ip A1:1 C420\n".encode("ascii"))
        index = 0
        for kind, seconds in phases:
            # A few distinct noisy frames per phase, repeated: writing is fast and the noise still moves.
            distinct = [_rgb_to_i420(kind_frame(kind, size, seed=9_000 + index + j)) for j in range(5)]
            for j in range(max(1, round(seconds * fps))):
                out.write(b"FRAME\n")
                out.write(distinct[j % len(distinct)])
            index += 100
    return path


def write_y4m_pictures(path, pictures: list[np.ndarray], seconds_each: float = 3.0, fps: int = 15) -> Path:
    """Write a video showing each RGB picture (all the same even size) for ``seconds_each`` seconds."""
    if not pictures:
        raise ValueError("pictures is empty: give at least one RGB array")
    height, width = pictures[0].shape[:2]
    if width % 2 or height % 2 or any(p.shape[:2] != (height, width) for p in pictures):
        raise ValueError("pictures must all have the same even width and height")
    path = Path(path)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{int(fps)}:1 Ip A1:1 C420\n".encode("ascii"))
        for picture in pictures:
            planes = _rgb_to_i420(np.asarray(picture, dtype=np.uint8))
            for _ in range(max(1, round(seconds_each * fps))):
                out.write(b"FRAME\n" + planes)
    return path


def chromium_camera_args(video_path) -> list[str]:
    """Chromium's command-line flags to use ``video_path`` as the camera, permission granted without asking."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={Path(video_path).resolve()}"]


__all__ = ["KINDS", "chromium_camera_args", "kind_frame", "write_kind_pictures", "write_y4m", "write_y4m_pictures"]
