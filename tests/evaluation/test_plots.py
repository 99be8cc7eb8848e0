import builtins
import os

import numpy as np
import pytest

from keras_umdf.evaluation import plot_frame_drop_curves
from keras_umdf.evaluation import plot_tsne

pytestmark = pytest.mark.only_backend("tensorflow")  # NumPy and matplotlib only

image = pytest.importorskip("matplotlib.image")

RATES = [round(0.1 * i, 1) for i in range(11)]


def sentiment_curves():
    """Two models whose MAE rises and F1 falls with the frame-drop rate."""
    curves = {}
    for name, slope in (("UMDF", 0.2), ("baseline", 0.4)):
        curves[name] = {
            p: {"mae": 0.78 + slope * p, "non0_f1": 0.83 - slope * p / 2} for p in RATES
        }
    return curves


def read_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    return pixels


def coloured_fraction(pixels, channel, margin=0.2):
    """Share of pixels where `channel` (0 red, 1 green, 2 blue) exceeds both other
    channels by `margin`: the colour, even blended with white by alpha."""
    rgb = pixels[..., :3]
    others = np.delete(rgb, channel, axis=-1)
    return np.mean(np.all(rgb[..., channel : channel + 1] - others > margin, axis=-1))


def test_frame_drop_curves_png(tmp_path):
    path = tmp_path / "curves" / "mosi.png"  # the folder is created
    assert plot_frame_drop_curves(sentiment_curves(), path, title="MOSI") == str(path)
    pixels = read_png(path)
    assert pixels[..., :3].std() > 0.05  # not blank
    # Two panels side by side: wider than tall.
    assert pixels.shape[1] > 1.5 * pixels.shape[0]
    # The two lines are drawn in matplotlib's first two colours, blue and orange.
    assert coloured_fraction(pixels, 2) > 1e-3
    assert coloured_fraction(pixels, 0) > 1e-3


def test_iemocap_panels_and_error_bars(tmp_path):
    names = ("happy_f1", "sad_f1", "angry_f1", "neutral_f1")
    row = {n: 0.8 for n in names} | {f"{n}_std": 0.02 for n in names}
    curves = {"UMDF": {p: row for p in RATES}}
    path = plot_frame_drop_curves(curves, tmp_path / "iemocap.png", metrics=names)
    pixels = read_png(path)
    assert pixels.shape[1] > 3 * pixels.shape[0]  # four panels


def test_curves_refuse_to_overwrite(tmp_path):
    path = tmp_path / "curves.png"
    path.write_bytes(b"the user's file")
    with pytest.raises(FileExistsError, match="curves.png.*overwrite=True"):
        plot_frame_drop_curves(sentiment_curves(), path)
    assert path.read_bytes() == b"the user's file"
    plot_frame_drop_curves(sentiment_curves(), path, overwrite=True)
    read_png(path)


def test_curves_bad_input(tmp_path):
    path = tmp_path / "x.png"
    with pytest.raises(ValueError, match=r"has no \['corr'\]; it has \['mae', "):
        plot_frame_drop_curves(sentiment_curves(), path, metrics=("mae", "corr"))
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_frame_drop_curves({}, path)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]: \[0.5, 1.5\]"):
        plot_frame_drop_curves({"m": {0.5: {"mae": 1.0}, 1.5: {"mae": 1.0}}}, path)
    with pytest.raises(
        ValueError, match=r"curves\['m'\]\[0.0\] must be a metrics dict"
    ):
        plot_frame_drop_curves({"m": {0.0: 0.78}}, path)
    with pytest.raises(ValueError, match="must end in .png"):
        plot_frame_drop_curves(sentiment_curves(), tmp_path / "x.pdf")
    assert not os.listdir(tmp_path)  # nothing written


def test_tsne_picture_coloured_by_polarity(rng, tmp_path):
    # Three well-separated groups: negative, neutral and positive clips.
    labels = np.repeat([-2.0, 0.0, 1.4], 40)
    centres = {-2.0: -6.0, 0.0: 0.0, 1.4: 6.0}
    features = np.stack([rng.normal(centres[y], 1.0, size=8) for y in labels])
    path = plot_tsne(features, labels, tmp_path / "tsne.png", num_iterations=300)
    pixels = read_png(path)
    for channel in (0, 1, 2):  # red, green and blue points
        assert coloured_fraction(pixels, channel, margin=0.15) > 1e-3
    with pytest.raises(FileExistsError):
        plot_tsne(features, labels, path)


def test_tsne_picture_of_classes_and_bad_input(rng, tmp_path):
    labels = np.repeat([0, 1, 2], 10)
    features = rng.normal(size=(30, 4)) + labels[:, None] * 5.0
    path = plot_tsne(
        features, labels, tmp_path / "classes.png", num_iterations=100,
        class_names=("neutral", "happy", "sad"),
    )  # fmt: skip
    read_png(path)
    with pytest.raises(ValueError, match=r"\(30, 4\) and \(29,\)"):
        plot_tsne(features, labels[:29], tmp_path / "a.png")
    with pytest.raises(ValueError, match="2 names but labels hold classes"):
        plot_tsne(features, labels, tmp_path / "b.png", class_names=("a", "b"))
    with pytest.raises(ValueError, match="N >= 4"):
        plot_tsne(features[:3], labels[:3].astype(float), tmp_path / "c.png")
    with pytest.raises(ValueError, match="NaN"):
        plot_tsne(features, np.full(30, np.nan), tmp_path / "d.png")
    assert sorted(os.listdir(tmp_path)) == ["classes.png"]


def test_missing_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r'pip install "keras-umdf\[plots\]"'):
        plot_frame_drop_curves(sentiment_curves(), tmp_path / "x.png")


def test_plotting_leaves_the_pyplot_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a user's choice, other than the Agg canvas used inside
    try:
        plot_frame_drop_curves(sentiment_curves(), tmp_path / "x.png")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
