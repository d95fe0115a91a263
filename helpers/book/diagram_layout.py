"""Where the boxes and arrows of a network's block diagram go, read from the built
Keras model by its layer names (:mod:`helpers.nets.blocks`); drawing them is
:mod:`helpers.book.diagrams`'s job."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from helpers.nets.blocks import (
    ADD_SUFFIX,
    BOTTOM_BLOCK,
    CONCAT_SUFFIX,
    CROP_LAYER,
    INPUT_LAYER,
    PAD_LAYER,
    RELU_SUFFIX,
    SHORTCUT_SUFFIX,
    conv_layer,
    decoder_block,
    encoder_block,
    pool_layer,
)
from helpers.nets.fcn_parts import (
    CONV6_LAYER,
    CONV7_LAYER,
    DROPOUT_SUFFIX,
    SCORE_CONV7_LAYER,
    UPSCORE_FULL_LAYER,
    fcn_stage,
    fuse_layer,
    score_layer,
)


@dataclass(frozen=True)
class Box:
    """One block of an architecture diagram: its text, its centre, and its role (which
    sets its colour)."""

    text: str
    x: float
    y: float
    role: str


@dataclass(frozen=True)
class Arrow:
    """A connection between two boxes, of a kind in ``_ARROW_STYLES``; a loop when
    ``source == target``."""

    source: str
    target: str
    kind: str
    label: str = ""


BOX_WIDTH, BOX_HEIGHT = 2.6, 0.8
"""Size of a box, in the diagram's units (each at most :data:`_INCHES_PER_UNIT` in)."""
ROW_STEP = 1.25
"""Vertical distance between the centres of two rows of boxes (a row per resolution)."""
COLUMN_GAP = 0.4
"""Horizontal room between two columns of boxes joined by short arrows (FCN)."""
SKIP_GAP = 1.7
"""Horizontal room between the encoder and the decoder, which the skip arrows cross."""
LOOP_LABEL_OFFSET, LOOP_ROOM = 0.6, 0.8
"""How far a shortcut loop's label sits from its box, and the room the loops take."""


def size(layer_output: keras.KerasTensor) -> str:
    """``rows×columns×channels`` of a layer's output (the batch axis dropped)."""
    return "×".join(str(size) for size in layer_output.shape[1:])


def conv_count(layer_names: set[str], block: str) -> int:
    """How many 3×3 convolutions the block named ``block`` holds (numbered from 1)."""
    return sum(
        conv_layer(block, conv) in layer_names
        for conv in range(1, len(layer_names) + 1)
    )


def end_boxes(
    model: keras.Model, input_x: float, output_x: float, scores_text: str
) -> dict[str, Box]:
    """The input box (with its zero padding) and the output box (with the crop), above
    the diagram."""
    (_, _), (pad_left, pad_right) = model.get_layer(PAD_LAYER).padding
    (_, _), (crop_left, crop_right) = model.get_layer(CROP_LAYER).cropping
    image, padded = (
        model.get_layer(INPUT_LAYER).output,
        model.get_layer(PAD_LAYER).output,
    )
    input_text = (
        f"image {size(image)}\npad {pad_left} + {pad_right} columns\n→ {size(padded)}"
    )
    output_text = (
        f"{scores_text}\ncrop {crop_left} + {crop_right} columns, softmax\n"
        f"→ {size(model.output)}"
    )
    return {
        "input": Box(input_text, input_x, ROW_STEP, "io"),
        "output": Box(output_text, output_x, ROW_STEP, "io"),
    }


def fcn_layout(model: keras.Model) -> tuple[dict[str, Box], list[Arrow]]:
    """Pooling stages and conv6-7 down the left, 1×1 class-score heads in the middle,
    the fusions up the right.

    Which scores are fused is read from the layers, so FCN-32s, 16s and 8s share the
    layout.
    """
    names = {layer.name for layer in model.layers}
    n_stages = sum(pool_layer(stage) in names for stage in range(1, len(names) + 1))
    fused = [
        stage for stage in reversed(range(1, n_stages)) if fuse_layer(stage) in names
    ]
    score_x, fusion_x = BOX_WIDTH + COLUMN_GAP, 2 * (BOX_WIDTH + COLUMN_GAP)

    def row(stage: int) -> float:
        """Height of the boxes at the resolution of pooling ``stage`` (conv6-7: the row
        below the last stage)."""
        return (1 - stage) * ROW_STEP

    boxes = end_boxes(
        model,
        0,
        fusion_x,
        f"up ×{model.get_layer(UPSCORE_FULL_LAYER).strides[0]} (transposed conv)",
    )
    arrows = [Arrow("input", fcn_stage(1), "main")]
    for stage in range(1, n_stages + 1):
        convs, pooled = (
            conv_count(names, fcn_stage(stage)),
            size(model.get_layer(pool_layer(stage)).output),
        )
        boxes[fcn_stage(stage)] = Box(
            f"stage {stage}: {convs}× conv 3×3\nmax pool 2×2\n→ {pooled}",
            0,
            row(stage),
            "encoder",
        )
        if stage > 1:
            arrows.append(Arrow(fcn_stage(stage - 1), fcn_stage(stage), "main"))
    kernel = "×".join(str(size) for size in model.get_layer(CONV6_LAYER).kernel_size)
    dropout = model.get_layer(CONV7_LAYER + DROPOUT_SUFFIX).rate
    features = size(model.get_layer(CONV7_LAYER + RELU_SUFFIX).output)
    text = f"conv6 {kernel}, conv7 1×1\ndropout {dropout} after each\n→ {features}"
    boxes[CONV7_LAYER] = Box(text, 0, row(n_stages + 1), "bottom")
    arrows.append(Arrow(fcn_stage(n_stages), CONV7_LAYER, "main"))
    heads = [
        (CONV7_LAYER, CONV7_LAYER, SCORE_CONV7_LAYER, n_stages, row(n_stages + 1))
    ]  # box, layer scored, ...
    heads += [
        (fcn_stage(stage), pool_layer(stage), score_layer(stage), stage, row(stage))
        for stage in fused
    ]
    for source, scored, head, stage, y in heads:
        text = (
            f"1×1 conv: class scores\nof {scored}, 1/{2**stage} size\n"
            f"{size(model.get_layer(head).output)}"
        )
        boxes[head] = Box(text, score_x, y, "scores")
        arrows.append(Arrow(source, head, "main"))
    coarser = SCORE_CONV7_LAYER
    for stage in fused:
        fuse = fuse_layer(stage)
        text = (
            f"up ×2 (transposed conv)\n+ scores of {pool_layer(stage)}\n"
            f"→ {size(model.get_layer(fuse).output)}"
        )
        boxes[fuse] = Box(text, fusion_x, row(stage), "decoder")
        arrows += [
            Arrow(coarser, fuse, "fusion"),
            Arrow(score_layer(stage), fuse, "fusion"),
        ]
        coarser = fuse
    arrows.append(Arrow(coarser, "output", "main"))
    return boxes, arrows


def encoder_decoder_layout(model: keras.Model) -> tuple[dict[str, Box], list[Arrow]]:
    """A U: encoder levels down the left, the bottom block, decoder levels up the
    right, skips across.

    Residual blocks (V-Net) are recognised by their ``_add`` layer and get a
    shortcut loop, labelled ``1×1`` where the shortcut is a projection.
    """
    names = {layer.name for layer in model.layers}
    depth = sum(name.endswith(CONCAT_SUFFIX) for name in names)
    residual = BOTTOM_BLOCK + ADD_SUFFIX in names
    downsampling = "max pool 2×2" if pool_layer(0) in names else "conv 2×2, stride 2"
    decoder_x = BOX_WIDTH + SKIP_GAP

    def block(name: str, shortcut_apart: bool = True) -> str:
        """The block's convolutions and output size; a shortcut on a line of its own
        unless ``shortcut_apart`` is false (the decoder's first line is long)."""
        n_convs = conv_count(names, name)
        # a residual block's ReLU follows its addition
        last = name if residual else conv_layer(name, n_convs)
        output = model.get_layer(last + RELU_SUFFIX).output
        shortcut = ("\n" if shortcut_apart else " ") + "+ shortcut" if residual else ""
        return f"{n_convs}× conv 3×3{shortcut}\n{size(output)}"

    boxes = end_boxes(model, 0, decoder_x, "1×1 conv: class scores")
    boxes[BOTTOM_BLOCK] = Box(
        f"bottom: {block(BOTTOM_BLOCK)}", decoder_x / 2, -depth * ROW_STEP, "bottom"
    )
    arrows = [
        Arrow("input", encoder_block(0), "main"),
        Arrow(decoder_block(0), "output", "main"),
    ]
    for level in range(depth):
        down, up = encoder_block(level), decoder_block(level)
        last = level == depth - 1
        below, above = (
            (BOTTOM_BLOCK,) * 2
            if last
            else (encoder_block(level + 1), decoder_block(level + 1))
        )
        boxes[down] = Box(
            f"level {level}: {block(down)}", 0, -level * ROW_STEP, "encoder"
        )
        boxes[up] = Box(
            f"up-conv 2×2, concatenate,\n{block(up, shortcut_apart=False)}",
            decoder_x,
            -level * ROW_STEP,
            "decoder",
        )
        arrows += [
            Arrow(down, below, "main", downsampling),
            Arrow(down, up, "skip"),
            Arrow(above, up, "main"),
        ]
    if residual:
        for key in [
            BOTTOM_BLOCK,
            *(
                side(level)
                for side in (encoder_block, decoder_block)
                for level in range(depth)
            ),
        ]:
            arrows.append(
                Arrow(
                    key,
                    key,
                    "residual",
                    "1×1" if key + SHORTCUT_SUFFIX in names else "",
                )
            )
    return boxes, arrows
