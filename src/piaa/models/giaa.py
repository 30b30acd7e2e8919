"""Generic aesthetics (GIAA): the distribution head of PA_IAA (docs/design.md §1A) on frozen backbone features.

``GenericHead`` predicts, for each image, a distribution over the N score buckets of a rating scale
(FC → BN → ReLU → ... → FC N → softmax); the score is the expectation over the bucket values. It is trained on
per-image rating distributions with the paper's loss, the mean squared (Euclidean) distance between predicted
and true distributions (``loss="l2"``); ``loss="emd"`` uses the NIMA EMD (r = 2) instead.

Two things differ from training the head inside a network, both for speed on a CPU and both documented here:

* Features are standardized per dimension and projected onto the top ``components`` principal directions of
  the *training* features (``components=None`` keeps every direction; with n images there are at most n - 1).
  With far fewer images than feature dimensions (675 vs 3120) the first layer can only learn inside the span
  of the training features anyway; the projection removes the rest and makes each epoch ~10x cheaper.
* ``n_models`` heads with seeds ``seed, seed+1, ...`` can be averaged (a small ensemble): their mean
  distribution is the prediction.

Prediction runs in numpy on the fitted arrays (batch norm folded into the linear layers), so a loaded model
needs no torch and a state round trip gives identical numbers. ``fit`` is deterministic for a given seed,
thread count and machine.
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from piaa.data.scale import Scale
from piaa.errors import InputError, MissingKeyError, NotFittedError

STATE_KIND = "piaa.GenericHead"
STATE_VERSION = 1
LOSSES = ("l2", "emd")


def as_scale(scale) -> Scale:
    """A ``Scale`` from a Scale, a ``(min, max, buckets)`` triple or a dict with those keys."""
    if isinstance(scale, Scale):
        return scale
    if isinstance(scale, dict):
        return Scale(float(scale["min"]), float(scale["max"]), int(scale["buckets"]))
    try:
        lo, hi, n = scale
    except (TypeError, ValueError):
        raise TypeError(f"scale must be a Scale or (min, max, buckets), got {scale!r}") from None
    return Scale(float(lo), float(hi), int(n))


def distributions_from_ratings(dataset, images: Sequence[str]) -> np.ndarray:
    """Per-image rating distributions ``[len(images), N]`` (rows sum to 1) over the dataset's scale buckets.

    ``images`` are image ids of ``dataset.ratings`` (paths relative to its images root). An image without
    ratings raises ``KeyError`` naming it: a silent uniform row would train the model on nothing.
    """
    dist = dataset.image_distributions()
    missing = [i for i in images if i not in dist.index]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingKeyError(f"no ratings of image {missing[0]!r}{more} in {dataset.name}")
    return dist.reindex(list(images)).to_numpy(dtype=np.float64)


def _check_X(X, n_features: Optional[int] = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"features must be a 2-D array [n_images, n_features], got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise InputError(f"features have {X.shape[1]} dimensions; this head was fitted on {n_features}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise InputError(f"{int(bad.sum())} feature row(s) contain NaN/inf (first: row {int(np.flatnonzero(bad)[0])});"
                         " drop images whose features failed before calling the head")
    return X


def _blas_threads(threads: Optional[int]):
    """Limit numpy's BLAS threads (oversubscribed BLAS on a shared 2-core machine is many times slower)."""
    if not threads:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(int(threads))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class GenericHead:
    """Distribution head over a rating scale, scikit-learn style.

    Parameters (all stored unchanged; fitted state ends in ``_``):
        scale:          ``Scale`` or ``(min, max, buckets)``; N = buckets outputs, bucket values = ``scale.values``.
        hidden:         sizes of the hidden layers (paper: 1024, 512), each FC → BatchNorm → ReLU → dropout.
        dropout:        dropout after every hidden layer (training only).
        components:     principal directions of the standardized training features kept (None = all).
        log_features:   apply ``log1p`` to the (non-negative) features before standardizing.
        loss:           "l2" (paper: squared distance of distributions) or "emd" (NIMA EMD, r = 2).
        epochs, batch_size, lr, weight_decay: AdamW with a one-cycle learning-rate schedule.
        n_models:       heads averaged (seeds ``seed + i``).
        seed:           makes ``fit`` deterministic.
        threads:        torch threads while fitting. 1 by default: the matrices are small, and a second thread
                        mostly spins on a busy 2-core machine.

    Methods: ``fit(X [n,d], distributions [n,N])`` -> self; ``predict_distribution(X)`` -> [n,N];
    ``predict(X)`` -> expected score [n]; ``state_dict()`` / ``from_state_dict(state)`` (no pickle).
    """

    def __init__(self, scale=(1.0, 7.0, 7), hidden: Sequence[int] = (1024, 512), dropout: float = 0.5,
                 components: Optional[int] = 256, log_features: bool = False, loss: str = "l2",
                 epochs: int = 30, batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                 n_models: int = 1, seed: int = 0, threads: Optional[int] = 1):
        self.scale = scale
        self.hidden = hidden
        self.dropout = dropout
        self.components = components
        self.log_features = log_features
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_models = n_models
        self.seed = seed
        self.threads = threads

    # ---- scikit-learn plumbing ---------------------------------------------------------------------------------
    _PARAMS = ("scale", "hidden", "dropout", "components", "log_features", "loss", "epochs", "batch_size", "lr",
               "weight_decay", "n_models", "seed", "threads")

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params) -> "GenericHead":
        for k, v in params.items():
            if k not in self._PARAMS:
                raise InputError(f"GenericHead has no parameter {k!r}; parameters: {', '.join(self._PARAMS)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS)
        return f"GenericHead({args})"

    @property
    def bucket_values(self) -> np.ndarray:
        return as_scale(self.scale).values

    # ---- fitting ---------------------------------------------------------------------------------------------
    def _validate(self, X, D) -> Tuple[np.ndarray, np.ndarray]:
        scale = as_scale(self.scale)
        if scale.buckets < 2:
            raise InputError("the scale needs at least 2 buckets")
        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if int(self.n_models) < 1 or int(self.epochs) < 1 or int(self.batch_size) < 2:
            raise InputError("n_models and epochs must be >= 1 and batch_size >= 2")
        X = _check_X(X)
        D = np.asarray(D, dtype=np.float64)
        if D.ndim != 2 or D.shape[1] != scale.buckets:
            raise InputError(f"distributions must have shape [n_images, {scale.buckets}] for this scale, got {D.shape}")
        if len(D) != len(X):
            raise InputError(f"{len(X)} feature rows but {len(D)} distributions")
        if len(X) < 3:
            raise InputError(f"need at least 3 images to fit, got {len(X)}")
        if not np.isfinite(D).all() or (D < 0).any():
            raise InputError("distributions must be finite and non-negative")
        s = D.sum(axis=1, keepdims=True)
        if (s <= 0).any():
            raise InputError(f"distribution row {int(np.flatnonzero(s[:, 0] <= 0)[0])} sums to zero")
        return X, D / s

    def _transform_fit(self, X: np.ndarray) -> np.ndarray:
        """Learn log/standardize/projection on the training features; store them folded as ``proj_``."""
        Xt = np.log1p(np.maximum(X, 0.0)) if self.log_features else X
        mean = Xt.mean(axis=0)
        std = Xt.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0)
        A = (Xt - mean) / std
        V = _principal_directions(A, self.components)
        Z = A @ V
        zscale = float(Z.std()) or 1.0
        self.feature_mean_ = mean
        self.feature_std_ = std
        self.components_ = V
        self.proj_scale_ = zscale
        return Z / zscale

    def _transform(self, X: np.ndarray) -> np.ndarray:
        Xt = np.log1p(np.maximum(X, 0.0)) if self.log_features else X
        return ((Xt - self.feature_mean_) / self.feature_std_) @ self.components_ / self.proj_scale_

    def fit(self, X, distributions) -> "GenericHead":
        """Fit on features ``[n, d]`` and rating distributions ``[n, N]`` (rows are normalized to sum 1)."""
        X, D = self._validate(X, distributions)
        with _blas_threads(self.threads):
            Z = self._transform_fit(X)
            self.n_features_in_ = X.shape[1]
            self.layers_: List[List[Tuple[np.ndarray, np.ndarray]]] = []
            for i in range(int(self.n_models)):
                self.layers_.append(self._train_one(Z, D, int(self.seed) + i))
            self.train_loss_ = float(np.mean(((self._head(Z) - D) ** 2).sum(axis=1)))
        return self

    def _train_one(self, Z: np.ndarray, D: np.ndarray, seed: int):
        import torch
        from torch import nn

        old_threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(int(self.threads))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                gen = torch.Generator().manual_seed(seed)
                mods: list = []
                d = Z.shape[1]
                for h in self.hidden:
                    mods += [nn.Linear(d, int(h)), nn.BatchNorm1d(int(h)), nn.ReLU(), nn.Dropout(float(self.dropout))]
                    d = int(h)
                mods.append(nn.Linear(d, D.shape[1]))
                net = nn.Sequential(*mods)
                A = torch.as_tensor(Z, dtype=torch.float32)
                T = torch.as_tensor(D, dtype=torch.float32)
                n, bs = len(A), min(int(self.batch_size), len(A))
                per_epoch = max(1, n // bs)  # drop the ragged last batch: BatchNorm needs > 1 row
                opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
                sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(self.lr),
                                                            total_steps=int(self.epochs) * per_epoch)
                net.train()
                for _ in range(int(self.epochs)):
                    perm = torch.randperm(n, generator=gen)
                    for b in range(per_epoch):
                        idx = perm[b * bs:(b + 1) * bs]
                        p = torch.softmax(net(A[idx]), dim=1)
                        loss = self._loss(p, T[idx])
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        sched.step()
                net.eval()
                return _fold_layers(net)
        finally:
            torch.set_num_threads(old_threads)

    def _loss(self, p, t):
        if self.loss == "emd":
            diff = p.cumsum(dim=1) - t.cumsum(dim=1)
            return (diff.pow(2).mean(dim=1) + 1e-12).sqrt().mean()
        return (p - t).pow(2).sum(dim=1).mean()

    # ---- prediction ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "layers_"):
            raise NotFittedError("this GenericHead is not fitted yet: call fit(X, distributions) first")

    def _head(self, Z: np.ndarray) -> np.ndarray:
        out = np.zeros((len(Z), len(self.bucket_values)))
        for layers in self.layers_:
            h = Z
            for j, (W, b) in enumerate(layers):
                h = h @ W + b
                if j < len(layers) - 1:
                    h = np.maximum(h, 0.0)
            out += _softmax(h)
        return out / len(self.layers_)

    def predict_distribution(self, X) -> np.ndarray:
        """Predicted distribution over the scale's buckets, ``[n, N]``, rows sum to 1."""
        self._check_fitted()
        X = _check_X(X, self.n_features_in_)
        if len(X) == 0:
            return np.zeros((0, len(self.bucket_values)))
        return self._head(self._transform(X))

    def predict(self, X) -> np.ndarray:
        """Expected score ``Σ_n a_n p_n`` on the scale (e.g. 1..7)."""
        return self.predict_distribution(X) @ self.bucket_values

    # ---- state -----------------------------------------------------------------------------------------------
    def state_dict(self, dtype: str = "float64") -> Dict[str, dict]:
        """``{"meta": json-able params, "arrays": {name: ndarray}}``; save with ``piaa.state``.

        ``dtype="float16"`` halves the size of the matrices (the shipped default model uses it after checking
        its scores); the per-dimension mean/std vectors are kept in at least float32.
        """
        self._check_fitted()
        params = self.get_params()
        sc = as_scale(self.scale)
        params["scale"] = {"min": sc.min, "max": sc.max, "buckets": sc.buckets}
        params["hidden"] = [int(h) for h in self.hidden]
        # per-dimension statistics stay at least float32: some feature std's are below float16's range
        vec_dtype = np.promote_types(dtype, np.float32)
        arrays = {
            "feature_mean": self.feature_mean_.astype(vec_dtype),
            "feature_std": self.feature_std_.astype(vec_dtype),
            "components": self.components_.astype(dtype),
        }
        for m, layers in enumerate(self.layers_):
            for j, (W, b) in enumerate(layers):
                arrays[f"m{m}_W{j}"] = W.astype(dtype)
                arrays[f"m{m}_b{j}"] = b.astype(dtype)
        meta = {"kind": STATE_KIND, "version": STATE_VERSION, "params": params,
                "n_features_in": int(self.n_features_in_), "proj_scale": float(self.proj_scale_),
                "n_layers": len(self.layers_[0]), "train_loss": getattr(self, "train_loss_", None)}
        return {"meta": meta, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state) -> "GenericHead":
        meta, arrays = state.get("meta", {}), state.get("arrays", {})
        if meta.get("kind") != STATE_KIND:
            raise InputError(f"not a GenericHead state (kind={meta.get('kind')!r})")
        if int(meta.get("version", 0)) > STATE_VERSION:
            raise InputError(f"GenericHead state version {meta.get('version')} is newer than this piaa supports "
                             f"({STATE_VERSION}); upgrade piaa")
        params = dict(meta["params"])
        params["scale"] = as_scale(params["scale"])
        params["hidden"] = tuple(params["hidden"])
        head = cls(**params)
        f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        try:
            head.feature_mean_ = f64(arrays["feature_mean"])
            head.feature_std_ = f64(arrays["feature_std"])
            head.components_ = f64(arrays["components"])
            nl = int(meta["n_layers"])
            head.layers_ = [[(f64(arrays[f"m{m}_W{j}"]), f64(arrays[f"m{m}_b{j}"])) for j in range(nl)]
                            for m in range(int(params["n_models"]))]
        except KeyError as exc:
            raise InputError(f"GenericHead state is missing array {exc.args[0]!r}") from None
        head.proj_scale_ = float(meta["proj_scale"])
        head.n_features_in_ = int(meta["n_features_in"])
        if meta.get("train_loss") is not None:
            head.train_loss_ = float(meta["train_loss"])
        return head


def _principal_directions(A: np.ndarray, components: Optional[int]) -> np.ndarray:
    """Top principal directions ``[d, k]`` of centered rows ``A``; through the n x n Gram matrix when n < d
    (675 x 675 instead of an SVD of 675 x 3120: several times faster, same directions)."""
    n, d = A.shape
    if n < d:
        evals, U = np.linalg.eigh(A @ A.T)
        order = np.argsort(evals)[::-1]
        evals, U = evals[order], U[:, order]
        S = np.sqrt(np.maximum(evals, 0.0))
        keep = S > (S[0] * 1e-6 if S.size and S[0] > 0 else np.inf)
        rank = int(keep.sum())
        k = rank if components is None else max(1, min(int(components), rank))
        V = A.T @ U[:, :k] / S[:k]
    else:
        _, S, Vt = np.linalg.svd(A, full_matrices=False)
        rank = int((S > S[0] * 1e-6).sum()) if S.size and S[0] > 0 else 0
        k = rank if components is None else max(1, min(int(components), rank))
        V = Vt[:k].T
    if k == 0 or rank == 0:
        raise InputError("the training features are constant: nothing to learn from")
    # fix each direction's sign (eigh/svd may flip them between runs or machines)
    signs = np.sign(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])])
    return V * np.where(signs == 0, 1.0, signs)


def _fold_layers(net) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Linear (+ BatchNorm in eval mode) pairs of a trained ``nn.Sequential`` as numpy ``(W [in,out], b)``."""
    from torch import nn

    out: List[Tuple[np.ndarray, np.ndarray]] = []
    mods = list(net)
    for i, m in enumerate(mods):
        if not isinstance(m, nn.Linear):
            continue
        W = m.weight.detach().double().numpy().T.copy()
        b = m.bias.detach().double().numpy().copy()
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        if isinstance(nxt, nn.BatchNorm1d):
            g = nxt.weight.detach().double().numpy() / np.sqrt(nxt.running_var.double().numpy() + nxt.eps)
            W = W * g
            b = (b - nxt.running_mean.double().numpy()) * g + nxt.bias.detach().double().numpy()
        out.append((W, b))
    return out


# ---- hyperparameters by cross-validation on training data only ----------------------------------------------
DEFAULT_GRID: Tuple[dict, ...] = (
    {"components": 128, "epochs": 30},
    {"components": 256, "epochs": 30},
    {"components": 256, "epochs": 60, "dropout": 0.6},
)


def kfold_indices(n: int, n_splits: int, seed: int) -> List[np.ndarray]:
    """``n_splits`` disjoint validation index sets covering ``range(n)`` (a seeded shuffle)."""
    if n_splits < 2 or n_splits > n:
        raise InputError(f"n_splits must be in [2, {n}], got {n_splits}")
    perm = np.random.default_rng(seed).permutation(n)
    return [np.sort(p) for p in np.array_split(perm, n_splits)]


def select_params(X, distributions, scale, grid: Sequence[dict] = DEFAULT_GRID, base: Optional[dict] = None,
                  n_splits: int = 3, seed: int = 0, groups=None, progress: bool = False) -> Tuple[dict, list]:
    """Choose GenericHead options from ``grid`` by ``n_splits``-fold CV SROCC of the expected score against
    the true mean, on the data given (pass training images only). ``groups`` (one label per row), when given,
    become the CV folds instead of a random split (e.g. image subsets). Returns ``(best options, table)``.
    """
    from piaa.metrics import srocc

    X = _check_X(X)
    D = np.asarray(distributions, dtype=np.float64)
    D = D / D.sum(axis=1, keepdims=True)
    values = as_scale(scale).values
    truth = D @ values
    if groups is not None:
        g = np.asarray(groups)
        folds = [np.flatnonzero(g == v) for v in sorted(set(g.tolist()))]
    else:
        folds = kfold_indices(len(X), n_splits, seed)
    base = dict(base or {})
    table = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(grid) * len(folds), desc="select head options", unit="fit", leave=False)
    for opts in grid:
        params = {**base, **opts, "seed": seed}
        scores = []
        for val in folds:
            tr = np.setdiff1d(np.arange(len(X)), val)
            head = GenericHead(scale, **params).fit(X[tr], D[tr])
            scores.append(srocc(head.predict(X[val]), truth[val]))
            if bar:
                bar.update(1)
        table.append({"options": dict(opts), "cv_srocc": float(np.mean(scores)),
                      "cv_srocc_folds": [float(s) for s in scores]})
    if bar:
        bar.close()
    best = max(table, key=lambda r: r["cv_srocc"])
    return {**base, **best["options"]}, table

