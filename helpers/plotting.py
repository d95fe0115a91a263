"""Figures of the book, all drawn with one colour-blind-friendly palette.

Digits get the seven colours of the Okabe-Ito palette and three of Paul Tol's
(purple, pale grey, indigo), picked so that every pair stays apart under
simulated protanopia, deuteranopia and tritanopia. Digits that are easy to
confuse (4/9, 3/5, 1/7, 6/8) get contrasting colours, so a model's mistakes
stand out. Background is near-black, like the MNIST background.

Besides masks, the module draws the figures every architecture chapter
shares: learning curves (:func:`learning_curves`) and block diagrams of the
models, read from the built Keras model (:func:`architecture_diagram`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers import BACKGROUND, CLASS_NAMES, NUM_CLASSES

if TYPE_CHECKING:
    import keras

_PALETTE_HEX = [
    "#E69F00",  # 0 orange (Okabe-Ito)
    "#56B4E9",  # 1 sky blue (Okabe-Ito)
    "#AA3377",  # 2 purple (Tol bright)
    "#D55E00",  # 3 vermillion (Okabe-Ito)
    "#F0E442",  # 4 yellow (Okabe-Ito)
    "#0072B2",  # 5 blue (Okabe-Ito)
    "#009E73",  # 6 bluish green (Okabe-Ito)
    "#DDDDDD",  # 7 pale grey (Tol)
    "#CC79A7",  # 8 reddish purple (Okabe-Ito)
    "#332288",  # 9 indigo (Tol muted)
    "#1A1A1A",  # background: near-black
]
PALETTE: list[tuple[float, float, float]] = [to_rgb(colour) for colour in _PALETTE_HEX]


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
    fig.legend(handles=legend_handles(), loc="lower center", ncol=NUM_CLASSES, frameon=False, fontsize="small", handlelength=1.2, columnspacing=0.8)


def _show_image(ax: Axes, image: np.ndarray, title: str | None = None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize="small")
    ax.axis("off")


def _show_mask(ax: Axes, mask: np.ndarray, title: str | None = None) -> None:
    ax.imshow(colorize(mask), interpolation="nearest")
    ax.set_title(title, fontsize="small")
    ax.axis("off")


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
        fig.get_layout_engine().set(rect=(0, 0.1, 1, 0.9))
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


def sample_grid(images: np.ndarray, masks: np.ndarray, n: int = 8, columns: int = 4, preds: np.ndarray | None = None, titles: Sequence[str] | None = None) -> Figure:
    """The first ``n`` samples in a grid: each image above its true mask (and predicted mask).

    Each image is titled ``#index: digits ...`` unless ``titles`` (one per
    sample) says otherwise, e.g. the sample's index in the split and its score.
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
        _show_image(cell[0], images[index], f"#{index}: {_digits_in(masks[index])}" if titles is None else titles[index])
        _show_mask(cell[1], masks[index])
        if preds is not None:
            _show_mask(cell[2], preds[index], "predicted")
    _add_class_legend(fig)
    fig.get_layout_engine().set(rect=(0, 0.06 / rows, 1, 1 - 0.06 / rows))
    return fig


def compare_predictions(images: np.ndarray, masks: np.ndarray, predictions: dict[str, np.ndarray]) -> Figure:
    """One row per image: the image, its true mask, then each model's prediction, labelled."""
    lengths = {label: len(maps) for label, maps in predictions.items()}
    if not predictions or set(lengths.values()) != {len(images)} or len(masks) != len(images):
        raise ValueError(f"need predictions for each of the {len(images)} images and masks, got {len(masks)} masks and {lengths}")
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(len(images), columns, figsize=(2.4 * columns, 2.0 * len(images) + 0.6),
                             layout="constrained", squeeze=False)
    for row, (image, mask) in enumerate(zip(images, masks)):
        _show_image(axes[row, 0], image, "image" if row == 0 else None)
        _show_mask(axes[row, 1], mask, "true mask" if row == 0 else None)
        for column, (label, maps) in enumerate(predictions.items(), start=2):
            _show_mask(axes[row, column], maps[row], label if row == 0 else None)
    _add_class_legend(fig)
    fig.get_layout_engine().set(rect=(0, 0.08, 1, 0.92))
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
    """Heatmap of a confusion matrix (rows true, columns predicted).

    With ``normalize`` each row is divided by its total, so a cell reads "share
    of the pixels of this true class predicted as that class"; the diagonal is
    the recall. Rows of classes absent from the truth stay blank.
    """
    cm = np.asarray(cm)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion matrix must have shape ({NUM_CLASSES}, {NUM_CLASSES}), got {cm.shape}")
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, totals, out=np.full(cm.shape, np.nan), where=totals > 0)
        options = {"fmt": ".2f", "vmin": 0, "vmax": 1, "cbar_kws": {"label": "share of the true class"}}
    else:
        values = cm
        options = {"fmt": "d", "cbar_kws": {"label": "pixels"}}
    fig, ax = plt.subplots(figsize=(8.5, 7), layout="constrained")
    sns.heatmap(values, annot=True, annot_kws={"fontsize": 7}, cmap="viridis", square=True, xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES, ax=ax, **options)
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
_ARROW_STYLES = {
    "main": {"color": "black", "linestyle": "-", "legend": "main path"},
    "skip": {"color": PALETTE[5], "linestyle": "--", "legend": "skip connection: encoder features concatenated"},
    "residual": {"color": PALETTE[3], "linestyle": "-", "legend": "residual shortcut: block input added (1×1: projected)"},
    "fusion": {"color": PALETTE[6], "linestyle": "-", "legend": "score fusion: class scores upsampled and added"},
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
