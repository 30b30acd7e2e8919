"""Per-person models fitted on a handful of a person's ratings (PA_IAA fusion, task vectors, probes).

Every personalizer derives from :class:`piaa.personalize.base.Personalizer` and is registered by name in
:data:`piaa.personalize.registry.PERSONALIZERS`.
"""
from piaa.personalize.base import Personalizer  # noqa: F401
from piaa.personalize.registry import (  # noqa: F401
    PERSONALIZERS,
    get_personalizer_class,
    list_personalizers,
    make_personalizer,
    register_personalizer,
)
from piaa.state import load_state, save_state  # noqa: F401
