"""Data sets of the demo, made locally (nothing is downloaded).

- :func:`load_digits`: the real 8x8 handwritten digits that scikit-learn
  ships, upscaled to 32x32 with bilinear interpolation.
- :func:`make_tank_dataset`: generated scenes (sky, ground, one object) where
  the class is "tank" or "no tank". The sky can be made to give the class away
  (the classic tank story: every tank photo was taken under a cloudy sky), so a
  model can learn the weather instead of the tank. Each image comes with a
  mask of its object, to measure how much of a map lies on the object.

Images are float32 in [0, 1], channels last.
"""

import collections

import numpy as np

DIGIT_CLASS_NAMES = tuple(str(d) for d in range(10))
TANK_CLASS_NAMES = ("no tank", "tank")

# Sky brightness ranges: a dark (overcast) and a bright (sunny) sky.
DARK_SKY = (0.22, 0.42)
BRIGHT_SKY = (0.68, 0.92)

SKY_MODES = ("confounded", "clean", "swapped")

TankData = collections.namedtuple(
    "TankData", ["images", "labels", "masks", "dark_sky"])
TankData.__doc__ = """Generated tank scenes.

images: float32 (N, H, W, 3) in [0, 1]; labels: int64 (N,), 1 = tank;
masks: bool (N, H, W), True on the object (tank or not); dark_sky: bool (N,).
"""

Digits = collections.namedtuple(
    "Digits", ["x_train", "y_train", "x_test", "y_test"])


# --------------------------------------------------------------------------
# Digits


def load_digits(size=32, test_fraction=0.2, seed=0):
    """scikit-learn's handwritten digits, upscaled, split into train and test.

    Returns a :class:`Digits` tuple; images are float32 (N, size, size, 1) in
    [0, 1], labels int64. The split is stratified and seeded.
    """
    from PIL import Image
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    bunch = datasets.load_digits()
    small = bunch.images.astype(np.float32) / 16.0  # (N, 8, 8), 0..16 -> 0..1
    images = np.stack([
        np.asarray(Image.fromarray(img, mode="F").resize(
            (size, size), Image.BILINEAR))
        for img in small
    ])
    images = np.clip(images, 0.0, 1.0)[..., None].astype(np.float32)
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed,
        stratify=labels)
    return Digits(x_train, y_train, x_test, y_test)


def pick_probes(labels, n=16, num_classes=None):
    """Indices of ``n`` images with mixed classes: class 0, 1, 2, ... in turn.

    Takes the first unused image of each class in round-robin order, so the
    probe set is fixed for a fixed data set.
    """
    labels = np.asarray(labels)
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    pools = [list(np.flatnonzero(labels == c)) for c in range(num_classes)]
    picked = []
    c = 0
    while len(picked) < n and any(pools):
        if pools[c]:
            picked.append(pools[c].pop(0))
        c = (c + 1) % num_classes
    return np.array(picked, dtype=np.int64)


# --------------------------------------------------------------------------
# Tank scenes


def _smooth_noise(rng, shape, cells):
    """Low-frequency noise in [0, 1]: a random grid, bilinearly upsampled."""
    h, w = shape
    grid = rng.random((cells + 1, cells + 1))
    ys = np.linspace(0, cells, h)
    xs = np.linspace(0, cells, w)
    y0 = np.minimum(ys.astype(int), cells - 1)
    x0 = np.minimum(xs.astype(int), cells - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - fy) * (1 - fx) + g01 * (1 - fy) * fx
            + g10 * fy * (1 - fx) + g11 * fy * fx)


def _rect(yy, xx, top, left, bottom, right):
    return (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)


def _ellipse(yy, xx, cy, cx, ry, rx):
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _draw_tank(rng, yy, xx, ground_y, cx, scale):
    """Parts of a tank standing on ``ground_y``: (mask, shade) pairs."""
    w = 20.0 * scale
    track_h = 3.5 * scale
    hull_h = 3.5 * scale
    tracks = _rect(yy, xx, ground_y - track_h, cx - w / 2, ground_y,
                   cx + w / 2)
    # Rounded track ends.
    tracks &= ~(_rect(yy, xx, ground_y - 1, cx - w / 2, ground_y,
                      cx - w / 2 + 1)
                | _rect(yy, xx, ground_y - 1, cx + w / 2 - 1, ground_y,
                        cx + w / 2))
    hull_top = ground_y - track_h - hull_h
    hull = _rect(yy, xx, hull_top, cx - w * 0.42, ground_y - track_h,
                 cx + w * 0.42)
    turret_cx = cx + rng.uniform(-0.1, 0.1) * w
    turret = _ellipse(yy, xx, hull_top, turret_cx, 3.2 * scale, w * 0.22)
    turret &= yy < hull_top
    direction = rng.choice([-1.0, 1.0])
    barrel_len = w * rng.uniform(0.45, 0.6)
    barrel_y = hull_top - 1.8 * scale
    x_from = turret_cx + direction * w * 0.15
    x_to = x_from + direction * barrel_len
    barrel = _rect(yy, xx, barrel_y - 0.6 * scale - 0.3,
                   min(x_from, x_to), barrel_y + 0.6 * scale + 0.3,
                   max(x_from, x_to))
    # Road wheels: lighter dots on the tracks.
    wheels = np.zeros_like(tracks)
    for k in range(5):
        wx = cx - w * 0.36 + k * w * 0.18
        wheels |= _ellipse(yy, xx, ground_y - track_h / 2, wx,
                           track_h * 0.3, track_h * 0.3)
    wheels &= tracks
    return [(tracks, 0.55), (hull, 1.0), (turret, 0.85), (barrel, 0.7),
            (wheels, 1.15)]


def _draw_tree(rng, yy, xx, ground_y, cx, scale):
    trunk_h = 7.0 * scale
    trunk = _rect(yy, xx, ground_y - trunk_h, cx - 1.2 * scale,
                  ground_y, cx + 1.2 * scale)
    crown_r = rng.uniform(5.0, 6.5) * scale
    crown = _ellipse(yy, xx, ground_y - trunk_h - crown_r * 0.7, cx,
                     crown_r, crown_r * rng.uniform(0.7, 0.95))
    return [(trunk, 0.6), (crown, 1.0)]


def _draw_house(rng, yy, xx, ground_y, cx, scale):
    w = rng.uniform(11.0, 14.0) * scale
    h = rng.uniform(7.0, 9.0) * scale
    walls = _rect(yy, xx, ground_y - h, cx - w / 2, ground_y, cx + w / 2)
    roof_h = rng.uniform(5.0, 7.0) * scale
    top = ground_y - h
    # Triangle: above the walls, narrowing towards the apex.
    frac = (top - yy) / roof_h
    roof = (yy < top) & (frac <= 1.0) & (
        np.abs(xx - cx) <= (w / 2 + 1) * (1.0 - frac))
    door = _rect(yy, xx, ground_y - h * 0.5, cx - 1.2 * scale, ground_y,
                 cx + 1.2 * scale)
    return [(walls, 1.0), (roof, 0.6), (door, 0.45)]


def _draw_rock(rng, yy, xx, ground_y, cx, scale):
    rx = rng.uniform(7.0, 10.0) * scale
    ry = rng.uniform(4.0, 6.0) * scale
    rock = _ellipse(yy, xx, ground_y - ry * 0.6, cx, ry, rx) & (yy < ground_y)
    spot = _ellipse(yy, xx, ground_y - ry * 0.9, cx - rx * 0.3, ry * 0.35,
                    rx * 0.3) & rock
    return [(rock, 0.9), (spot, 1.15)]


_NO_TANK_OBJECTS = (_draw_tree, _draw_house, _draw_rock)


def _render_scene(rng, size, tank, dark_sky):
    """One scene: returns (image (H, W, 3) float32, object mask (H, W))."""
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy = yy + 0.5
    xx = xx + 0.5

    # Horizon with gentle hills.
    horizon = size * rng.uniform(0.5, 0.6) + (
        _smooth_noise(rng, (1, w), 3)[0] - 0.5) * size * 0.12
    sky_mask = yy < horizon[None, :]

    # Sky: brightness is the (possibly confounded) cue, plus clouds.
    lo, hi = DARK_SKY if dark_sky else BRIGHT_SKY
    brightness = rng.uniform(lo, hi)
    tint = np.array([0.82, 0.9, 1.0]) + rng.uniform(-0.04, 0.04, 3)
    clouds = _smooth_noise(rng, (h, w), 4) - 0.5
    gradient = (yy / size - 0.3) * 0.12
    sky = (brightness + 0.18 * clouds + gradient)[..., None] * tint

    # Ground: colour independent of the class and of the sky.
    ground_base = np.array([0.38, 0.42, 0.22]) * rng.uniform(0.7, 1.25)
    texture = _smooth_noise(rng, (h, w), 8) - 0.5
    ground = ground_base[None, None, :] * (1.0 + 0.35 * texture[..., None])

    image = np.where(sky_mask[..., None], sky, ground)

    # The object, standing on the ground in front of the horizon.
    scale = rng.uniform(0.9, 1.2) * size / 48.0
    cx = rng.uniform(0.28, 0.72) * size
    ground_y = np.round(np.max(horizon) + rng.uniform(3.0, 9.0) * size / 48.0)
    ground_y = min(ground_y, size - 2.0)
    draw = _draw_tank if tank else _NO_TANK_OBJECTS[
        rng.integers(len(_NO_TANK_OBJECTS))]
    parts = draw(rng, yy, xx, ground_y, cx, scale)
    # One palette for every kind of object, so colour does not tell the class.
    colour = np.array([0.30, 0.32, 0.20]) * rng.uniform(0.5, 1.0) + \
        rng.uniform(-0.03, 0.03, 3)
    mask = np.zeros((h, w), dtype=bool)
    for part, shade in parts:
        image[part] = np.clip(colour * shade, 0, 1)
        mask |= part

    image = image + rng.normal(0.0, 0.02, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32), mask


def make_tank_dataset(n, sky="confounded", seed=0, size=48,
                      confound_strength=1.0):
    """Generate ``n`` tank / no-tank scenes (half of each, shuffled).

    Every image has a sky, hilly ground and one object on the ground: a tank
    (class 1) or a tree, house or rock (class 0), in the same colours. The sky
    is dark (overcast) or bright (sunny), decided by ``sky``:

    - ``"confounded"``: tanks under a dark sky, everything else under a bright
      one (with probability ``confound_strength``; the rest at random), so the
      sky alone gives the class away, as in the tank story.
    - ``"clean"``: dark or bright at random, independent of the class.
    - ``"swapped"``: the confound reversed (tanks under a bright sky, no tank
      under a dark one): images that expose a model that learned the sky.

    Args:
        n: number of images.
        sky: one of ``"confounded"``, ``"clean"``, ``"swapped"``.
        seed: seed of the generator; same seed, same images.
        size: side of the square images in pixels.
        confound_strength: for ``"confounded"`` only, the probability that an
            image follows the confound.

    Returns:
        :class:`TankData` (images, labels, masks, dark_sky).
    """
    if sky not in SKY_MODES:
        raise ValueError("sky must be one of %s, got %r" % (SKY_MODES, sky))
    if n < 1:
        raise ValueError("n must be a positive number of images, got %r" % n)
    if size < 24:
        raise ValueError("size must be at least 24 pixels, got %r" % size)
    if not 0.0 <= confound_strength <= 1.0:
        raise ValueError("confound_strength must be in [0, 1], got %r"
                         % confound_strength)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    if sky == "clean":
        dark = rng.random(n) < 0.5
    else:
        dark = labels == 1 if sky == "confounded" else labels == 0
        if sky == "confounded" and confound_strength < 1.0:
            random = rng.random(n) >= confound_strength
            dark = np.where(random, rng.random(n) < 0.5, dark)
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size), bool)
    for i in range(n):
        images[i], masks[i] = _render_scene(rng, size, bool(labels[i]),
                                            bool(dark[i]))
    return TankData(images, labels.astype(np.int64), masks, dark.astype(bool))


def make_tank_probes(n=16, seed=12345, size=48):
    """The tank probe set: ``n`` scenes with the confound broken.

    Tanks under a bright sky, no tank under a dark one, alternating no tank /
    tank; a separate seed from the training data.
    """
    data = make_tank_dataset(n, sky="swapped", seed=seed, size=size)
    order = np.concatenate([np.flatnonzero(data.labels == 0),
                            np.flatnonzero(data.labels == 1)])
    order = order.reshape(2, -1).T.reshape(-1) if n % 2 == 0 else order
    return TankData(*(a[order] for a in data))
