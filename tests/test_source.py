"""Specification of helpers.book.source: chapters show the code that runs, not a copy of
it."""

import ast
from pathlib import Path

import pytest

from helpers.book import source
from helpers.nets import blocks, unet
from helpers.train import losses


def lines_of_definition(path: Path, name: str) -> str:
    """The lines of the top-level definition ``name`` in the file, as written
    (decorators included)."""
    text = path.read_text()
    node = next(
        node for node in ast.parse(text).body if getattr(node, "name", None) == name
    )
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    return "\n".join(text.splitlines()[first - 1 : node.end_lineno])


def test_the_shown_code_is_the_definition_in_the_module_file():
    shown = source.show_source(unet.build_unet).data
    assert shown == lines_of_definition(Path(unet.__file__), "build_unet")


def test_a_class_is_shown_with_its_decorator():
    shown = source.show_source(losses.SegmentationLoss).data
    assert shown.startswith("@keras.saving.register_keras_serializable")
    assert shown == lines_of_definition(Path(losses.__file__), "SegmentationLoss")


def test_several_definitions_are_shown_in_the_order_given():
    shown = source.show_source(unet.double_conv, blocks.conv_bn).data
    assert shown.index("def double_conv(") < shown.index("def conv_bn(")


def test_the_page_gets_highlighted_html():
    html = source.show_source(blocks.conv_bn)._repr_html_()
    assert 'class="highlight"' in html
    assert "BatchNormalization" in html


def test_nothing_to_show_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        source.show_source()
