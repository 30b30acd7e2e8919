"""Backbone registry (name -> network + its preprocessing) and the networks themselves."""
from piaa.backbones.registry import (  # noqa: F401
    BACKBONES,
    PretrainedCfg,
    create_backbone,
    get_pretrained_cfg,
    list_backbones,
    register_backbone,
    register_local_backbone,
)
from piaa.backbones.preprocess import preprocess  # noqa: F401
