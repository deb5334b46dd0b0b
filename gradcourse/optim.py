r"""Five optimisers written out in a few lines each, to read next to their formulas.

Each function returns an :class:`optax.GradientTransformation` (a pair of pure functions
``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``), so it
plugs into :func:`gradcourse.train.fit` and ``optax.apply_updates`` unchanged. The updates
already carry the minus sign and the learning rate: :math:`\theta_{t+1} = \theta_t + u_t`.

Each one is the teaching version of an optax optimiser, and ``tests/test_optim.py``
checks that both give the same updates on the same gradient sequence. The constants
follow optax, because they change the numbers:

* Adagrad starts its sum of squares at ``initial_accumulator_value = 0.1``, not 0, and adds
  ``eps`` *inside* the square root.
* RMSProp adds ``eps`` inside the square root; Adam adds it *outside*.

None of them changes the gradient that backpropagation computes. They only decide how far
to step along it, parameter by parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from gradcourse import _checks

__all__ = [
    "AdamState",
    "SumOfSquaresState",
    "VelocityState",
    "adagrad",
    "adam",
    "momentum",
    "rmsprop",
    "sgd",
]

Params = Any


class VelocityState(NamedTuple):
    """The running velocity ``v`` of :func:`momentum` (a pytree shaped like the params)."""

    velocity: Params


class SumOfSquaresState(NamedTuple):
    """The per-parameter accumulator ``s`` of :func:`adagrad` or :func:`rmsprop`."""

    sum_of_squares: Params


class AdamState(NamedTuple):
    """The step count ``t`` and the two moment estimates ``m``, ``v`` of :func:`adam`."""

    count: Array
    mu: Params
    nu: Params


def _zeros(params: Params) -> Params:
    return jax.tree.map(jnp.zeros_like, params)


def _per_leaf(
    state: Callable[[Params], NamedTuple],
    start: Callable[[Array], Array],
    accumulate: Callable[[Array, Array], Array],
    step: Callable[[Array, Array], Array],
) -> optax.GradientTransformation:
    r"""A transform that keeps one accumulator per parameter leaf, as optax builds them.

    .. math::

        a_0 = \text{start}(\theta), \qquad a_t = \text{accumulate}(g_t, a_{t-1}),
        \qquad u_t = \text{step}(g_t, a_t),

    leaf by leaf; ``state`` wraps the pytree of accumulators (:class:`VelocityState`,
    :class:`SumOfSquaresState`).
    """

    def init(params: Params) -> NamedTuple:
        return state(jax.tree.map(start, params))

    def update(
        grads: Params, acc: NamedTuple, params: Params = None
    ) -> tuple[Params, NamedTuple]:
        del params
        a = jax.tree.map(accumulate, grads, acc[0])
        return jax.tree.map(step, grads, a), state(a)

    return optax.GradientTransformation(init, update)


def sgd(learning_rate: float) -> optax.GradientTransformation:
    r"""Plain gradient descent: :math:`u_t = -\eta\, g_t`.

    Args:
        learning_rate: :math:`\eta > 0`.

    Returns:
        An ``optax.GradientTransformation`` equal to ``optax.sgd(learning_rate)``.

    Raises:
        ValueError: if ``learning_rate`` is not a finite number > 0.

    References:
        Robbins & Monro, `A stochastic approximation method
        <https://doi.org/10.1214/aoms/1177729586>`_, 1951.

    Examples:
        >>> opt = sgd(0.1)
        >>> u, _ = opt.update(jnp.array([1.0, -2.0]), opt.init(jnp.zeros(2)))
        >>> [round(v, 4) for v in u.tolist()]
        [-0.1, 0.2]
    """
    lr = _checks.positive("learning_rate", learning_rate)

    def init(params: Params) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(grads: Params, state: Any, params: Params = None) -> tuple[Params, Any]:
        del params
        return jax.tree.map(lambda g: -lr * g, grads), state

    return optax.GradientTransformation(init, update)


def momentum(
    learning_rate: float, beta: float = 0.9, *, nesterov: bool = False
) -> optax.GradientTransformation:
    r"""Heavy-ball momentum (Polyak, 1964), optionally Nesterov's variant.

    .. math::

        v_t = g_t + \beta\, v_{t-1}, \qquad
        u_t = -\eta\, v_t \quad\text{or (Nesterov)}\quad u_t = -\eta\,(g_t + \beta v_t),

    with :math:`v_0 = 0`. Under a constant gradient the step grows to
    :math:`\eta g / (1 - \beta)`: ten times the SGD step for :math:`\beta = 0.9`.

    Args:
        learning_rate: :math:`\eta > 0`.
        beta: momentum coefficient, in [0, 1).
        nesterov: use the Nesterov form (Sutskever et al., 2013).

    Returns:
        An ``optax.GradientTransformation`` equal to
        ``optax.sgd(learning_rate, momentum=beta, nesterov=nesterov)``.

    Raises:
        ValueError: if ``learning_rate`` <= 0 or ``beta`` is outside [0, 1).

    References:
        Polyak, `Some methods of speeding up the convergence of iteration methods
        <https://doi.org/10.1016/0041-5553(64)90137-5>`_, 1964.
        Sutskever et al., `On the importance of initialization and momentum in deep
        learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.
    """
    lr = _checks.positive("learning_rate", learning_rate)
    beta = _checks.in_range("beta", beta, 0.0, 1.0, closed="left")

    def step(g: Array, v: Array) -> Array:
        return -lr * (g + beta * v) if nesterov else -lr * v

    return _per_leaf(VelocityState, jnp.zeros_like, lambda g, v: g + beta * v, step)


def adagrad(
    learning_rate: float,
    initial_accumulator_value: float = 0.1,
    eps: float = 1e-7,
) -> optax.GradientTransformation:
    r"""Adagrad (Duchi et al., 2011): each parameter's step is divided by the root of its
    summed squared gradients.

    .. math::

        s_t = s_0 + \sum_{k=1}^{t} g_k^2, \qquad
        u_t = -\frac{\eta}{\sqrt{s_t + \epsilon}}\, g_t
        \quad (\text{elementwise}).

    The *effective learning rate* :math:`\eta / \sqrt{s_t + \epsilon}` can only shrink.
    Under a constant gradient :math:`g` it is
    :math:`\eta / \sqrt{s_0 + t g^2 + \epsilon} \approx \eta / (|g| \sqrt{t})`, so the
    step decays like :math:`1/\sqrt{t}` while the gradient stays the same size.

    Args:
        learning_rate: :math:`\eta > 0`.
        initial_accumulator_value: :math:`s_0 \ge 0` (optax's default 0.1; Duchi et al.
            start at 0).
        eps: :math:`\epsilon \ge 0`, added inside the square root as in optax.

    Returns:
        An ``optax.GradientTransformation`` equal to ``optax.adagrad`` with the same
        arguments.

    Raises:
        ValueError: if an argument is outside its range.

    References:
        Duchi, Hazan & Singer, `Adaptive subgradient methods for online learning and
        stochastic optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.
    """
    lr = _checks.positive("learning_rate", learning_rate)
    s0 = _checks.non_negative("initial_accumulator_value", initial_accumulator_value)
    eps = _checks.non_negative("eps", eps)

    return _per_leaf(
        SumOfSquaresState,
        lambda p: jnp.full_like(p, s0),
        lambda g, s: s + g * g,
        # optax returns a zero step where nothing has accumulated (s = 0).
        lambda g, s: jnp.where(s > 0, -lr * g / jnp.sqrt(s + eps), 0.0),
    )


def rmsprop(
    learning_rate: float, decay: float = 0.9, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""RMSProp (Tieleman & Hinton, 2012): Adagrad with a forgetting average of squares.

    .. math::

        s_t = \rho\, s_{t-1} + (1 - \rho)\, g_t^2, \qquad
        u_t = -\frac{\eta}{\sqrt{s_t + \epsilon}}\, g_t, \qquad s_0 = 0.

    Because old gradients are forgotten, the effective learning rate no longer decays to
    zero; under a constant gradient it settles at :math:`\eta / |g|`.

    Args:
        learning_rate: :math:`\eta > 0`.
        decay: :math:`\rho`, in [0, 1).
        eps: :math:`\epsilon \ge 0`, inside the square root as in ``optax.rmsprop``.

    Returns:
        An ``optax.GradientTransformation`` equal to
        ``optax.rmsprop(learning_rate, decay, eps)``.

    Raises:
        ValueError: if an argument is outside its range.

    References:
        Tieleman & Hinton, `Lecture 6.5, rmsprop
        <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
    """
    lr = _checks.positive("learning_rate", learning_rate)
    rho = _checks.in_range("decay", decay, 0.0, 1.0, closed="left")
    eps = _checks.non_negative("eps", eps)

    return _per_leaf(
        SumOfSquaresState,
        jnp.zeros_like,
        lambda g, s: (1 - rho) * g * g + rho * s,
        lambda g, s: -lr * g * jax.lax.rsqrt(s + eps),
    )


def adam(
    learning_rate: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""Adam (Kingma & Ba, 2015): momentum on the gradient, RMSProp on its square, both
    bias-corrected.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \\
        \hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t},
        \qquad u_t = -\eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.

    At the first step :math:`u_1 = -\eta\, g_1 / (|g_1| + \epsilon)`, about
    :math:`-\eta\,\mathrm{sign}(g_1)` for every parameter whose gradient is much larger
    than :math:`\epsilon`, however small it is: the step size no longer tells how large
    the gradient was.

    Args:
        learning_rate: :math:`\eta > 0`.
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon \ge 0`, added outside the square root as in ``optax.adam``.

    Returns:
        An ``optax.GradientTransformation`` equal to
        ``optax.adam(learning_rate, b1, b2, eps)``.

    Raises:
        ValueError: if an argument is outside its range.

    References:
        Kingma & Ba, `Adam: a method for stochastic optimization
        <https://arxiv.org/abs/1412.6980>`_, 2015.
    """
    lr = _checks.positive("learning_rate", learning_rate)
    b1 = _checks.in_range("b1", b1, 0.0, 1.0, closed="left")
    b2 = _checks.in_range("b2", b2, 0.0, 1.0, closed="left")
    eps = _checks.non_negative("eps", eps)

    def init(params: Params) -> AdamState:
        return AdamState(jnp.zeros([], jnp.int32), _zeros(params), _zeros(params))

    def update(
        grads: Params, state: AdamState, params: Params = None
    ) -> tuple[Params, AdamState]:
        del params
        t = state.count + 1
        mu = jax.tree.map(lambda g, m: (1 - b1) * g + b1 * m, grads, state.mu)
        nu = jax.tree.map(lambda g, v: (1 - b2) * g * g + b2 * v, grads, state.nu)
        c1, c2 = 1 - b1**t, 1 - b2**t

        def step(m: Array, v: Array) -> Array:
            return -lr * (m / c1) / (jnp.sqrt(v / c2) + eps)

        return jax.tree.map(step, mu, nu), AdamState(t, mu, nu)

    return optax.GradientTransformation(init, update)
