"""Convert one of the SAR-HUB authors' released checkpoints (e.g. `SENet50_TSX.pth`) to a verified Model-Hub file.

    python weights/convert.py --source SENet50_TSX.pth --name senet50-tsx [--arch senet50] [--out-dir DIR]

The same as `python -m sarhub.hub convert` (which works from a pip install too): every tensor is renamed by name
(`sarhub.authors_checkpoints`) and must find its place in our 1-channel model, the first convolution is summed over
the three grey-copy input channels (exact), and the file is written as safetensors with its input contract and
registered with its sha256, so `create_model(..., weights="senet50-tsx")` then loads it.
"""
import sys

from sarhub.hub_tools import main

if __name__ == "__main__":
    main(["convert", *sys.argv[1:]])
