"""PA_IAA (Li et al., TIP 2020): multi-task aesthetics + traits network, trait targets, joint training.

- ``network``: :class:`PAIAANet` (heads on cached features, or also the backbone's top layers), pickle-free state.
- ``traits``: "traits of the people who like the image" from raters' traits; choosing five by reliability.
- ``train``: alternating-batch joint training ``L = L_a + γ L_p``; ``build``: from rating tables to a network.
- ``fusion``: the per-person ``s_b = s_a + w_b·p`` solvers (the personalizer lives in ``piaa.personalize.pa_iaa``).
- ``default``: the shipped OASIS network, ``load_default_pa_iaa()``.
"""
from piaa.models.pa_iaa.default import load_default_pa_iaa, resolve_network  # noqa: F401
from piaa.models.pa_iaa.network import PAIAANet, load_network, save_network  # noqa: F401
