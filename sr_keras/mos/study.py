"""Creating a MOS study: the images every rater sees, the calibration set and each rater's list.

The design follows the SRGAN paper's study (Ledig et al., CVPR 2017, Sec. 3.4): every test image
of every set is shown in every method's version (nearest neighbour, bicubic, the models, the
original HR), one at a time, in an order randomized per rater; raters are first calibrated on
the nearest-neighbour (anchor score 1) and HR (anchor score 5) versions of images that are *not*
test images; a share of the test items is shown a second time later in the list to measure
test-retest reliability.

A study folder holds
  * ``study.sqlite``  the stimuli, raters, presentation lists and ratings (`sr_keras.mos.database`);
  * ``study.json``    how it was made (sets, methods, seed, retest share, break interval);
  * ``images/ID.png`` one PNG per stimulus, named by its opaque random id only: the browser sees
    neither the method nor the source file name, and PNGs carry no metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import sys
import time

import numpy as np

from sr_keras.mos import database

HR = "HR"
NEAREST = "nearest"
CALIBRATION_SET = "calibration"
ANCHORS = {NEAREST: 1, HR: 5}  # the paper's calibration: NN is a 1, the original a 5
STUDY_JSON = "study.json"


def new_id() -> str:
    """An opaque id (16 hex digits from the OS's CSPRNG) for a stimulus or a presentation."""
    return secrets.token_hex(8)


def new_token() -> str:
    """A rater's or the owner's secret token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def nearest_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling: each LR pixel becomes a scale x scale block (uint8 in and out)."""
    return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)


def parse_sets(values: list[str]) -> list[tuple[str, str]]:
    """``DIR`` or ``NAME=DIR`` items -> [(name, dir)]; the name defaults to the folder's name."""
    sets = []
    for value in values:
        name, _, folder = value.rpartition("=") if "=" in value else ("", "", value)
        folder = os.path.expanduser(folder)
        name = name or os.path.basename(os.path.normpath(folder))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: --hr_dir is not a directory")
        if name in {n for n, _ in sets} or name == CALIBRATION_SET:
            raise ValueError(f"--hr_dir: set name {name!r} is used twice or reserved; name sets as NAME=DIR")
        sets.append((name, folder))
    if not sets:
        raise ValueError("--hr_dir: give at least one folder of HR test images")
    return sets


def _read_set(folder: str, scale: int) -> list[tuple[str, np.ndarray]]:
    """[(stem, HR uint8 cropped to a multiple of scale)] of the images in `folder`."""
    from sr_keras.data.images import crop_to_multiple, list_images, read_image

    images = []
    for path in list_images(folder):
        hr = crop_to_multiple(read_image(path), scale)
        if min(hr.shape[:2]) < scale * 8:
            raise ValueError(f"{path}: too small for a x{scale} study ({hr.shape[1]}x{hr.shape[0]})")
        images.append((os.path.splitext(os.path.basename(path))[0], hr))
    return images


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).hexdigest()


def _progress(index: int, total: int, started: float, method: str, image: str) -> None:
    """One line per image: '[bicubic 2/5] Set5/bird  (3 s elapsed, ~5 s left for bicubic)'."""
    elapsed = time.time() - started
    left = elapsed / index * (total - index)
    print(f"[{method} {index}/{total}] {image}  ({elapsed:.0f} s elapsed, ~{left:.0f} s left for {method})", file=sys.stderr, flush=True)


def presentation_order(
    calibration_ids: list[str], test_ids: list[str], retest_share: float, rng: random.Random
) -> list[tuple[str, str, int]]:
    """One rater's list [(presentation_id, stimulus_id, repeat)]: calibration first, then the test.

    Both parts are shuffled.  round(retest_share * len(test_ids)) (at least 1 when the share is
    positive) test stimuli from the first half of the shuffled test list are shown again, each
    inserted at a random place in the second half, so a repeat never follows its original closely.
    """
    if not 0.0 <= retest_share <= 0.5:
        raise ValueError(f"--retest_share must be in [0, 0.5], got {retest_share}")
    calibration = list(calibration_ids)
    rng.shuffle(calibration)
    order = [(sid, 0) for sid in rng.sample(test_ids, len(test_ids))]
    half = len(order) // 2
    count = min(half, max(1, round(retest_share * len(test_ids)))) if retest_share > 0 else 0
    repeats = [order[i][0] for i in sorted(rng.sample(range(half), count))]
    for sid in repeats:
        order.insert(rng.randint(half + 1, len(order)), (sid, 1))
    return [(new_id(), sid, 0) for sid in calibration] + [(new_id(), sid, repeat) for sid, repeat in order]


def add_raters(study_dir: str, count: int) -> list[str]:
    """Add `count` raters (each with a fresh randomized list); returns their tokens."""
    connection = database.connect(study_dir)
    config = load_config(study_dir)
    # In a content order (not by the random ids), so that --seed alone fixes every rater's order.
    content = lambda s: (s.image_set, s.image, s.method)  # noqa: E731
    calibration_ids = [s.id for s in sorted(database.stimuli(connection, "calibration"), key=content)]
    test_ids = [s.id for s in sorted(database.stimuli(connection, "test"), key=content)]
    existing = len(database.raters(connection))
    tokens = []
    for index in range(count):
        rng = random.Random(f"{config['seed']}:{existing + index}")  # reproducible orders, secret ids
        token = new_token()
        database.add_rater(connection, token, presentation_order(calibration_ids, test_ids, config["retest_share"], rng))
        tokens.append(token)
    connection.close()
    return tokens


def load_config(study_dir: str) -> dict:
    path = os.path.join(study_dir, STUDY_JSON)
    if not os.path.isfile(path):
        raise database.StudyError(f"{study_dir}: not a study folder (no {STUDY_JSON})")
    with open(path) as handle:
        return json.load(handle)


def create_study(
    study_dir: str,
    sets: list[tuple[str, str]],
    methods: list[str],
    *,
    calibration_dir: str | None = None,
    calibration_count: int = 2,
    raters: int = 26,
    retest_share: float = 0.1,
    break_every: int = 50,
    seed: int = 0,
    scale: int = 4,
    tile: int = 0,
    load_upscaler=None,
) -> dict:
    """Make the study folder; returns its config (also written to study.json).

    sets: [(name, folder of HR images)].  methods: ``nearest``, ``bicubic`` or any model spec
    `sr_keras.inference.load_upscaler` accepts (shipped names, .keras, .weights.h5, SavedModels);
    ``HR`` is always added.  Calibration images come from `calibration_dir`, or else
    `calibration_count` images are drawn (by `seed`) from the test sets and removed from them;
    either way no calibration image is a test image (checked on the pixels).
    """
    from sr_keras import metrics
    from sr_keras.data.images import write_png
    from sr_keras.data.pipeline import make_lr

    if load_upscaler is None:
        from sr_keras.inference import load_upscaler
    if os.path.exists(database.database_path(study_dir)):
        raise ValueError(f"{study_dir}: a study already exists here (delete the folder to start over)")
    methods = [m for m in dict.fromkeys(m.strip() for m in methods) if m and m != HR]
    if break_every < 0 or raters < 0 or scale < 2:
        raise ValueError("--break_every and --raters must be >= 0 and --scale >= 2")
    if not 0.0 <= retest_share <= 0.5:
        raise ValueError(f"--retest_share must be in [0, 0.5], got {retest_share}")
    rng = random.Random(seed)
    test = {name: _read_set(folder, scale) for name, folder in sets}
    if calibration_dir:
        calibration = [(f"{CALIBRATION_SET}/{stem}", hr) for stem, hr in _read_set(calibration_dir, scale)]
    else:
        pool = [(name, stem) for name, images in test.items() for stem, _ in images]
        if calibration_count >= len(pool):
            raise ValueError(
                f"--calibration_count={calibration_count} leaves no test image ({len(pool)} HR images); "
                "give --calibration_dir or a smaller count"
            )
        chosen = set(rng.sample(pool, calibration_count))
        calibration = [(f"{n}/{s}", hr) for n, images in test.items() for s, hr in images if (n, s) in chosen]
        test = {n: [(s, hr) for s, hr in images if (n, s) not in chosen] for n, images in test.items()}
    overlap = {_digest(hr) for _, hr in calibration} & {_digest(hr) for images in test.values() for _, hr in images}
    if overlap:
        raise ValueError(f"{calibration_dir or '--hr_dir'}: {len(overlap)} calibration image(s) are also test images")
    if not calibration:
        raise ValueError("no calibration images: give --calibration_dir or --calibration_count >= 1")

    os.makedirs(os.path.join(study_dir, "images"), exist_ok=True)
    stimuli: list[database.Stimulus] = []

    def add(phase, method, image_set, image, picture, anchor=None):
        sid = new_id()
        file = f"images/{sid}.png"
        write_png(os.path.join(study_dir, file), picture)
        stimuli.append(database.Stimulus(sid, phase, method, image_set, image, file, picture.shape[1], picture.shape[0], anchor))

    for name, hr in calibration:
        add("calibration", NEAREST, CALIBRATION_SET, name, nearest_upscale(make_lr(hr, scale), scale), ANCHORS[NEAREST])
        add("calibration", HR, CALIBRATION_SET, name, hr, ANCHORS[HR])
    pairs = [(name, stem, hr, make_lr(hr, scale)) for name, images in test.items() for stem, hr in images]
    for name, stem, hr, _ in pairs:
        add("test", HR, name, stem, hr)
    display_names = {}
    for method in methods:
        if method == NEAREST:
            upscale, label = (lambda lr: nearest_upscale(lr, scale)), NEAREST
        else:
            print(f"loading {method} ...", file=sys.stderr, flush=True)
            upscaler = load_upscaler(method, scale)
            if upscaler.scale != scale:
                raise ValueError(f"{method}: a x{upscaler.scale} model in a x{scale} study (set --scale)")
            upscaler.tile = tile
            upscale, label = (lambda lr, u=upscaler: metrics.to_uint8(u(lr))), upscaler.name
        if label in display_names.values() or label == HR:
            raise ValueError(f"--models: two methods are both named {label!r}")
        display_names[method] = label
        started = time.time()
        for index, (name, stem, hr, lr) in enumerate(pairs, 1):
            sr = upscale(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"{method}: output {sr.shape} for {name}/{stem} is not the HR shape {hr.shape}")
            add("test", label, name, stem, sr)
            _progress(index, len(pairs), started, label, f"{name}/{stem}")

    config = {
        "sets": [name for name, _ in sets],
        "methods": list(display_names.values()) + [HR],
        "method_specs": display_names,
        "calibration": [name for name, _ in calibration],
        "scale": scale,
        "seed": seed,
        "retest_share": retest_share,
        "break_every": break_every,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    connection = database.connect(study_dir, create=True)
    database.insert_stimuli(connection, stimuli)
    database.set_meta(connection, "owner_token", new_token())
    connection.close()
    with open(os.path.join(study_dir, STUDY_JSON), "w") as handle:
        json.dump(config, handle, indent=2)
    add_raters(study_dir, raters)
    return config


def owner_token(study_dir: str) -> str:
    connection = database.connect(study_dir)
    try:
        return database.get_meta(connection, "owner_token")
    finally:
        connection.close()


def invite(study_dir: str, count: int) -> tuple[list[str], str]:
    """Tokens of raters 1..count (adding raters beyond the existing ones) and the owner token."""
    connection = database.connect(study_dir)
    tokens = [row["token"] for row in database.raters(connection)]
    connection.close()
    if count > len(tokens):
        tokens += add_raters(study_dir, count - len(tokens))
    return tokens[:count], owner_token(study_dir)
