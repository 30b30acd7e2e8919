"""Task-vector customization (Jooyeol Yun and Jaegul Choo, KAIST, ECCV 2024) with a CPU split point
(docs/design.md §1B/§1C).

spec     - the one task-model architecture and its input layout
net      - the trainable top (layers above the split + two linear layers)
targets  - per-image soft targets on the 10-value template
tasks    - ratings sources -> tasks (databases, populations, criteria, taste groups)
train    - fine-tuning one task model (head first, then the top layers)
bank     - TaskBank: θ_pre + task vectors, pickle-free, lazily loaded
build    - building a bank from tasks; the default bank shipped with piaa
engine   - fast scores/gradients of the merged model w.r.t. the coefficients λ
inputs   - cached below-split features -> flat model inputs
config   - `piaa tasks train` config files
"""
from piaa.models.task_vectors.bank import TaskBank  # noqa: F401
from piaa.models.task_vectors.build import build_bank, load_default_bank  # noqa: F401
from piaa.models.task_vectors.spec import TaskModelSpec, template_for  # noqa: F401
