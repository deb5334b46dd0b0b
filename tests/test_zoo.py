"""The activation ensemble: each member must equal its network run on its own."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

zoo = gc.zoo
ensemble = gc.ensemble
NAMES = ("relu", "elu", "gelu", "hard_swish")


def member(params, a, s):
    return jax.tree.map(lambda x: x[a, s], params)


def test_init_ensemble_is_lecun_normal_at_each_gain_with_shared_draws(key):
    params = ensemble.init_ensemble(
        key, NAMES, 3, in_dim=50, width=60, depth=4, out_dim=3
    )
    assert params.first.w.shape == (4, 3, 60, 50)
    assert params.hidden.w.shape == (4, 3, 3, 60, 60)
    assert params.readout.w.shape == (4, 3, 3, 60)
    assert float(jnp.abs(params.hidden.b).max()) == 0.0
    gains = np.array([gc.registry.get(n).gain for n in NAMES])
    # Var(w) fan_in / g^2 = 1; the read-out has 3 seeds x 180 weights, s.e. ~0.06.
    for layer, fan_in in (
        (params.first, 50),
        (params.hidden, 60),
        (params.readout, 60),
    ):
        eps = np.asarray(layer.w) / gains.reshape((-1,) + (1,) * (layer.w.ndim - 1))
        np.testing.assert_allclose(eps, np.broadcast_to(eps[:1], eps.shape), rtol=1e-6)
        unit = eps[0] * np.sqrt(fan_in)
        assert float(unit.var()) == pytest.approx(1.0, abs=0.25)
        assert float(unit.mean()) == pytest.approx(0.0, abs=0.15)
    seeds = unit.reshape(3, -1)
    assert not np.allclose(seeds[0], seeds[1])  # seeds differ


def test_ensemble_forward_equals_forward_batch_per_member(key):
    k1, k2 = jax.random.split(key)
    params = ensemble.init_ensemble(k1, NAMES, 2, in_dim=6, width=8, depth=5, out_dim=4)
    xs = jax.random.normal(k2, (9, 6))
    out, trace = ensemble.ensemble_forward(params, xs, NAMES)
    assert out.shape == (4, 2, 9, 4) and trace.post.shape == (4, 2, 9, 5, 8)
    for a, name in enumerate(NAMES):
        for s in range(2):
            want_out, want_trace = gc.networks.forward_batch(
                member(params, a, s), xs, name
            )
            np.testing.assert_allclose(out[a, s], want_out, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(
                trace.pre[a, s], want_trace.pre, rtol=1e-5, atol=1e-6
            )
            np.testing.assert_allclose(
                trace.post[a, s], want_trace.post, rtol=1e-5, atol=1e-6
            )


def test_probe_registry_equals_grad_norms_per_member(key):
    # The ensemble's summed loss is separable and its activations use the registry's
    # analytic derivatives: each member must match the autodiff probe run on it alone.
    k1, k2 = jax.random.split(key)
    split = gc.data.digits(k2)
    xs, ys = split.x_train[:32], split.y_train[:32]
    got = zoo.probe_registry(k1, xs, ys, width=16, depth=12, seeds=3, names=NAMES)
    params = ensemble.init_ensemble(
        k1, NAMES, 3, in_dim=64, width=16, depth=12, out_dim=10
    )
    for a, name in enumerate(NAMES):
        for s in range(3):
            want = gc.probes.grad_norms(member(params, a, s), xs, ys, name)
            np.testing.assert_allclose(got.hidden[a, s], want.hidden, rtol=2e-4)
            np.testing.assert_allclose(got.weights[a, s], want.weights, rtol=2e-4)
            np.testing.assert_allclose(got.loss[a, s], want.loss, rtol=1e-5)
            _, trace = gc.networks.forward_batch(member(params, a, s), xs, name)
            q = jnp.mean(jnp.square(trace.pre), axis=(0, 2))
            np.testing.assert_allclose(got.q[a, s], q, rtol=1e-4)
    assert got.names == NAMES
    assert float(got.gains[0]) == pytest.approx(np.sqrt(2), rel=1e-6)


def test_probe_registry_default_is_the_whole_registry(key):
    xs, ys = jnp.ones((4, 3)), jnp.array([0, 1, 2, 1])
    got = zoo.probe_registry(key, xs, ys, width=4, depth=2, seeds=1)
    assert got.names == gc.registry.names()
    assert got.hidden.shape == (len(gc.registry.names()), 1, 2)
    assert bool(jnp.all(jnp.isfinite(got.weights)))


def test_train_registry_members_train_as_if_alone(key):
    split = gc.data.digits(jax.random.key(1))
    names, steps, lr = ("tanh", "relu"), 6, 0.05
    got = zoo.train_registry(
        key, *split, width=8, depth=3, seeds=2, steps=steps, learning_rate=lr,
        batch_size=16, names=names,
    )  # fmt: skip
    assert got.grad_norms.shape == (2, 2, steps, 4)
    assert got.train_loss.shape == got.test_accuracy.shape == (2, 2)
    k_init, k_fit = jax.random.split(key)
    params = ensemble.init_ensemble(
        k_init, names, 2, in_dim=64, width=8, depth=3, out_dim=10
    )
    for a, name in enumerate(names):
        model = gc.networks.mlp_model(name)
        for s in range(2):
            final, history = gc.train.fit(
                k_fit, member(params, a, s), split.x_train, split.y_train,
                model=model, optimizer=optax.sgd(lr), steps=steps, batch_size=16,
            )  # fmt: skip
            np.testing.assert_allclose(
                got.grad_norms[a, s], history.grad_norms, rtol=1e-4, atol=1e-7
            )
            loss = gc.networks.loss(final, split.x_train, split.y_train, name)
            assert float(got.train_loss[a, s]) == pytest.approx(float(loss), rel=1e-4)
            acc = gc.train.accuracy(final, split.x_test, split.y_test, model)
            assert float(got.test_accuracy[a, s]) == pytest.approx(acc, abs=1e-6)


def test_zoo_rejects_bad_names_and_arguments(key):
    xs, ys = jnp.ones((4, 3)), jnp.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="activation must be one of"):
        zoo.probe_registry(key, xs, ys, width=4, depth=2, seeds=1, names=["relux"])
    with pytest.raises(ValueError, match="names"):
        zoo.probe_registry(key, xs, ys, width=4, depth=2, seeds=1, names=[])
    with pytest.raises(ValueError, match="seeds"):
        ensemble.init_ensemble(key, ["relu"], 0, in_dim=3, width=4, depth=2, out_dim=2)
    params = ensemble.init_ensemble(key, ["relu", "tanh"], 1, in_dim=3, width=4, depth=2,
                               out_dim=2)  # fmt: skip
    with pytest.raises(ValueError, match="activation must be one of"):
        ensemble.ensemble_model(["relux"])
    with pytest.raises(ValueError, match="names must have 2 entries"):
        ensemble.ensemble_forward(params, xs, ["relu"])
    with pytest.raises(ValueError, match="learning_rate"):
        zoo.train_registry(key, xs, ys, xs, ys, width=4, depth=2, seeds=1, steps=1,
                           learning_rate=-1.0)  # fmt: skip


def test_mean_field_prediction_equals_meanfield_module():
    names = ("tanh", "relu", "gelu")
    q, rel = zoo.mean_field_prediction(names, 0.8, 6)
    assert q.shape == rel.shape == (3, 6)
    for a, name in enumerate(names):
        g2 = gc.registry.get(name).gain ** 2
        want_q = gc.meanfield.variance_trajectory(0.8, g2, 0.0, name, depth=6)
        np.testing.assert_allclose(q[a], want_q, rtol=1e-5)
        chi = np.asarray(gc.meanfield.chi(want_q, g2, name), np.float64)
        want_rel = [np.sqrt(np.prod(chi[layer + 1 :])) for layer in range(6)]
        np.testing.assert_allclose(rel[a], want_rel, rtol=1e-5)
    np.testing.assert_allclose(rel[1], 1.0, rtol=1e-6)  # ReLU at gain sqrt 2: chi = 1


def test_mean_field_prediction_matches_a_wide_network(key):
    # Width 512, 8 seeds: the median measured ratio of first to last hidden gradient
    # norm is within 10% of the prediction for tanh (exploding) and GELU (drifting q).
    k1, k2, k3 = jax.random.split(key, 3)
    xs = jax.random.normal(k1, (32, 64))
    ys = jax.random.randint(k2, (32,), 0, 10)
    names = ("tanh", "gelu")
    got = zoo.probe_registry(k3, xs, ys, width=512, depth=12, seeds=8, names=names)
    _, rel = zoo.mean_field_prediction(names, float(jnp.mean(xs**2)), 12)
    measured = np.median(np.asarray(got.hidden[..., 0] / got.hidden[..., -1]), axis=1)
    np.testing.assert_allclose(measured, rel[:, 0], rtol=0.1)
    with pytest.raises(ValueError, match="q0"):
        zoo.mean_field_prediction(names, -1.0, 3)


def test_probe_registry_norms_stay_positive_for_tiny_gradients(key):
    """40 sigmoid layers shrink the gradient below 1e-19, where squaring underflows
    float32; the scaled norms still measure it (and agree with float64 arithmetic)."""
    k1, k2 = jax.random.split(key)
    xs = jax.random.normal(k1, (8, 6))
    ys = jnp.arange(8) % 3
    got = zoo.probe_registry(k2, xs, ys, width=8, depth=40, seeds=2, names=["sigmoid"])
    hidden, weights = np.asarray(got.hidden), np.asarray(got.weights)
    assert hidden[..., 0].max() < 1e-19  # the case the naive norm reports as 0
    assert (hidden > 0).all() and (weights > 0).all()
    params = ensemble.init_ensemble(
        k2, ["sigmoid"], 2, in_dim=6, width=8, depth=40, out_dim=3
    )
    want = gc.probes.grad_norms(member(params, 0, 1), xs, ys, "sigmoid")
    np.testing.assert_allclose(hidden[0, 1], want.hidden, rtol=2e-4)


def test_ensemble_model_is_a_value():
    # Equal names, equal models: fit's jit sees one static argument and compiles once.
    model = ensemble.ensemble_model(["tanh", "relu"])
    assert model == ensemble.EnsembleModel(("tanh", "relu"))
    assert hash(model) == hash(ensemble.ensemble_model(("tanh", "relu")))
