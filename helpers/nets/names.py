"""The networks' names and how the book writes them; no Keras, so that run folders and
study manifests are checked without it."""

BOOK_MODELS = ("fcn8s", "unet", "vnet")
"""The three networks the book compares."""

MODEL_LABELS = {
    "fcn8s": "FCN-8s",
    "fcn16s": "FCN-16s",
    "fcn32s": "FCN-32s",
    "unet": "U-Net",
    "vnet": "V-Net",
}
"""How the book writes each model's name."""
