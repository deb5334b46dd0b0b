"""The training loop: it learns, records what the probe measures, and finds NaN origins."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(0))


def test_fit_learns_digits(key, digits):
    kp, kf = jax.random.split(key)
    params = gc.networks.init_mlp(kp, 64, 32, 3, 10)
    model = gc.networks.mlp_model("tanh")
    final, hist = gc.train.fit(
        kf,
        params,
        digits.x_train,
        digits.y_train,
        model=model,
        optimizer=optax.sgd(0.1),
        steps=200,
    )
    assert hist.loss.shape == (200,) and hist.grad_norms.shape == (200, 4)
    assert float(hist.loss[-20:].mean()) < 0.3 * float(hist.loss[:5].mean())
    assert gc.train.accuracy(final, digits.x_test, digits.y_test, model) > 0.85
    assert hist.nonfinite is None


def test_first_step_norms_equal_probe_on_full_batch(key):
    xs, ys = gc.data.gaussian_classification(key, 40, 6, 3)
    params = gc.networks.init_mlp(key, 6, 8, 5, 3)
    _, hist = gc.train.fit(
        key,
        params,
        xs,
        ys,
        model=gc.networks.mlp_model("sigmoid"),
        optimizer=optax.sgd(0.01),
        steps=1,
        batch_size=1000,
    )
    probe = gc.probes.grad_norms(params, xs, ys, "sigmoid")
    np.testing.assert_allclose(hist.grad_norms[0], probe.weights, rtol=1e-5)
    assert float(hist.loss[0]) == pytest.approx(float(probe.loss), rel=1e-6)


def test_record_hook_is_stacked(key):
    xs, ys = gc.data.gaussian_classification(key, 32, 4, 2)
    params = gc.networks.init_mlp(key, 4, 5, 2, 2)

    def record(p, grads, updates, trace):
        return {"w0": jnp.linalg.norm(p.first.w), "mean_h": trace.post.mean()}

    _, hist = gc.train.fit(
        key,
        params,
        xs,
        ys,
        model=gc.networks.mlp_model("tanh"),
        optimizer=optax.sgd(0.1),
        steps=7,
        record=record,
    )
    assert hist.records["w0"].shape == (7,)
    assert float(hist.records["w0"][0]) == pytest.approx(
        float(jnp.linalg.norm(params.first.w)), rel=1e-6
    )


def test_nonfinite_activation_origin_is_reported(key):
    xs, ys = gc.data.gaussian_classification(key, 16, 4, 2)
    params = gc.networks.init_mlp(key, 4, 6, 6, 2)
    # Infinite weights in stacked layer index 2, i.e. network layer 4.
    params = params._replace(
        hidden=params.hidden._replace(w=params.hidden.w.at[2].set(jnp.inf))
    )
    with pytest.raises(gc.train.NonFiniteError, match="step 0, layer 4") as err:
        gc.train.fit(
            key,
            params,
            xs,
            ys,
            model=gc.networks.mlp_model("tanh"),
            optimizer=optax.sgd(0.1),
            steps=3,
        )
    assert err.value.origin == gc.diagnosis.Origin(0, 4, "activation")


def test_nonfinite_gradient_origin_is_the_highest_bad_layer(key):
    # |x| written as sqrt(x^2): finite forward, 0/0 derivative where a pre-activation is 0.
    def abs_via_sqrt(x):
        return jnp.sqrt(x * x)

    xs, ys = gc.data.gaussian_classification(key, 16, 4, 2)
    params = gc.networks.init_mlp(key, 4, 6, 6, 2)
    # z = 0 exactly in network layer 4 only: zero weights and bias there, bias 0.5 elsewhere.
    hidden = gc.networks.Dense(
        params.hidden.w.at[2].set(0.0),
        jnp.full_like(params.hidden.b, 0.5).at[2].set(0.0),
    )
    params = params._replace(hidden=hidden)
    _, hist = gc.train.fit(
        key,
        params,
        xs,
        ys,
        model=gc.networks.mlp_model(abs_via_sqrt),
        optimizer=optax.sgd(0.1),
        steps=2,
        on_nonfinite="return",
    )
    assert hist.nonfinite == gc.diagnosis.Origin(0, 4, "gradient")


def test_nonfinite_from_too_large_learning_rate(key, digits):
    params = gc.networks.init_mlp(key, 64, 64, 6, 10)
    with pytest.raises(gc.train.NonFiniteError) as err:
        gc.train.fit(
            key,
            params,
            digits.x_train,
            digits.y_train,
            model=gc.networks.mlp_model(jax.nn.relu),
            optimizer=optax.sgd(30.0),
            steps=20,
        )
    assert err.value.origin.step > 0  # the first steps are fine; the blow-up builds up
    assert not np.isfinite(np.asarray(err.value.history.loss)).all()


def test_fit_validates_arguments(key):
    xs, ys = gc.data.gaussian_classification(key, 8, 3, 2)
    params = gc.networks.init_mlp(key, 3, 4, 2, 2)
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.sgd(0.1))
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        gc.train.fit(key, params, xs, ys, steps=0, **kw)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        gc.train.fit(key, params, xs, ys, steps=1, batch_size=0, **kw)
    with pytest.raises(ValueError, match="on_nonfinite must be one of"):
        gc.train.fit(key, params, xs, ys, steps=1, on_nonfinite="ignore", **kw)
    with pytest.raises(ValueError, match="ys must have 8 rows"):
        gc.train.fit(key, params, xs, ys[:4], steps=1, **kw)


def test_nonfinite_confined_to_one_bias_gradient_is_located(key):
    # The bias of network layer 3 enters as sqrt(b^2) with b = 0: a finite forward pass
    # and a 0/0 derivative in that bias alone, while every weight gradient stays finite.
    xs, ys = gc.data.gaussian_classification(key, 16, 4, 2)
    params = gc.networks.init_mlp(key, 4, 6, 5, 2)

    def model(p, x):
        b = p.hidden.b.at[1].set(jnp.sqrt(p.hidden.b[1] ** 2))
        return gc.networks.forward_batch(p._replace(hidden=p.hidden._replace(b=b)), x)

    _, hist = gc.train.fit(
        key,
        params,
        xs,
        ys,
        model=model,
        optimizer=optax.sgd(0.1),
        steps=2,
        on_nonfinite="return",
    )
    weights_only = gc.probes.layer_grad_norms(jax.grad(lambda p: gc.networks.LOSSES[
        "cross_entropy"](model(p, xs[:1])[0], ys[:1]))(params))  # fmt: skip
    assert np.isfinite(np.asarray(weights_only)).all()  # weight norms alone miss it
    assert np.isnan(np.asarray(hist.grad_norms[0, 2]))  # layer 3's norm reports it
    assert hist.nonfinite == gc.diagnosis.Origin(0, 3, "gradient")


def test_fit_seeds_equals_fit_run_by_run(key):
    xs, ys = gc.data.gaussian_classification(key, 64, 5, 3)
    keys = jax.random.split(key, 3)
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 5, 8, 4, 3))(keys)
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.adam(1e-2), steps=25)
    final, hist = gc.train.fit_seeds(keys, params, xs, ys, batch_size=16, **kw)
    assert hist.loss.shape == (3, 25) and hist.grad_norms.shape == (3, 25, 5)
    assert hist.nonfinite == (None, None, None)
    for s in range(3):
        p_s = jax.tree.map(lambda a, s=s: a[s], params)
        f_s, h_s = gc.train.fit(keys[s], p_s, xs, ys, batch_size=16, **kw)
        np.testing.assert_allclose(hist.loss[s], h_s.loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hist.grad_norms[s], h_s.grad_norms, rtol=1e-4)
        np.testing.assert_allclose(
            final.readout.w[s], f_s.readout.w, rtol=1e-4, atol=1e-6
        )


def test_fit_seeds_with_one_data_set_per_run_equals_fit_on_each(key):
    keys = jax.random.split(key, 3)
    data = [gc.data.gaussian_classification(k, 32, 4, 2) for k in keys]
    xs = jnp.stack([x for x, _ in data])
    ys = jnp.stack([y for _, y in data])
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 4, 6, 3, 2))(keys)
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.sgd(0.1), steps=10)
    final, hist = gc.train.fit_seeds(keys, params, xs, ys, batch_size=8, **kw)
    for s in range(3):
        p_s = jax.tree.map(lambda a, s=s: a[s], params)
        f_s, h_s = gc.train.fit(keys[s], p_s, xs[s], ys[s], batch_size=8, **kw)
        np.testing.assert_allclose(hist.loss[s], h_s.loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final.first.w[s], f_s.first.w, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="one data set per run"):
        gc.train.fit_seeds(keys, params, xs[:2], ys[:2], **kw)
    with pytest.raises(ValueError, match="one data set per run"):
        gc.train.fit_seeds(keys, params, xs, ys[0], **kw)


def test_fit_seeds_reports_the_failing_seed(key):
    xs, ys = gc.data.gaussian_classification(key, 16, 4, 2)
    keys = jax.random.split(key, 3)
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 4, 6, 6, 2))(keys)
    w = params.hidden.w.at[1, 2].set(jnp.inf)  # seed 1, network layer 4
    params = params._replace(hidden=params.hidden._replace(w=w))
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.sgd(0.1), steps=3)
    with pytest.raises(gc.train.NonFiniteError, match="in seed 1, at step 0, layer 4"):
        gc.train.fit_seeds(keys, params, xs, ys, **kw)
    _, hist = gc.train.fit_seeds(keys, params, xs, ys, on_nonfinite="return", **kw)
    assert hist.nonfinite == (None, gc.diagnosis.Origin(0, 4, "activation"), None)


def test_fit_seeds_validates_arguments(key):
    xs, ys = gc.data.gaussian_classification(key, 8, 3, 2)
    keys = jax.random.split(key, 2)
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 3, 4, 2, 2))(keys)
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.sgd(0.1))
    with pytest.raises(ValueError, match="leading seed axis of length 3"):
        gc.train.fit_seeds(jax.random.split(key, 3), params, xs, ys, steps=1, **kw)
    with pytest.raises(ValueError, match="keys must"):
        gc.train.fit_seeds(keys[0], params, xs, ys, steps=1, **kw)
    with pytest.raises(ValueError, match="steps must be"):
        gc.train.fit_seeds(keys, params, xs, ys, steps=0, **kw)
    single = gc.train.History(jnp.zeros((2, 3)), jnp.zeros((2, 3, 3)), None, None, None)
    with pytest.raises(ValueError, match="one run's"):
        gc.diagnosis.find_nonfinite(single)


def test_fit_seeds_rejects_unknown_or_missing_options(key):
    keys = jax.random.split(key, 2)
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 3, 4, 2, 2))(keys)
    xs, ys = jnp.ones((8, 3)), jnp.zeros(8, dtype=int)
    kw = dict(model=gc.networks.mlp_model("tanh"), optimizer=optax.sgd(0.1), steps=2)
    with pytest.raises(ValueError, match="options"):
        gc.train.fit_seeds(keys, params, xs, ys, learning_rate=0.1, **kw)
    with pytest.raises(ValueError, match="options"):
        gc.train.fit_seeds(keys, params, xs, ys, model=kw["model"], steps=2)


def test_fit_seeds_hyperparams_equal_one_optimizer_per_run(key):
    keys = jax.random.split(key, 2)
    params = jax.vmap(lambda k: gc.networks.init_mlp(k, 3, 4, 2, 2))(keys)
    xs = jax.random.normal(key, (16, 3))
    ys = (xs[:, 0] > 0).astype(int)
    model = gc.networks.mlp_model("tanh")
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.0)
    _, hist = gc.train.fit_seeds(keys, params, xs, ys, model=model, optimizer=sgd,
                                 steps=4, batch_size=8,
                                 hyperparams={"learning_rate": jnp.array([0.1, 0.5])})  # fmt: skip
    for s, lr in enumerate([0.1, 0.5]):
        one = jax.tree.map(lambda a, s=s: a[s], params)
        _, ref = gc.train.fit(keys[s], one, xs, ys, model=model, optimizer=optax.sgd(lr),
                              steps=4, batch_size=8)  # fmt: skip
        np.testing.assert_allclose(hist.loss[s], ref.loss, rtol=1e-5)
    with pytest.raises(ValueError, match="hyperparams"):
        gc.train.fit_seeds(keys, params, xs, ys, model=model, optimizer=optax.sgd(0.1),
                           steps=2, hyperparams={"learning_rate": jnp.ones(2)})  # fmt: skip
