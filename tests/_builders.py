"""Small networks with known weights, shared by several test modules."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc
from gradcourse.networks import MLP, Dense

DEPTH, WIDTH, IN, OUT = 4, 8, 5, 3


def constant_mlp(fill_w: list[float], fill_b: float = 0.0) -> MLP:
    """An MLP whose layer l weight is the constant fill_w[l] (layers 1..DEPTH, read-out)."""
    first = Dense(jnp.full((WIDTH, IN), fill_w[0]), jnp.full(WIDTH, fill_b))
    hidden = Dense(
        jnp.stack([jnp.full((WIDTH, WIDTH), f) for f in fill_w[1:-1]]),
        jnp.full((DEPTH - 1, WIDTH), fill_b),
    )
    readout = Dense(jnp.full((OUT, WIDTH), fill_w[-1]), jnp.full(OUT, fill_b))
    return MLP(first, hidden, readout)


def layer_sizes() -> np.ndarray:
    """Number of weights of each layer of :func:`constant_mlp`."""
    return np.array([WIDTH * IN] + [WIDTH * WIDTH] * (DEPTH - 1) + [OUT * WIDTH])


def mean_field_net(key: jax.Array) -> tuple[MLP, jax.Array]:
    """A 12-layer mean-field network of width 16 on 8 inputs, and one input."""
    kp, kx = jax.random.split(key)
    params = gc.jacobians.init_mean_field(kp, 8, 16, 12, 3, sigma_w2=1.5, sigma_b2=0.05)
    return params, jax.random.normal(kx, (8,))
