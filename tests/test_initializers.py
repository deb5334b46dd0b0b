"""Initialisers against jax.nn.initializers, their variance formulas, and the training
outcome that motivates He initialisation (He et al., 2015, Figure 3)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

inits = gc.initializers
J = jax.nn.initializers
SHAPE = (300, 500)  # (out, in): fan_in = 500, fan_out = 300, 150,000 samples
FAN_IN, FAN_OUT = 500, 300


@pytest.mark.parametrize("mode", inits.MODES)
@pytest.mark.parametrize("distribution", inits.DISTRIBUTIONS)
def test_variance_scaling_equals_jax_nn(key, mode, distribution):
    ours = inits.variance_scaling(1.7, mode, distribution)(key, SHAPE)
    theirs = J.variance_scaling(1.7, mode, distribution, in_axis=-1, out_axis=-2)(
        key, SHAPE
    )
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (inits.glorot_uniform(), J.glorot_uniform(in_axis=-1, out_axis=-2)),
        (inits.lecun_uniform(), J.lecun_uniform(in_axis=-1, out_axis=-2)),
        (inits.he_uniform(), J.he_uniform(in_axis=-1, out_axis=-2)),
        # jax.nn's *_normal are truncated normals; ours are plain Gaussians.
        (inits.he_normal(), J.variance_scaling(2.0, "fan_in", "normal", -1, -2)),
        (inits.glorot_normal(), J.variance_scaling(1.0, "fan_avg", "normal", -1, -2)),
        (inits.lecun_normal(), J.variance_scaling(1.0, "fan_in", "normal", -1, -2)),
        (
            inits.variance_scaling(2.0, "fan_in", "truncated_normal"),
            J.he_normal(-1, -2),
        ),
        (
            inits.variance_scaling(1.0, "fan_avg", "truncated_normal"),
            J.glorot_normal(-1, -2),
        ),
        (inits.orthogonal(1.3), J.orthogonal(1.3)),
        (inits.zeros, J.zeros),
        (inits.constant(0.25), J.constant(0.25)),
    ],
)
def test_initializer_equals_jax_nn_same_key(key, ours, theirs):
    np.testing.assert_array_equal(ours(key, SHAPE), theirs(key, SHAPE))


def test_he_normal_is_not_jax_nn_he_normal(key):
    # Same variance, different law: jax.nn cuts at two standard deviations.
    ours, theirs = inits.he_normal()(key, SHAPE), J.he_normal(-1, -2)(key, SHAPE)
    assert not np.allclose(ours, theirs)
    bound = 2 * math.sqrt(2 / FAN_IN) / 0.87962566103423978
    assert float(jnp.abs(theirs).max()) <= bound * (1 + 1e-6)
    assert float(jnp.abs(ours).max()) > bound


@pytest.mark.parametrize(
    ("init", "variance"),
    [
        (inits.lecun_normal(), 1 / FAN_IN),
        (inits.lecun_uniform(), 1 / FAN_IN),
        (inits.glorot_normal(), 2 / (FAN_IN + FAN_OUT)),
        (inits.glorot_uniform(), 2 / (FAN_IN + FAN_OUT)),
        (
            inits.glorot_uniform(inits.gain("tanh")),
            (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT),
        ),
        (inits.he_normal(), 2 / FAN_IN),
        (inits.he_normal(mode="fan_out"), 2 / FAN_OUT),
        (inits.he_uniform(), 2 / FAN_IN),
        (inits.he_normal("tanh"), (5 / 3) ** 2 / FAN_IN),
        (inits.standard_uniform(), 1 / (3 * FAN_IN)),
        (inits.variance_scaling(2.0, "fan_out", "truncated_normal"), 2 / FAN_OUT),
        (inits.orthogonal(2.0), 4 / FAN_IN),  # 300 orthonormal rows of length 500
    ],
)
def test_initializer_variance_equals_formula(key, init, variance):
    w = init(key, SHAPE)
    # The sample variance of 150,000 draws has a relative standard error of
    # sqrt(2 / N) = 0.4% (Gaussian) or less (uniform): 2% is five standard errors.
    assert float(w.mean()) == pytest.approx(0.0, abs=5 * math.sqrt(variance / w.size))
    assert float(w.var()) == pytest.approx(variance, rel=0.02)


def test_glorot_uniform_limit_is_sqrt6_over_fan_sum(key):
    w = inits.glorot_uniform()(key, SHAPE)
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert float(jnp.abs(w).max()) <= limit
    assert float(jnp.abs(w).max()) > 0.999 * limit


def test_standard_uniform_limit_is_one_over_sqrt_fan_in(key):
    w = inits.standard_uniform()(key, SHAPE)
    assert float(jnp.abs(w).max()) == pytest.approx(1 / math.sqrt(FAN_IN), rel=1e-3)


@pytest.mark.parametrize("shape", [(300, 500), (500, 300), (64, 64)])
def test_orthogonal_singular_values_equal_gain(key, shape):
    w = inits.orthogonal(1.5)(key, shape)
    s = np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)
    np.testing.assert_allclose(s, 1.5, rtol=1e-5)


def test_gain_reads_the_registry():
    assert inits.gain("relu") == pytest.approx(math.sqrt(2))
    assert inits.gain("tanh") == pytest.approx(gc.registry.get("tanh").gain)


def test_initializers_validate_arguments(key):
    with pytest.raises(ValueError, match="scale"):
        inits.variance_scaling(0.0)
    with pytest.raises(ValueError, match="mode"):
        inits.variance_scaling(1.0, "fan_geo")
    with pytest.raises(ValueError, match="distribution"):
        inits.variance_scaling(1.0, "fan_in", "laplace")
    with pytest.raises(ValueError, match="gain"):
        inits.glorot_uniform(-1.0)
    with pytest.raises(ValueError, match="gain"):
        inits.orthogonal(0.0)
    with pytest.raises(ValueError, match="activation"):
        inits.he_normal("relu7")
    with pytest.raises(ValueError, match="shape"):
        inits.he_normal()(key, (3, 4, 5))
    with pytest.raises(ValueError, match="fan_in"):
        inits.lecun_normal()(key, (3, 0))
    with pytest.raises(ValueError, match="value"):
        inits.constant(float("nan"))


# One optimizer object, so that both schemes share one compiled training loop.
_SGD_MOMENTUM = optax.sgd(0.005, momentum=0.9)


def _final_losses(init, seeds, split):
    # All seeds in one vmapped program (gc.train.fit_seeds), as the chapter trains them.
    pairs = [jax.random.split(jax.random.key(seed)) for seed in seeds]
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 64, 32, 30, 10, w_init=init))(
        jnp.stack([p[0] for p in pairs])
    )
    _, hist = gc.train.fit_seeds(jnp.stack([p[1] for p in pairs]), params, split.x_train,
                                 split.y_train, model=gc.networks.mlp_model("relu"),
                                 optimizer=_SGD_MOMENTUM, steps=200, batch_size=64)  # fmt: skip
    loss, grads = np.asarray(hist.loss), np.asarray(hist.grad_norms)
    return loss[:, -20:].mean(axis=1), grads[:, :, 0].mean(axis=1)


def test_he_trains_30_layer_relu_where_glorot_stalls():
    # He et al. (2015), Figure 3, at laptop scale: 30 ReLU layers of width 32 on digits,
    # SGD with momentum, the same minibatches for both schemes. Glorot's Var(w) = 1/n
    # halves the signal at every layer (2^-30 in variance at the top), so the loss stays
    # at log(10) = 2.303; He's 2/n keeps it and the loss falls, in every one of the seeds.
    split = gc.data.digits(jax.random.key(3))
    seeds = (101, 102, 103)
    he, he_grad = _final_losses(inits.he_normal(), seeds, split)
    glorot, glorot_grad = _final_losses(inits.glorot_normal(), seeds, split)
    assert np.all(he < 2.0), he
    assert np.all(np.abs(glorot - math.log(10)) < 0.01), glorot
    assert np.all(glorot_grad < 1e-3 * he_grad.min()), (glorot_grad, he_grad)


def test_constant_init_units_stay_identical_through_training():
    # Every unit of a layer computes the same function and receives the same gradient,
    # so gradient descent keeps them equal: symmetry is never broken.
    split = gc.data.digits(jax.random.key(4))
    params = gc.networks.init_mlp(jax.random.key(5), 64, 16, 3, 10,
                                  w_init=inits.constant(0.1))  # fmt: skip
    trained, hist = gc.train.fit(jax.random.key(6), params, split.x_train, split.y_train,
                                 model=gc.networks.mlp_model("tanh"),
                                 optimizer=optax.sgd(0.1), steps=50)  # fmt: skip
    assert float(hist.loss[-1]) < float(hist.loss[0])  # it did learn something
    w = np.asarray(trained.hidden.w)
    assert np.abs(w - 0.1).max() > 1e-4  # the weights moved...
    np.testing.assert_allclose(w, w[:, :1, :1] + 0 * w, atol=1e-6)  # ...all alike
    first, readout = np.asarray(trained.first.w), np.asarray(trained.readout.w)
    np.testing.assert_allclose(first, first[:1] + 0 * first, atol=1e-6)  # equal rows
    np.testing.assert_allclose(readout, readout[:, :1] + 0 * readout, atol=1e-6)


def test_zeros_init_weight_gradients_stay_exactly_zero():
    # All-zero tanh weights: every hidden activation is tanh(0) = 0, so every weight
    # gradient delta h^T is exactly 0 at every step; only the read-out bias learns.
    split = gc.data.digits(jax.random.key(7))
    params = gc.networks.init_mlp(jax.random.key(8), 64, 16, 3, 10, w_init=inits.zeros)
    trained, hist = gc.train.fit(jax.random.key(9), params, split.x_train, split.y_train,
                                 model=gc.networks.mlp_model("tanh"),
                                 optimizer=optax.sgd(0.1), steps=30)  # fmt: skip
    assert float(np.abs(np.asarray(hist.grad_norms)).max()) == 0.0
    for w in (trained.first.w, trained.hidden.w, trained.readout.w):
        assert float(jnp.abs(w).max()) == 0.0
    assert float(jnp.abs(trained.readout.b).max()) > 1e-3  # the read-out bias moved
    full = lambda p: float(gc.networks.loss(p, split.x_train, split.y_train))  # noqa: E731
    assert full(trained) < full(params)  # ...toward the class frequencies
