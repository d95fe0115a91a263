"""Figures of the book, all drawn with one colour-blind-friendly palette.

The 11 class colours were found by a computer search: ten digit colours that
maximise the smallest CIEDE2000 difference between any two of the 11 colours
(background included), taken over normal vision and simulated protanopia,
deuteranopia and tritanopia (Machado et al. 2009), with every digit colour at
least 3:1 in contrast with the black background under all four, so none is
dark. Well-known colour-blind-safe colours were kept where they cost little:
Okabe-Ito yellow, IBM blue and Tableau dark orange. Every pair of colours is
at least 18.5 CIEDE2000 apart with any of the four visions (20.9 with normal
vision); :func:`palette_min_distance` checks it and :func:`palette_swatches`
shows it. The digits the book's models confuse most (3/5, 4/9, 5/7, 5/8, 2/7,
8/9, 0/1, 7/9) and 1/7 and 6/8 got colours at least 29 apart, so a model's
mistakes stand out. Background is black, like the MNIST background.

Besides masks, the module draws the figures every architecture chapter
shares: learning curves (:func:`learning_curves`), confusion matrices whose
colours show the errors only (:func:`confusion_heatmap`) and block diagrams
of the models, read from the built Keras model (:func:`architecture_diagram`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from numpy.typing import ArrayLike

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES

if TYPE_CHECKING:
    import keras

_PALETTE_HEX = [
    "#665372",  # 0 greyish purple
    "#EDFFED",  # 1 mint white
    "#A299A2",  # 2 greyish mauve
    "#647464",  # 3 greyish green
    "#65EDFF",  # 4 cyan
    "#F0E442",  # 5 yellow (Okabe-Ito)
    "#E1997F",  # 6 salmon
    "#5B20FB",  # 7 violet
    "#648FFF",  # 8 blue (IBM Design Library)
    "#C85200",  # 9 dark orange (Tableau Color Blind 10)
    "#000000",  # background: black, as in the MNIST images
]
PALETTE: list[tuple[float, float, float]] = [to_rgb(colour) for colour in _PALETTE_HEX]

VISIONS = ("normal", "protanopia", "deuteranopia", "tritanopia")
"""The ways of seeing colour the palette is checked for: normal vision and the three dichromacies."""

_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
"""Linear sRGB -> CIE XYZ (IEC 61966-2-1); its row sums are the D65 white, so white maps to L* 100, a* = b* = 0."""

# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", IEEE TVCG 15(6), 1291-1298, doi:10.1109/TVCG.2009.113: their matrices for severity 1.0
# (dichromacy), applied here to linear RGB.
_MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB values 0..1 -> linear light (the sRGB transfer curve undone)."""
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _encoded(linear: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> sRGB values (the sRGB transfer curve)."""
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb: ArrayLike) -> np.ndarray:
    """sRGB colours ``(..., 3)`` with values 0..1 -> CIELAB ``(..., 3)`` (L*, a*, b*) for the D65 white."""
    xyz = _linear(np.asarray(rgb, dtype=float)) @ _SRGB_TO_XYZ.T / _SRGB_TO_XYZ.sum(axis=1)
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def simulate_vision(rgb: ArrayLike, vision: str = "normal") -> np.ndarray:
    """sRGB colours ``(..., 3)`` as seen with ``vision`` (one of :data:`VISIONS`), again as sRGB.

    Dichromacies use the Machado et al. (2009) matrices on linear RGB; colours
    they push out of the sRGB gamut are clipped, as a screen would show them.
    """
    if vision not in VISIONS:
        raise ValueError(f"vision must be one of {VISIONS}, got {vision!r}")
    rgb = np.asarray(rgb, dtype=float)
    if vision == "normal":
        return rgb
    return _encoded(np.clip(_linear(rgb) @ _MACHADO_2009[vision].T, 0, 1))


def ciede2000(lab1: ArrayLike, lab2: ArrayLike) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours ``(..., 3)`` (broadcast), with kL = kC = kH = 1.

    Follows Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula:
    implementation notes, supplementary test data, and mathematical
    observations", Color Res. Appl. 30(1), 21-30, including their rules for
    neutral colours (a hue angle is 0 and the mean hue is the sum when a chroma is 0).
    """
    lightness1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=float), -1, 0)
    lightness2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=float), -1, 0)
    chroma7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    a_scale = 1.5 - 0.5 * np.sqrt(chroma7 / (chroma7 + 25.0**7))
    chroma1, chroma2 = np.hypot(a_scale * a1, b1), np.hypot(a_scale * a2, b2)
    hue1, hue2 = np.degrees(np.arctan2(b1, a_scale * a1)) % 360, np.degrees(np.arctan2(b2, a_scale * a2)) % 360
    chromatic = chroma1 * chroma2 != 0
    hue_step = np.where(chromatic, (hue2 - hue1 + 180) % 360 - 180, 0)
    hue_difference = 2 * np.sqrt(chroma1 * chroma2) * np.sin(np.radians(hue_step) / 2)
    mean_hue = np.where(np.abs(hue1 - hue2) > 180, (hue1 + hue2 + 360) / 2 % 360, (hue1 + hue2) / 2)
    mean_hue = np.where(chromatic, mean_hue, hue1 + hue2)
    mean_lightness, mean_chroma = (lightness1 + lightness2) / 2, (chroma1 + chroma2) / 2
    t = (1 - 0.17 * np.cos(np.radians(mean_hue - 30)) + 0.24 * np.cos(np.radians(2 * mean_hue))
         + 0.32 * np.cos(np.radians(3 * mean_hue + 6)) - 0.20 * np.cos(np.radians(4 * mean_hue - 63)))
    lightness_offset2 = (mean_lightness - 50) ** 2
    lightness_term = (lightness2 - lightness1) / (1 + 0.015 * lightness_offset2 / np.sqrt(20 + lightness_offset2))
    chroma_term = (chroma2 - chroma1) / (1 + 0.045 * mean_chroma)
    hue_term = hue_difference / (1 + 0.015 * mean_chroma * t)
    rotation = (-2 * np.sqrt(mean_chroma**7 / (mean_chroma**7 + 25.0**7))
                * np.sin(np.radians(60 * np.exp(-(((mean_hue - 275) / 25) ** 2)))))
    return np.sqrt(lightness_term**2 + chroma_term**2 + hue_term**2 + rotation * chroma_term * hue_term)


def palette_min_distance(palette: Sequence[Any], vision: str = "normal") -> tuple[float, tuple[int, int]]:
    """Smallest CIEDE2000 difference between two colours of ``palette`` seen with ``vision``, and their indices.

    ``palette`` holds any colours matplotlib reads (hex strings, RGB tuples);
    the pair comes back as ``(i, j)`` with ``i < j``, so a failing check names the two classes.
    """
    lab = srgb_to_lab(simulate_vision(to_rgba_array(palette)[:, :3], vision))
    first, second = np.triu_indices(len(lab), k=1)
    distances = ciede2000(lab[first], lab[second])
    closest = int(np.argmin(distances))
    return float(distances[closest]), (int(first[closest]), int(second[closest]))


def palette_swatches(palette: Sequence[Any] = PALETTE) -> Figure:
    """The 11 class colours as seen with each of :data:`VISIONS`, one row each, titled with the closest pair."""
    rgb = to_rgba_array(palette)[:, :3]
    fig, axes = plt.subplots(len(VISIONS), 1, figsize=(0.75 * len(rgb) + 1.2, 1.15 * len(VISIONS)),
                             layout="constrained")
    for ax, vision in zip(axes, VISIONS):
        distance, (first, second) = palette_min_distance(rgb, vision)
        ax.imshow(simulate_vision(rgb, vision)[None], aspect="auto")
        ax.set_title(f"{vision}: closest pair {CLASS_NAMES[first]} / {CLASS_NAMES[second]}, CIEDE2000 {distance:.1f}",
                     fontsize="small")
        ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, fontsize="small")
        ax.set_yticks([])
    return fig


def class_cmap() -> ListedColormap:
    """The palette as a colormap: class ``k`` maps to ``PALETTE[k]`` (use ``vmin=0, vmax=10``)."""
    return ListedColormap(PALETTE, name="m2nist_classes")


def colorize(mask: np.ndarray) -> np.ndarray:
    """Class map ``(..., H, W)`` -> RGB image ``float (..., H, W, 3)`` in the book's palette."""
    mask = np.asarray(mask)
    if not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"colorize needs integer class maps, got dtype {mask.dtype}")
    if mask.size and (mask.min() < 0 or mask.max() >= NUM_CLASSES):
        raise ValueError(f"class maps must hold values 0..{NUM_CLASSES - 1}, got {mask.min()}..{mask.max()}")
    return np.array(PALETTE)[mask]


def legend_handles() -> list[Patch]:
    """One coloured patch per class, labelled with its name, for ``fig.legend``."""
    return [Patch(facecolor=colour, edgecolor="grey", label=name) for colour, name in zip(PALETTE, CLASS_NAMES)]


def _add_class_legend(fig: Figure) -> None:
    """The class legend in one row below the panels (the constrained layout makes room for it)."""
    fig.legend(handles=legend_handles(), loc="outside lower center", ncol=NUM_CLASSES, frameon=False, fontsize="small",
               handlelength=1.2, columnspacing=0.8)


def _bare(ax: Axes, title: str | None, ylabel: str | None) -> None:
    """Title and y label on a panel without ticks or frame (``axis("off")`` would hide the y label too)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    ax.set_title(title, fontsize="small")
    ax.set_ylabel(ylabel, fontsize="small")


def _show_image(ax: Axes, image: np.ndarray, title: str | None = None, ylabel: str | None = None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    _bare(ax, title, ylabel)


def _show_mask(ax: Axes, mask: np.ndarray, title: str | None = None, ylabel: str | None = None) -> None:
    ax.imshow(colorize(mask), interpolation="nearest")
    _bare(ax, title, ylabel)


def _digits_in(mask: np.ndarray) -> str:
    digits = [str(d) for d in np.unique(mask) if d != BACKGROUND]
    return "digits " + ", ".join(digits) if digits else "no digits"


def show_segmentation(image: np.ndarray, true_mask: np.ndarray, pred_mask: np.ndarray | None = None, title: str | None = None, ax_row: Sequence[Axes] | None = None) -> Figure:
    """Image, true mask and (if given) predicted mask side by side.

    Draws into ``ax_row`` (2 or 3 axes) when given, leaving the legend to the
    caller who owns the figure; otherwise makes a figure with a class legend.
    """
    panels = 2 if pred_mask is None else 3
    if ax_row is None:
        fig, ax_row = plt.subplots(1, panels, figsize=(3.2 * panels, 2.9), layout="constrained")
        _add_class_legend(fig)
    elif len(ax_row) != panels:
        raise ValueError(f"ax_row must hold {panels} axes, one per panel, got {len(ax_row)}")
    _show_image(ax_row[0], image, "image")
    _show_mask(ax_row[1], true_mask, f"true mask ({_digits_in(true_mask)})")
    if pred_mask is not None:
        _show_mask(ax_row[2], pred_mask, "predicted mask")
    fig = ax_row[0].figure
    if title:
        fig.suptitle(title)
    return fig


def sample_grid(images: np.ndarray, masks: np.ndarray, n: int = 8, columns: int = 4, preds: np.ndarray | None = None,
                titles: Sequence[str] | None = None, pred_label: str = "predicted mask") -> Figure:
    """The first ``n`` samples in a grid: each image above its true mask (and predicted mask).

    Each sample's column is titled ``#index: digits ...`` unless ``titles`` (one
    per sample) says otherwise, e.g. the sample's index in the split and its
    score. The first column names the rows: "image", "true mask" and
    ``pred_label`` (say, the model's name).
    """
    if len(images) != len(masks) or (preds is not None and len(preds) != len(images)):
        raise ValueError(f"images, masks and preds must have the same length, got {len(images)}, {len(masks)}, {'-' if preds is None else len(preds)}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must hold one title per sample, got {len(titles)} for {len(images)} samples")
    n = min(n, len(images))
    if n < 1 or columns < 1:
        raise ValueError(f"need at least one sample and one column, got n={n}, columns={columns}")
    panels = 2 if preds is None else 3
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows * panels, columns, figsize=(2.4 * columns, 1.9 * rows * panels), layout="constrained", squeeze=False)
    for index in range(rows * columns):
        row, column = divmod(index, columns)
        cell = axes[row * panels : (row + 1) * panels, column]
        if index >= n:
            for ax in cell:
                fig.delaxes(ax)
            continue
        labels = ("image", "true mask", pred_label) if column == 0 else (None,) * 3
        title = f"#{index}: {_digits_in(masks[index])}" if titles is None else titles[index]
        _show_image(cell[0], images[index], title, labels[0])
        _show_mask(cell[1], masks[index], ylabel=labels[1])
        if preds is not None:
            _show_mask(cell[2], preds[index], ylabel=labels[2])
    _add_class_legend(fig)
    return fig


def compare_predictions(images: np.ndarray, masks: np.ndarray, predictions: dict[str, np.ndarray],
                        titles: Sequence[str] | None = None) -> Figure:
    """One row per image: the image, its true mask, then each model's prediction.

    Columns are titled "image", "true mask" and the models' labels; each row is
    named ``#index`` and its digits unless ``titles`` (one per image) says otherwise.
    """
    lengths = {label: len(maps) for label, maps in predictions.items()}
    if not predictions or set(lengths.values()) != {len(images)} or len(masks) != len(images):
        raise ValueError(f"need predictions for each of the {len(images)} images and masks, got {len(masks)} masks and {lengths}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must hold one title per image, got {len(titles)} for {len(images)} images")
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(len(images), columns, figsize=(2.4 * columns, 2.0 * len(images) + 0.6),
                             layout="constrained", squeeze=False)
    for row, (image, mask) in enumerate(zip(images, masks)):
        name = f"#{row}\n{_digits_in(mask)}" if titles is None else titles[row]
        _show_image(axes[row, 0], image, "image" if row == 0 else None, name)
        _show_mask(axes[row, 1], mask, "true mask" if row == 0 else None)
        for column, (label, maps) in enumerate(predictions.items(), start=2):
            _show_mask(axes[row, column], maps[row], label if row == 0 else None)
    _add_class_legend(fig)
    return fig


def class_pixel_shares(masks: np.ndarray) -> np.ndarray:
    """Fraction of all pixels that belong to each of the 11 classes."""
    counts = np.bincount(np.asarray(masks).ravel(), minlength=NUM_CLASSES)
    if len(counts) > NUM_CLASSES:
        raise ValueError(f"class maps must hold values 0..{NUM_CLASSES - 1}, found {len(counts) - 1}")
    return counts / counts.sum()


def class_share_chart(masks: np.ndarray) -> Figure:
    """Bar chart of each class's share of the pixels, on a log scale and annotated in percent."""
    shares = class_pixel_shares(masks)
    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    sns.barplot(x=CLASS_NAMES, y=shares * 100, hue=CLASS_NAMES, palette=PALETTE, saturation=1, edgecolor="grey", legend=False, ax=ax)
    ax.set_yscale("log")
    ax.set_ylim(top=300)
    for position, share in enumerate(shares):
        ax.annotate(f"{100 * share:.1f}%", (position, 100 * share), ha="center", va="bottom", fontsize="small", xytext=(0, 2), textcoords="offset points")
    ax.set_xlabel("class")
    ax.set_ylabel("share of pixels (%, log scale)")
    return fig


def confusion_heatmap(cm: np.ndarray, normalize: bool = True) -> Figure:
    """Heatmap of a confusion matrix (rows true, columns predicted) whose colours show the errors only.

    With ``normalize`` each row is divided by its total, so a cell reads "share
    of the pixels of this true class predicted as that class". The diagonal
    (the recall, near 1) would squeeze every error into the bottom of the
    colour scale, so it is masked: grey, its value written in, and off the
    scale, which runs from 0 to the largest error. Cells with no pixels stay
    unwritten, shares under 0.0005 read "<0.001"; rows of classes absent from
    the truth stay grey.
    """
    cm = np.asarray(cm)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must have shape ({NUM_CLASSES}, {NUM_CLASSES}), got {cm.shape}")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.full(cm.shape, np.nan), where=totals > 0)
        unit, smallest, number = "share of the true class's pixels", 0.0005, "{:.3f}"
    else:
        values, unit, smallest, number = cm.astype(float), "pixels", 0, "{:,.0f}"
    diagonal = np.eye(NUM_CLASSES, dtype=bool)
    largest_error = np.nanmax(np.where(diagonal, np.nan, values), initial=0)
    labels = [["" if not value > 0 else number.format(value) if value >= smallest else "<0.001" for value in row]
              for row in values]
    fig, ax = plt.subplots(figsize=(8.5, 7), layout="constrained")
    ax.set_facecolor("#D0D0D0")
    sns.heatmap(values, mask=diagonal, annot=np.array(labels), fmt="", annot_kws={"fontsize": 7}, cmap="rocket_r",
                vmin=0, vmax=largest_error or 1, square=True, xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES, ax=ax,
                cbar_kws={"label": f"{unit} (errors only; diagonal in grey)"})
    for index in range(NUM_CLASSES):
        ax.text(index + 0.5, index + 0.5, labels[index][index], ha="center", va="center", fontsize=7, color="#333333")
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig


_CURVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


def learning_curves(histories: dict[str, dict[str, Sequence[float]]]) -> Figure:
    """Loss and pixel accuracy per epoch, training solid and validation dashed, one colour per run.

    Takes ``{label: history}`` with the Keras keys ``loss``, ``val_loss``,
    ``accuracy`` and ``val_accuracy``, so one figure compares several models.
    A dot marks each run's lowest validation loss: the epoch whose weights
    :func:`helpers.training.train` keeps. The loss is on a log scale and the
    accuracy on a logit scale (0.9, 0.99, 0.999 equally spaced), so the late,
    small improvements stay visible.
    """
    if not histories:
        raise ValueError("learning_curves needs at least one history")
    for label, history in histories.items():
        if missing := [key for key in _CURVE_KEYS if key not in history]:
            raise ValueError(f"history {label!r} lacks {missing}; expected the Keras keys {list(_CURVE_KEYS)}")
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for (label, history), colour in zip(histories.items(), sns.color_palette("colorblind", len(histories))):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, metric in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
            ax.plot(epochs, history[metric], color=colour, marker=".", label=f"{label} training")
            ax.plot(epochs, history[f"val_{metric}"], color=colour, marker=".", linestyle="--", label=f"{label} validation")
        best = int(np.argmin(history["val_loss"]))
        loss_ax.scatter(epochs[best], history["val_loss"][best], s=60, color=colour, edgecolor="black", zorder=3)
    loss_ax.set_yscale("log")
    loss_ax.set_title("loss (dot: lowest validation loss)")
    loss_ax.set_ylabel("cross-entropy per pixel (log scale)")
    accuracy_ax.set_yscale("logit")
    accuracy_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    accuracy_ax.yaxis.set_minor_formatter(NullFormatter())
    accuracy_ax.set_title("pixel accuracy")
    accuracy_ax.set_ylabel("share of pixels classified right (logit scale)")
    most_epochs = max(len(history["loss"]) for history in histories.values())
    for ax in (loss_ax, accuracy_ax):
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, most_epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
    accuracy_ax.legend(fontsize="small")
    return fig


@dataclass(frozen=True)
class _Box:
    """One block of an architecture diagram: its text, its centre, and its role (which sets its colour)."""

    text: str
    x: float
    y: float
    role: str


@dataclass(frozen=True)
class _Arrow:
    """A connection between two boxes, of a kind in ``_ARROW_STYLES``; a loop when ``source == target``."""

    source: str
    target: str
    kind: str
    label: str = ""


_BOX_WIDTH, _BOX_HEIGHT = 2.3, 0.8
_ROW_STEP = 1.25
"""Vertical distance between the centres of two rows of boxes (one row per resolution)."""
_BOX_COLOURS = {"io": "#EEEEEE", "encoder": "#D6EAF8", "bottom": "#E8DAEF", "decoder": "#FDEBD0", "scores": "#D5F5E3"}
_ARROW_STYLES = {  # Okabe-Ito blue, vermillion and bluish green: dark enough for thin lines on white
    "main": {"color": "black", "linestyle": "-", "legend": "main path"},
    "skip": {"color": "#0072B2", "linestyle": "--", "legend": "skip connection: encoder features concatenated"},
    "residual": {"color": "#D55E00", "linestyle": "-",
                 "legend": "residual shortcut: block input added (1×1: projected)"},
    "fusion": {"color": "#009E73", "linestyle": "-", "legend": "score fusion: class scores upsampled and added"},
}


def _size(layer_output: keras.KerasTensor) -> str:
    """``rows×columns×channels`` of a layer's output (the batch axis dropped)."""
    return "×".join(str(size) for size in layer_output.shape[1:])


def _conv_count(layer_names: set[str], prefix: str) -> int:
    """How many convolutions a block named ``prefix`` holds (``prefix_conv1``, ``prefix_conv2``, ...)."""
    return sum(name.startswith(f"{prefix}_conv") and not name.endswith(("_bn", "_relu")) for name in layer_names)


def _end_boxes(model: keras.Model, input_x: float, output_x: float, scores_text: str) -> dict[str, _Box]:
    """The input box (with its zero padding) and the output box (with the crop), above the diagram."""
    (_, _), (pad_left, pad_right) = model.get_layer("pad").padding
    (_, _), (crop_left, crop_right) = model.get_layer("crop").cropping
    image, padded = model.get_layer("image").output, model.get_layer("pad").output
    return {
        "input": _Box(f"image {_size(image)}\npad {pad_left} + {pad_right} columns\n→ {_size(padded)}", input_x, _ROW_STEP, "io"),
        "output": _Box(f"{scores_text}\ncrop {crop_left} + {crop_right} columns, softmax\n→ {_size(model.output)}", output_x, _ROW_STEP, "io"),
    }


def _fcn8s_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """Pooling stages down the left, 1×1 class-score heads in the middle, the fusion chain up the right."""
    names = {layer.name for layer in model.layers}
    n_stages = sum(name.startswith("pool") for name in names)
    fusion_x = 2 * _BOX_WIDTH + 0.8
    boxes = _end_boxes(model, 0, fusion_x, "up ×4 (transposed conv)")
    arrows = [_Arrow("input", "stage1", "main")]
    for stage in range(1, n_stages + 1):
        pooled = model.get_layer(f"pool{stage}").output
        boxes[f"stage{stage}"] = _Box(f"stage {stage}: {_conv_count(names, f'stage{stage}')}× conv 3×3\nmax pool 2×2\n→ {_size(pooled)}", 0, (1 - stage) * _ROW_STEP, "encoder")
        if stage > 1:
            arrows.append(_Arrow(f"stage{stage - 1}", f"stage{stage}", "main"))
    for stage in (2, 3, 4):
        scores = model.get_layer(f"score_pool{stage}").output
        boxes[f"score{stage}"] = _Box(f"1×1 conv: class scores\nat 1/{2**stage} size\n{_size(scores)}", _BOX_WIDTH + 0.4, (1 - stage) * _ROW_STEP, "scores")
        arrows.append(_Arrow(f"stage{stage}", f"score{stage}", "main"))
    for coarser, finer, fused, stage in (("score4", "score3", "fuse_8th", 3), ("fuse_8th", "score2", "fuse_4th", 2)):
        boxes[fused] = _Box(f"up ×2 (transposed conv)\n+ scores at 1/{2**stage}\n→ {_size(model.get_layer(fused).output)}", fusion_x, (1 - stage) * _ROW_STEP, "decoder")
        arrows += [_Arrow(coarser, fused, "fusion"), _Arrow(finer, fused, "fusion")]
    arrows.append(_Arrow("fuse_4th", "output", "main"))
    return boxes, arrows


def _encoder_decoder_layout(model: keras.Model) -> tuple[dict[str, _Box], list[_Arrow]]:
    """A U: encoder levels down the left, the bottom block, decoder levels up the right, skips across.

    Residual blocks (V-Net) are recognised by their ``_add`` layer and get a
    shortcut loop, labelled ``1×1`` where the shortcut is a projection.
    """
    names = {layer.name for layer in model.layers}
    depth = sum(name.endswith("_concat") for name in names)
    residual = "bottom_add" in names
    downsampling = "max pool 2×2" if "pool0" in names else "conv 2×2, stride 2"
    decoder_x = 2 * _BOX_WIDTH + 0.8

    def block(prefix: str) -> str:
        n_convs = _conv_count(names, prefix)
        output = model.get_layer(f"{prefix}_relu" if residual else f"{prefix}_conv{n_convs}_relu").output
        return f"{n_convs}× conv 3×3{' + shortcut' if residual else ''}\n{_size(output)}"

    boxes = _end_boxes(model, 0, decoder_x, "1×1 conv: class scores")
    boxes["bottom"] = _Box(f"bottom: {block('bottom')}", decoder_x / 2, -depth * _ROW_STEP, "bottom")
    arrows = [_Arrow("input", "down0", "main"), _Arrow("up0", "output", "main")]
    for level in range(depth):
        boxes[f"down{level}"] = _Box(f"level {level}: {block(f'down{level}')}", 0, -level * _ROW_STEP, "encoder")
        boxes[f"up{level}"] = _Box(f"up-conv 2×2, concatenate,\n{block(f'up{level}')}", decoder_x, -level * _ROW_STEP, "decoder")
        below = "bottom" if level == depth - 1 else f"down{level + 1}"
        arrows += [_Arrow(f"down{level}", below, "main", downsampling), _Arrow(f"down{level}", f"up{level}", "skip"),
                   _Arrow("bottom" if level == depth - 1 else f"up{level + 1}", f"up{level}", "main")]
    if residual:
        for key in ["bottom", *(f"{side}{level}" for side in ("down", "up") for level in range(depth))]:
            arrows.append(_Arrow(key, key, "residual", "1×1" if f"{key}_shortcut" in names else ""))
    return boxes, arrows


def _draw_arrow(ax: Axes, arrow: _Arrow, boxes: dict[str, _Box], patches: dict[str, FancyBboxPatch], centre_x: float) -> None:
    """An arrow from box to box, or a shortcut loop on a box's outer side (below it for a centred box)."""
    style = _ARROW_STYLES[arrow.kind]
    options = {"arrowstyle": "-|>", "mutation_scale": 12, "color": style["color"], "linestyle": style["linestyle"], "linewidth": 1.3}
    source = boxes[arrow.source]
    if arrow.source != arrow.target:
        target = boxes[arrow.target]
        ax.add_patch(FancyArrowPatch((source.x, source.y), (target.x, target.y), patchA=patches[arrow.source], patchB=patches[arrow.target], **options))
        if arrow.label:
            middle = ((source.x + target.x) / 2, (source.y + target.y) / 2)
            ax.annotate(arrow.label, middle, xytext=(4, 0), textcoords="offset points", fontsize=7, va="center", color=style["color"])
        return
    half_width, half_height = _BOX_WIDTH / 2, _BOX_HEIGHT / 2
    if source.x < centre_x:
        start, end, label_at = (source.x - half_width, source.y + 0.2), (source.x - half_width, source.y - 0.2), (source.x - half_width - 0.6, source.y)
    elif source.x > centre_x:
        start, end, label_at = (source.x + half_width, source.y - 0.2), (source.x + half_width, source.y + 0.2), (source.x + half_width + 0.6, source.y)
    else:
        start, end, label_at = (source.x - 0.4, source.y - half_height), (source.x + 0.4, source.y - half_height), (source.x, source.y - half_height - 0.4)
    ax.add_patch(FancyArrowPatch(start, end, connectionstyle="arc3,rad=1.6", **options))
    if arrow.label:
        ax.text(*label_at, arrow.label, fontsize=7, ha="center", va="center", color=style["color"])


def architecture_diagram(model_name: str, **model_kwargs: Any) -> Figure:
    """Block diagram of one of the book's models, with every size read from the built model.

    Builds ``models.build_model(model_name, **model_kwargs)`` and draws a box
    per stage with its output size (rows×columns×channels, on the padded
    grid), black arrows for the main path and coloured arrows for skip
    connections, residual shortcuts and score fusion, so the figure always
    matches the code. An unknown ``model_name`` raises ``ValueError``.
    """
    from helpers import models  # imported here: only this figure needs Keras, and TensorFlow is slow to start

    model = models.build_model(model_name, **model_kwargs)
    boxes, arrows = _fcn8s_layout(model) if model_name == "fcn8s" else _encoder_decoder_layout(model)
    xs, ys = [box.x for box in boxes.values()], [box.y for box in boxes.values()]
    loop_room = 0.8 if any(arrow.kind == "residual" for arrow in arrows) else 0.1
    left, right = min(xs) - _BOX_WIDTH / 2 - loop_room, max(xs) + _BOX_WIDTH / 2 + loop_room
    bottom, top = min(ys) - _BOX_HEIGHT / 2 - loop_room, max(ys) + _BOX_HEIGHT / 2 + 0.1
    fig, ax = plt.subplots(figsize=(0.85 * (right - left), 0.85 * (top - bottom) + 0.5), layout="constrained")
    ax.set(xlim=(left, right), ylim=(bottom, top), aspect="equal")
    ax.axis("off")
    patches = {}
    for key, box in boxes.items():
        corner = (box.x - _BOX_WIDTH / 2, box.y - _BOX_HEIGHT / 2)
        patches[key] = FancyBboxPatch(corner, _BOX_WIDTH, _BOX_HEIGHT, boxstyle="round,pad=0,rounding_size=0.08", facecolor=_BOX_COLOURS[box.role], edgecolor="grey")
        ax.add_patch(patches[key])
        ax.text(box.x, box.y, box.text, ha="center", va="center", fontsize=8)
    for arrow in arrows:
        _draw_arrow(ax, arrow, boxes, patches, centre_x=(min(xs) + max(xs)) / 2)
    kinds = dict.fromkeys(arrow.kind for arrow in arrows)
    fig.legend(handles=[Line2D([], [], color=_ARROW_STYLES[kind]["color"], linestyle=_ARROW_STYLES[kind]["linestyle"], label=_ARROW_STYLES[kind]["legend"]) for kind in kinds],
               loc="outside lower center", ncol=2, frameon=False, fontsize="small")
    ax.set_title(f"{model.name}: {model.count_params():,} parameters (sizes on the padded grid)", fontsize="medium")
    return fig
