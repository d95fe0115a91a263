"""What only the book's pages need: figures, tables and sentences built from the
committed runs.

``style`` (figure sizes), ``palette`` (class colours), ``plotting`` (images
and masks), ``charts`` (class shares, learning curves, confusion matrices),
``diagrams`` and ``diagram_layout`` (block diagrams of the networks),
``upsampling`` and ``receptive`` (chapter 2's worked examples), ``chapter``
(the steps chapters 2-4 share), ``results`` (the runs side by side),
``original_project`` (the original project's published numbers),
``source`` (a function's source on the page).

The top layer: may import every other subpackage; none imports it.
"""
