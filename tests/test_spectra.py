"""Spectra of the input-output Jacobian over inputs and seeds, and measured gradient
gains."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc
from tests._builders import mean_field_net

J = gc.jacobians
S = gc.spectra


def _identity(z):
    return z


@pytest.fixture
def net(key):
    return mean_field_net(key)


@pytest.mark.parametrize("activation", ["tanh", jax.nn.relu])
def test_jacobian_spectra_equal_svd_of_end_to_end(net, activation):
    params, x = net
    xs = jnp.stack([x, -x])
    spec = S.jacobian_spectra(params, xs, activation, layers=(3, 12))
    assert spec.shape == (2, 2, 8)
    for i in range(2):
        for j, layer in enumerate((3, 12)):
            jac = jax.jacfwd(
                lambda v, n=layer: gc.networks.forward_with_trace(
                    params, v, activation
                )[1].post[n - 1]
            )(xs[i])
            s = np.linalg.svd(np.asarray(jac), compute_uv=False)
            np.testing.assert_allclose(spec[i, j], s, rtol=1e-4, atol=1e-6 * s[0])


@pytest.mark.parametrize("weights", gc.jacobians.WEIGHTS)
def test_spectra_seeds_equal_jacobian_spectra_per_seed(key, weights):
    # The seeds are mapped with jax.vmap; each must be the network init_mean_field draws
    # from its key, with the spectra of jacobian_spectra (float32 SVDs: rtol 1e-4).
    kx, kseeds = jax.random.split(key)
    keys = jax.random.split(kseeds, 3)
    xs = jax.random.normal(kx, (2, 16))
    family = J.RandomMLP(16, 6, "tanh", sigma_w2=1.3, sigma_b2=0.02, weights=weights)
    got = S.spectra_seeds(keys, xs, family, layers=(2, 6))
    assert got.shape == (3, 2, 2, 16)
    for i, k in enumerate(keys):
        params = J.init_mean_field(k, 16, 16, 6, 1, sigma_w2=1.3, sigma_b2=0.02,
                                   weights=weights)  # fmt: skip
        want = S.jacobian_spectra(params, xs, "tanh", layers=(2, 6))
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-6)


def test_orthogonal_linear_chain_keeps_every_singular_value_at_one(key):
    mats = np.asarray(
        gc.randmat.random_chain(key, 32, 64, kind="orthogonal"), np.float64
    )
    prod = np.linalg.multi_dot(mats[::-1])  # W_64 ... W_1 (in NumPy: no compile)
    s = np.linalg.svd(prod, compute_uv=False)
    np.testing.assert_allclose(s, 1.0, atol=1e-4)
    # The same through a network: linear units, orthogonal weights, sigma_w^2 = 1.
    params = J.init_mean_field(key, 32, 32, 64, 2, sigma_w2=1.0, weights="orthogonal")
    xs = jax.random.normal(key, (2, 32))
    spec = S.jacobian_spectra(params, xs, _identity, layers=(1, 64))
    np.testing.assert_allclose(spec, 1.0, atol=1e-4)


def test_validation(net, key):
    params, x = net
    with pytest.raises(ValueError, match="xs must have 2 dimensions"):
        S.jacobian_spectra(params, x)
    with pytest.raises(ValueError, match="layers must be integers in"):
        S.jacobian_spectra(params, x[None], layers=(0,))
    with pytest.raises(ValueError, match="layers must be integers in"):
        S.spectra_seeds(
            jax.random.split(key, 2), x[None], J.RandomMLP(4, 3), layers=(4,)
        )
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        S.gradient_gains(key, x[None], jnp.zeros(1, int), J.RandomMLP(4, 1))
    with pytest.raises(ValueError, match="ys must have the batch size"):
        S.gradient_gains(key, x[None], jnp.zeros(2, int), J.RandomMLP(4, 3))
    bad_fields = {"width": 0, "depth": 1.5, "sigma_w2": -1.0, "weights": "uniform"}
    for field, bad in bad_fields.items():
        with pytest.raises(ValueError, match=field):
            J.RandomMLP(**{"width": 4, "depth": 3, field: bad})
