"""``piaa train pa-iaa``: train the shipped PA_IAA network on all OASIS-beauty data (needs ../shared/data; a few
minutes on 2 cores with cached features). Writes the catalogue's ``pa_iaa_oasis_lite0`` asset by default."""
from __future__ import annotations

import time
from pathlib import Path

from piaa.catalogue import DEFAULT_VARIANT
from piaa.models.pa_iaa.default import DEFAULT_TRAITS


def build_pa_iaa_network(data_root: Path, output: Path, variant: str = DEFAULT_VARIANT, hidden=(1024, 512),
                  dtype: str = "int8", traits=DEFAULT_TRAITS, progress: bool = True) -> dict:
    """Train on every OASIS-beauty image and rating with the cached-heads settings and write the asset."""
    from piaa.data import load_dataset
    from piaa.models.pa_iaa.build import build_network, extractor_inputs, traits_task
    from piaa.models.pa_iaa.network import save_network
    from piaa.models.pa_iaa.train import CACHED_HEADS_CONFIG

    t0 = time.time()
    ds = load_dataset("oasis-beauty", Path(data_root) / "oasis-beauty")
    root = Path(ds.images_root)
    second = traits_task(ds, root, traits=list(traits))
    net = build_network(ds, root, second, extractor_inputs(variant=variant, progress=progress), variant=variant,
                        hidden=hidden, config=CACHED_HEADS_CONFIG, progress=progress,
                        info={"name": output.stem, "data": "oasis-beauty (all 900 images, 605 people)",
                              "built_by": "piaa train pa-iaa"})
    save_network(net, output, dtype=dtype)
    return {"output": str(output), "bytes": output.stat().st_size, "seconds": round(time.time() - t0, 1),
            "traits": list(second.names), "final_losses": net.info.get("final_losses")}
