"""The bundled ImageNet weights + registered preprocessing classify real photos correctly.

If the weights were mis-converted (TF padding, BN epsilon, channel order) or the normalization drifted from
the one the weights were trained with, top-5 accuracy on these easy photos would collapse.
"""
import numpy as np
import pytest
import torch

from piaa.backbones import create_backbone, preprocess
from piaa.io.images import load_image

# OASIS file -> accepted ImageNet classes
CATS = set(range(281, 286))
DOGS = set(range(151, 269))
PHOTOS = {
    "Zebra 1": {340}, "Tiger 1": {292}, "Tiger 2": {292}, "Lion 1": {291}, "Lion 2": {291}, "Lion 3": {291},
    "Penguins 1": {145}, "Penguins 2": {145}, "Cat 1": CATS, "Cat 2": CATS, "Cat 3": CATS,
    "Dog 1": DOGS, "Dog 2": DOGS, "Dog 3": DOGS,
}
MIN_HITS = 12  # of 14; measured 13 for lite0 (it misses "Penguins 1") and 14 for lite2


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite2"])
def test_top5_contains_the_right_class(shared_data, name):
    model = create_backbone(name)
    cfg = model.cfg.with_resize_mode("center_crop")  # the ImageNet evaluation transform
    folder = shared_data / "oasis" / "images"
    x = np.stack([preprocess(load_image(folder / f"{p}.jpg", target_size=cfg.input_size), cfg) for p in PHOTOS])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # OpenMP spin-waits badly when teammates/CI jobs share the 2 cores
    try:
        with torch.inference_mode():
            top5 = model.classify(torch.from_numpy(x)).topk(5).indices.numpy()
    finally:
        torch.set_num_threads(threads)
    hits = {p: bool(set(t.tolist()) & ok) for (p, ok), t in zip(PHOTOS.items(), top5)}
    assert sum(hits.values()) >= MIN_HITS, f"{name}: top-5 misses {[p for p, h in hits.items() if not h]}"
    # and the classes are not just anywhere in the top 5: most are the first guess
    top1 = sum(int(t[0]) in ok for ok, t in zip(PHOTOS.values(), top5))
    assert top1 >= MIN_HITS - 2
