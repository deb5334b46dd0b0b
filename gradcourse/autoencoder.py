r"""A deep autoencoder with a linear code, its reconstruction error, and its probe.

The encoder maps an input through widths ``sizes = (n_0, n_1, ..., n_K)`` to a code of
``n_K`` units; the decoder mirrors it back to ``n_0`` outputs:

.. math::

    h_0 = x, \quad h_k = \phi(W_k h_{k-1} + b_k) \ (k < K), \quad
    c = W_K h_{K-1} + b_K \ \text{(linear code)}, \qquad
    \hat x = \sigma(V_1 g_1 + a_1), \quad g_k = \phi(V_{k+1} g_{k+1} + a_{k+1}),
    \ g_K = c,

with a sigmoid output :math:`\sigma` for pixel intensities in :math:`[0, 1]`. Its layers
have different widths, so it cannot be one scanned stack like
:class:`gradcourse.networks.MLP`; it is a tuple of :class:`gradcourse.networks.Dense`
layers (weights ``(out, in)``) walked by a short Python loop. :class:`Autoencoder` is the
configuration (a frozen dataclass) and also the ``model`` callable that
:func:`gradcourse.train.fit` takes, so equal configurations share one compiled loop.

Greedy layer-wise pre-training of these networks lives in :mod:`gradcourse.pretraining`.

References:
    Hinton & Salakhutdinov, `Reducing the dimensionality of data with neural networks
    <https://doi.org/10.1126/science.1127647>`_, 2006.
    Bengio, Lamblin, Popovici & Larochelle, `Greedy layer-wise training of deep networks
    <https://papers.nips.cc/paper/3048-greedy-layer-wise-training-of-deep-networks>`_,
    2007.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import scaled_norm
from gradcourse.networks import Dense, Trace
from gradcourse.normalization import affine_init, layer_norm
from gradcourse.probes import GradNorms, layer_grad_norms
from gradcourse.registry import resolve

__all__ = [
    "Autoencoder",
    "Variants",
    "Weights",
    "forward",
    "grad_norms",
    "init",
    "init_seeds",
    "pca_reconstruct",
    "reconstruction_error",
]

Initializer = Callable[..., Array]


class Weights(NamedTuple):
    """Parameters of an autoencoder.

    Attributes:
        encoder: ``K`` layers, layer ``k`` with ``w`` of shape ``(n_{k+1}, n_k)``.
        decoder: ``K`` layers from the code up, layer ``k`` with ``w`` of shape
            ``(n_{K-k-1}, n_{K-k})``; the last one produces the reconstruction.
    """

    encoder: tuple[Dense, ...]
    decoder: tuple[Dense, ...]


@dataclasses.dataclass(frozen=True)
class Autoencoder:
    """An autoencoder's configuration, and the ``model`` callable of
    :func:`gradcourse.train.fit`: ``config(weights, xs) -> (reconstructions, Trace)``.

    Attributes:
        sizes: widths from the input to the code, e.g. ``(64, 128, 64, 32, 16, 8)``;
            at least two, each >= 1.
        activation: hidden-layer activation, a :mod:`gradcourse.activations` name.
        output: activation of the reconstruction (``"sigmoid"`` for pixels in [0, 1]).
        linear_code: the code layer is linear (True) or uses ``activation``.
        normalize: standardise every hidden pre-activation over its units (layer
            normalisation without a learned gain) before ``activation``.

    The :class:`~gradcourse.networks.Trace` pads each layer's ``(batch, n)`` activations
    with zeros to the widest layer, so ``pre`` and ``post`` are ``(batch, 2K, max n)``.

    Examples:
        >>> ae = Autoencoder((4, 3, 2))
        >>> w = init(jax.random.key(0), ae)
        >>> ae(w, jnp.ones((5, 4)))[0].shape
        (5, 4)
    """

    sizes: tuple[int, ...] = (64, 128, 64, 32, 16, 8)
    activation: str = "sigmoid"
    output: str = "sigmoid"
    linear_code: bool = True
    normalize: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.sizes, tuple) or len(self.sizes) < 2:
            raise ValueError(
                f"sizes must be a tuple of at least 2 widths, got {self.sizes!r}"
            )
        for n in self.sizes:
            _checks.positive_int("sizes", n)
        resolve(self.activation)
        resolve(self.output)

    @property
    def depth(self) -> int:
        """Number of weight layers, encoder and decoder together (``2K``)."""
        return 2 * (len(self.sizes) - 1)

    def layer_kinds(self) -> tuple[str, ...]:
        """``"hidden"``, ``"code"`` or ``"output"`` for each of the ``2K`` layers."""
        kinds = ["hidden"] * self.depth
        kinds[self.depth // 2 - 1] = "code" if self.linear_code else "hidden"
        kinds[-1] = "output"
        return tuple(kinds)

    def __call__(self, weights: Weights, xs: Array) -> tuple[Array, Trace]:
        return forward(self, weights, xs)


def forward(
    config: Autoencoder,
    weights: Weights,
    xs: ArrayLike,
    taps: tuple[Array, ...] | None = None,
    hidden: Callable[[Array], Array] | None = None,
) -> tuple[Array, Trace]:
    """Reconstruct a batch ``xs`` of shape ``(batch, n_0)``.

    Args:
        config: the architecture.
        weights: its parameters.
        xs: inputs ``(batch, n_0)``.
        taps: optional ``2K - 1`` arrays added to the outputs of layers 1..2K-1; their
            gradient is :math:`\\partial L / \\partial H_l` (how :func:`grad_norms` reads
            the back-propagated signal). Zeros change nothing.
        hidden: optional map from a hidden layer's pre-activations to its activations,
            replacing ``config``'s normalisation and ``activation`` (how
            :class:`Variants` switches them per run).

    Returns:
        ``(reconstructions (batch, n_0), Trace)``.

    Raises:
        ValueError: if ``xs`` is not 2-D with ``n_0`` features.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    if xs.shape[1] != config.sizes[0]:
        raise ValueError(
            f"xs must have {config.sizes[0]} features (sizes[0]), got {xs.shape}"
        )
    out_fn = resolve(config.output)
    hidden = _hidden_map(config) if hidden is None else hidden
    layers = weights.encoder + weights.decoder
    taps = (0.0,) * (len(layers) - 1) if taps is None else taps
    width = max(config.sizes)
    h, pres, posts = xs, [], []
    for layer, kind, tap in zip(
        layers, config.layer_kinds(), (*taps, 0.0), strict=True
    ):
        z = h @ layer.w.T + layer.b
        h = {"hidden": hidden, "code": lambda a: a, "output": out_fn}[kind](z) + tap
        pad = ((0, 0), (0, width - z.shape[-1]))
        pres.append(jnp.pad(z, pad))
        posts.append(jnp.pad(h, pad))
    return h, Trace(jnp.stack(pres, axis=1), jnp.stack(posts, axis=1))


def _hidden_map(config: Autoencoder) -> Callable[[Array], Array]:
    phi = resolve(config.activation)
    if not config.normalize:
        return phi
    return lambda z: phi(layer_norm(affine_init(z.shape[-1], z.dtype), z))


@dataclasses.dataclass(frozen=True)
class Variants:
    r"""The ``model`` callable for runs of one architecture that differ only in their
    hidden activation and normalisation, so that :func:`gradcourse.train.fit_seeds`
    trains them all in one compiled loop (instead of compiling one per variant).

    Each hidden layer computes every variant's activation and keeps the run's own,
    :math:`h = \sum_v t_v\, \phi_v(z)` with the run's one-hot tag :math:`t`, which
    travels beside the weights (``fit_seeds(..., per_run=tags)``), not inside them;
    elementwise functions are cheap beside the matrix products.

    Attributes:
        variants: configurations with the same ``sizes``, ``output`` and ``linear_code``.

    Raises:
        ValueError: if ``variants`` is empty or its architectures differ.

    Examples:
        >>> both = Variants((Autoencoder((4, 2)), Autoencoder((4, 2), "tanh")))
        >>> w = init(jax.random.key(0), both.variants[1])
        >>> xs = jnp.ones((3, 4))
        >>> bool(jnp.allclose(both(w, xs, both.tag(1))[0], both.variants[1](w, xs)[0]))
        True
    """

    variants: tuple[Autoencoder, ...]

    def __post_init__(self) -> None:
        shapes = {(c.sizes, c.output, c.linear_code) for c in self.variants}
        if len(shapes) != 1:
            raise ValueError(
                "variants must be a non-empty tuple of autoencoders that differ only in "
                f"activation and normalize, got {self.variants!r}"
            )

    def tag(self, index: int) -> Array:
        """The one-hot tag of ``variants[index]``, the third argument of a call."""
        _checks.in_range("index", index, 0, len(self.variants) - 1)
        return jax.nn.one_hot(index, len(self.variants))

    def __call__(
        self, params: Weights, xs: Array, variant: Array
    ) -> tuple[Array, Trace]:
        """Outputs and trace of the run's variant: ``variant`` is its one-hot tag
        (:meth:`tag`), handed over by ``fit_seeds(..., per_run=tags)``."""
        tag = variant
        maps = [_hidden_map(c) for c in self.variants]

        def hidden(z: Array) -> Array:
            return sum(t * f(z) for t, f in zip(tag, maps, strict=True))

        return forward(self.variants[0], params, xs, hidden=hidden)


def init(key: Array, config: Autoencoder, w_init: Initializer | None = None) -> Weights:
    """Draw an autoencoder's weights: ``w_init(key, (out, in))`` per layer, zero biases.

    Args:
        key: PRNG key.
        config: the architecture.
        w_init: initialiser for ``(out, in)`` weights (``gradcourse.initializers`` or
            ``jax.nn.initializers``); default Glorot (Xavier) normal.

    Returns:
        The :class:`Weights`.
    """
    if w_init is None:
        w_init = jax.nn.initializers.glorot_normal(in_axis=-1, out_axis=-2)
    sizes = config.sizes
    shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]
    shapes += [(n_in, n_out) for n_out, n_in in reversed(shapes)]
    keys = jax.random.split(key, len(shapes))
    layers = tuple(
        Dense(w_init(k, s, jnp.float32), jnp.zeros(s[0], jnp.float32))
        for k, s in zip(keys, shapes, strict=True)
    )
    half = len(layers) // 2
    return Weights(layers[:half], layers[half:])


@functools.partial(jax.jit, static_argnames=("config", "w_init"))
def init_seeds(
    keys: Array, config: Autoencoder, w_init: Initializer | None = None
) -> Weights:
    """:func:`init` for each of ``keys`` (shape ``(seeds,)``), as one compiled program;
    every leaf gets a leading seed axis. ``w_init`` must be hashable (it is static)."""
    return jax.vmap(lambda k: init(k, config, w_init))(keys)


def reconstruction_error(xs: ArrayLike, reconstructions: ArrayLike) -> Array:
    r"""Mean squared reconstruction error per pixel,
    :math:`\frac{1}{N D}\sum_{i,j} (x_{ij} - \hat x_{ij})^2`, over the last two axes.

    Args:
        xs: inputs ``(..., N, D)``.
        reconstructions: same shape as ``xs`` (a leading seed axis broadcasts).

    Raises:
        ValueError: if the trailing shapes differ.

    Examples:
        >>> float(reconstruction_error(jnp.zeros((2, 2)), jnp.ones((2, 2))))
        1.0
    """
    xs, reconstructions = jnp.asarray(xs), jnp.asarray(reconstructions)
    if xs.ndim < 2 or xs.shape[-2:] != reconstructions.shape[-2:]:
        raise ValueError(
            f"reconstructions must have the shape of xs (N, D) = {xs.shape}, "
            f"got {reconstructions.shape}"
        )
    return jnp.mean(jnp.square(xs - reconstructions), axis=(-2, -1))


def pca_reconstruct(x_train: ArrayLike, xs: ArrayLike, code_size: int) -> np.ndarray:
    r"""Reconstruct ``xs`` from its projection on the top ``code_size`` principal
    components of ``x_train``: :math:`\hat x = \mu + U_k U_k^\top (x - \mu)`.

    The best rank-``code_size`` affine reconstruction of the training set in squared
    error (Eckart & Young, 1936), hence the optimum of a linear autoencoder with that
    code size (Baldi & Hornik, 1989).

    Raises:
        ValueError: if ``code_size`` is not in ``[1, features]``.
    """
    x_train, xs = np.asarray(x_train, np.float64), np.asarray(xs, np.float64)
    _checks.positive_int("code_size", code_size)
    if code_size > x_train.shape[1]:
        raise ValueError(
            f"code_size must be in [1, {x_train.shape[1]}], got {code_size!r}"
        )
    mean = x_train.mean(axis=0)
    components = np.linalg.svd(x_train - mean, full_matrices=False)[2][:code_size]
    return (mean + (xs - mean) @ components.T @ components).astype(np.float32)


def _squared_error(out: Array, xs: Array) -> Array:
    # The "mse" loss of gradcourse.networks.LOSSES with targets = inputs.
    return 0.5 * jnp.mean(jnp.sum(jnp.square(out - xs), axis=-1))


@functools.partial(jax.jit, static_argnames=("config",))
def _grad_norms(weights: Weights, xs: Array, config: Autoencoder) -> GradNorms:
    layers = weights.encoder + weights.decoder
    taps = tuple(jnp.zeros((xs.shape[0], d.w.shape[0]), xs.dtype) for d in layers[:-1])

    def loss(w: Weights, t: tuple[Array, ...]) -> Array:
        return _squared_error(forward(config, w, xs, t)[0], xs)

    value, (g_w, g_t) = jax.value_and_grad(loss, argnums=(0, 1))(weights, taps)
    hidden = jnp.stack([scaled_norm(g) for g in g_t])
    return GradNorms(layer_grad_norms(g_w), hidden, value)


def grad_norms(weights: Weights, xs: ArrayLike, config: Autoencoder) -> GradNorms:
    """Per-layer gradient norms of the squared reconstruction error, as
    :func:`gradcourse.probes.grad_norms` reports them for an MLP.

    The loss is :math:`L = \\frac{1}{2B}\\sum_i \\lVert \\hat x_i - x_i\\rVert^2`, the
    ``"mse"`` loss that :func:`gradcourse.train.fit` minimises with ``ys = xs``.
    ``jax.vmap`` it over a leading seed axis of ``weights``.

    Args:
        weights: the autoencoder's parameters.
        xs: a batch ``(batch, n_0)``.
        config: the architecture (static).

    Returns:
        A :class:`gradcourse.probes.GradNorms` with ``weights`` of shape ``(2K,)`` (input
        layer first, reconstruction layer last), ``hidden`` of shape ``(2K - 1,)``
        (:math:`\\lVert\\partial L/\\partial H_l\\rVert_F` for layers 1..2K-1), and
        the loss. :func:`gradcourse.probes.layer_ratio` of either is the first/last ratio.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    return _grad_norms(weights, xs, config)
