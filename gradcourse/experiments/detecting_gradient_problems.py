r"""Experiments of the chapter on detecting gradient problems.

* :func:`summarise`: what the monitor reports for several seeds of one configuration
  (diagnosis, first-to-top gradient ratio, first layer's update ratio, final loss).
* :func:`glorot_probe`: Glorot & Bengio's (2010) comparison of the "standard"
  initialisation :math:`U[-1/\sqrt n, 1/\sqrt n]` (so :math:`n\,\mathrm{Var}(W) = 1/3`)
  and their normalised one, measured on tanh networks at initialisation: per-layer
  gradient norms of 16 networks and the activations of the first;
  :func:`backprop_variance` and :func:`per_layer_ratio` read the probe.
* :func:`failure_gallery`: each named failure of :data:`gradcourse.failure_modes.FAILURE_MODES`
  reproduced over seeds.

References:
    Glorot and Bengio, `Understanding the difficulty of training deep feedforward
    neural networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, failure_modes, networks, probes
from gradcourse.runs import INITS, Run, run_seeds

from ._common import Sizes


class Summary(NamedTuple):
    """The monitor's reading of several seeds of one configuration.

    Attributes:
        labels: each seed's diagnosis label (``"vanishing"``, ``"healthy"``, ...).
        final_loss: ``(seeds,)`` mean loss over the last 20 steps.
        bottom_top: median over seeds of the first-to-top gradient-norm ratio.
        first_update_ratio: median over seeds of the first layer's update ratio.
    """

    labels: tuple[str, ...]
    final_loss: np.ndarray
    bottom_top: float
    first_update_ratio: float


def summarise(runs: Sequence[Run], last: int = 20) -> Summary:
    """Summarise the seeds of one configuration (:func:`gradcourse.runs.run_seeds`).

    Args:
        runs: the :class:`gradcourse.runs.Run` of each seed.
        last: the final loss is the mean over the last ``last`` steps, >= 1.

    Returns:
        a :class:`Summary`.

    Raises:
        ValueError: for no runs or a bad ``last``.
    """
    if not runs:
        raise ValueError("runs must hold at least one run, got none")
    _checks.positive_int("last", last)
    final = np.array([float(r.history.loss[-last:].mean()) for r in runs])
    d = [r.diagnosis for r in runs]
    return Summary(
        tuple(x.label for x in d),
        final,
        float(np.median([x.bottom_top for x in d])),
        float(np.median([x.first_update_ratio for x in d])),
    )


class GlorotProbe(NamedTuple):
    """Result of :func:`glorot_probe`, one entry per initialiser (in the given order).

    Attributes:
        probe: :class:`gradcourse.probes.GradNorms` with a leading ``(seeds,)`` axis.
        post: ``(batch, depth, width)`` tanh activations of the first network.
    """

    probe: tuple[probes.GradNorms, ...]
    post: tuple[np.ndarray, ...]


@functools.partial(jax.jit, static_argnames=("inits", "sizes"))
def _glorot_probe(
    key: Array, xs: Array, ys: Array, inits: tuple[str, ...], sizes: Sizes
) -> tuple[probes.GradNorms, Array]:
    keys = jax.random.split(key, sizes.seeds)
    in_dim, out_dim, width, depth = xs.shape[1], 10, sizes.width, sizes.depth
    nets = [  # lax.map: one network at a time, same values as vmap, faster to compile
        jax.lax.map(
            lambda k, w=INITS[name]: networks.init_mlp(
                k, in_dim, width, depth, out_dim, w_init=w
            ),
            keys,
        )
        for name in inits
    ]
    both = jax.tree.map(lambda *a: jnp.stack(a), *nets)  # (init, seed, ...)
    probe = jax.vmap(jax.vmap(lambda p: probes.grad_norms(p, xs, ys, "tanh")))(both)
    first = jax.tree.map(lambda a: a[:, 0], both)
    posts = jax.vmap(lambda p: networks.forward_batch(p, xs, "tanh")[1].post)(first)
    return probe, posts


#: :func:`glorot_probe`'s default: sixteen networks of 8 layers of 64 units.
GLOROT_PROBE = Sizes(depth=8, width=64, seeds=16)


def glorot_probe(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    inits: Sequence[str] = ("standard", "glorot"),
    sizes: Sizes = GLOROT_PROBE,
) -> GlorotProbe:
    """Gradient norms of tanh networks at initialisation, and the first one's activations.

    For each initialiser of :data:`gradcourse.runs.INITS`, ``sizes.seeds`` tanh
    networks (10 outputs, zero biases; seed ``s`` uses the same key for every
    initialiser) are probed on the batch (:func:`gradcourse.probes.grad_norms`), and the
    first network's hidden activations are recorded, all in one compiled program.

    Args:
        key: PRNG key for the weights.
        xs: inputs ``(batch, in_dim)``; ys: labels ``(batch,)`` in ``0..9``.
        inits: names in :data:`gradcourse.runs.INITS`.
        sizes: the networks' depth and width, and how many per initialiser.

    Returns:
        a :class:`GlorotProbe`, as NumPy arrays.

    Raises:
        ValueError: for an unknown initialiser or a bad ``xs``.
    """
    inits = tuple(inits)
    if not inits:
        raise ValueError("inits must name at least one initialiser, got none")
    for name in inits:
        _checks.one_of("inits", name, tuple(INITS))
    _checks.ndim("xs", xs, 2)
    probe, posts = jax.device_get(
        _glorot_probe(key, jnp.asarray(xs), jnp.asarray(ys), inits, sizes)
    )
    per_init = tuple(
        jax.tree.map(lambda a, i=i: a[i], probe) for i in range(len(inits))
    )
    return GlorotProbe(per_init, tuple(posts))


def backprop_variance(g: probes.GradNorms, batch: int, width: int) -> np.ndarray:
    r"""Mean square per entry of the per-example gradient :math:`\partial L/\partial h_l`.

    The per-example gradient is ``batch`` times that of the batch-mean loss, so its mean
    square per entry is :math:`b^2\,\lVert\partial \bar L/\partial H_l\rVert^2/(b\,n)`.

    Args:
        g: :class:`gradcourse.probes.GradNorms` whose ``hidden`` is ``(..., depth)``.
        batch: the batch size :math:`b`; width: the units per layer :math:`n`.

    Returns:
        the variances, the shape of ``g.hidden``.
    """
    _checks.positive_int("batch", batch)
    _checks.positive_int("width", width)
    return np.asarray(g.hidden) ** 2 * batch / width


def per_layer_ratio(g: probes.GradNorms) -> float:
    r"""Geometric-mean factor by which :math:`\lVert\partial L/\partial H_l\rVert^2` changes
    from layer :math:`l+1` down to layer :math:`l` (Glorot & Bengio: :math:`n\,\mathrm{Var}(W)`
    for a linear regime).

    Args:
        g: :class:`gradcourse.probes.GradNorms` whose ``hidden`` is ``(seeds, depth)``.

    Returns:
        :math:`\exp\,\mathrm{mean}_{s,l}\log(\lVert G_l\rVert^2/\lVert G_{l+1}\rVert^2)`.
    """
    h = np.asarray(g.hidden) ** 2
    _checks.ndim("g.hidden", h, 2)
    return float(np.exp(np.mean(np.log(h[:, :-1] / h[:, 1:]))))


def failure_gallery(
    key: Array, expected: Mapping[str, str], seeds: int = 5
) -> dict[str, tuple[Run, ...]]:
    """Reproduce named failures over seeds (:func:`gradcourse.runs.run_seeds`).

    Args:
        key: PRNG key.
        expected: ``{failure name: the diagnosis label it should get}``, names from
            :data:`gradcourse.failure_modes.FAILURE_MODES`.
        seeds: runs per failure, >= 1.

    Returns:
        ``{failure name: runs}``, one :class:`gradcourse.runs.Run` per seed.

    Raises:
        ValueError: for an unknown failure or a bad ``seeds``.
    """
    for name in expected:
        _checks.one_of("expected", name, tuple(failure_modes.FAILURE_MODES))
    configs = [failure_modes.FAILURE_MODES[n].config for n in expected]
    results = run_seeds(key, configs, seeds)
    return dict(zip(expected, results, strict=True))
