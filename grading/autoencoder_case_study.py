"""Hidden checks for book/autoencoder_case_study.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def _pca_reference(x_train, x_test, k):
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    mean = x_train.mean(axis=0)
    v = np.linalg.svd(x_train - mean, full_matrices=False)[2][:k]
    return np.mean((x_test - mean - (x_test - mean) @ v.T @ v) ** 2)


def check_pca_error(pca_error):
    k_mix, k_train, k_test, k_noise = jax.random.split(jax.random.key(21), 4)
    mix = jax.random.normal(k_mix, (5, 12))

    def sample(key, n):
        a, b = jax.random.split(key)
        return jax.random.normal(a, (n, 5)) @ mix + 0.1 * jax.random.normal(b, (n, 12))

    x_train = sample(k_train, 300) + 2.0
    x_test = sample(k_test, 40) + 2.5  # another mean: centre with the training one
    for k in (1, 3, 5, 12):
        got = float(pca_error(x_train, x_test, k))
        expected = _pca_reference(x_train, x_test, k)
        assert abs(got - expected) <= 1e-3 * expected + 1e-6, (
            f"with k = {k} components expected {expected:.4g}, got {got:.4g}"
        )


def _factor_reference(weights, xs, config):
    def loss(w):
        return jnp.sum((config(w, xs)[0] - xs) ** 2)

    g = jax.grad(loss)(weights)
    first = np.linalg.norm(np.asarray(g.encoder[0].w, np.float64))
    last = np.linalg.norm(np.asarray(g.decoder[-1].w, np.float64))
    return (first / last) ** (1 / (config.depth - 1))


def check_factor_per_layer(factor_per_layer):
    ae = gc.autoencoder
    cases = [
        (ae.Autoencoder((10, 7, 4)), 1.0),
        (ae.Autoencoder((12, 9, 6, 3), activation="tanh"), 1.0),
        (ae.Autoencoder((12, 9, 6, 3)), 3.0),
    ]
    for i, (config, scale) in enumerate(cases):
        k_w, k_x = jax.random.split(jax.random.key(30 + i))
        weights = jax.tree.map(lambda a, s=scale: s * a, ae.init(k_w, config))
        xs = jax.random.uniform(k_x, (50, config.sizes[0]))
        got = float(factor_per_layer(weights, xs, config))
        expected = _factor_reference(weights, xs, config)
        assert abs(got - expected) <= 1e-3 * expected, (
            f"{config.activation}, widths {config.sizes}: expected {expected:.4g}, "
            f"got {got:.4g}"
        )


EXERCISES = {
    "autoencoder-ex-auto-pca": {"check": check_pca_error, "points": 1},
    "autoencoder-ex-auto-factor": {"check": check_factor_per_layer, "points": 1},
}
