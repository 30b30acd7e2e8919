"""Per-person models fitted on a handful of a person's ratings (PA_IAA fusion, task vectors, probe)."""
from piaa.personalize.registry import (  # noqa: F401
    get_personalizer_class,
    list_personalizers,
    make_personalizer,
    register_personalizer,
)
from piaa.personalize.state import load_state, save_state  # noqa: F401
