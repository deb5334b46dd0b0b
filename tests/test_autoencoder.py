import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc
from gradcourse import autoencoder as ae

SMALL = ae.Autoencoder((6, 5, 4, 3))


@pytest.fixture
def xs():
    return jax.random.uniform(jax.random.key(3), (20, 6))


def test_init_shapes_mirror_the_encoder():
    w = ae.init(jax.random.key(0), SMALL)
    assert [d.w.shape for d in w.encoder] == [(5, 6), (4, 5), (3, 4)]
    assert [d.w.shape for d in w.decoder] == [(4, 3), (5, 4), (6, 5)]
    assert all(d.b.shape == d.w.shape[:1] for d in w.encoder + w.decoder)
    assert SMALL.depth == 6


def test_forward_shapes_range_and_linear_code(xs):
    w = ae.init(jax.random.key(0), SMALL)
    out, trace = SMALL(w, xs)
    assert out.shape == xs.shape and trace.post.shape == (20, 6, 6)
    assert bool(jnp.all((out >= 0) & (out <= 1)))
    code = trace.post[:, 2, :3]  # linear: equals the pre-activation
    np.testing.assert_allclose(code, trace.pre[:, 2, :3])
    h1 = jax.nn.sigmoid(xs @ w.encoder[0].w.T + w.encoder[0].b)
    np.testing.assert_allclose(trace.post[:, 0, :5], h1, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sizes": (6,)}, "sizes"),
        ({"sizes": [6, 3]}, "sizes"),
        ({"sizes": (6, 0)}, "sizes"),
        ({"sizes": (6, 3), "activation": "nope"}, "nope"),
    ],
)
def test_autoencoder_rejects_bad_config(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ae.Autoencoder(**kwargs)


def test_forward_rejects_wrong_input():
    w = ae.init(jax.random.key(0), SMALL)
    with pytest.raises(ValueError, match="xs"):
        SMALL(w, jnp.ones((4, 7)))
    with pytest.raises(ValueError, match="xs"):
        SMALL(w, jnp.ones(6))


def test_reconstruction_error_equals_hand_formula():
    x = np.arange(12.0).reshape(3, 4) / 12
    r = x[::-1] ** 2
    hand = sum((x[i, j] - r[i, j]) ** 2 for i in range(3) for j in range(4)) / 12
    assert float(ae.reconstruction_error(x, r)) == pytest.approx(hand, rel=1e-6)
    with pytest.raises(ValueError, match="reconstructions"):
        ae.reconstruction_error(x, r[:, :3])


def test_pca_reconstruct_equals_scikit_learn(xs):
    from sklearn.decomposition import PCA

    pca = PCA(2).fit(np.asarray(xs))
    expected = pca.inverse_transform(pca.transform(np.asarray(xs[:5])))
    np.testing.assert_allclose(ae.pca_reconstruct(xs, xs[:5], 2), expected, atol=1e-5)
    for bad in (0, 7, 2.0):
        with pytest.raises(ValueError, match="code_size"):
            ae.pca_reconstruct(xs, xs, bad)


def test_shallow_levels_match_the_deep_layers():
    levels = [gc.pretraining.shallow(SMALL, k) for k in range(3)]
    assert [c.sizes for c in levels] == [(6, 5), (5, 4), (4, 3)]
    assert [c.output for c in levels] == ["sigmoid", "sigmoid", "sigmoid"]
    assert [c.linear_code for c in levels] == [False, False, True]
    tanh = gc.pretraining.shallow(dataclasses.replace(SMALL, activation="tanh"), 1)
    assert tanh.output == "tanh"
    for bad in (-1, 3, 1.0):
        with pytest.raises(ValueError, match="level"):
            gc.pretraining.shallow(SMALL, bad)


def test_pretrain_transfers_the_layers_trained_one_at_a_time(xs):
    keys = jax.random.split(jax.random.key(7), 2)
    sgd = optax.sgd(0.5)
    stacked, histories = gc.pretraining.pretrain(
        keys, SMALL, xs, optimizer=sgd, steps=5, batch_size=8
    )
    assert len(histories) == 3 and histories[0].loss.shape == (2, 5)
    # Redo the greedy procedure by hand, one level and one seed at a time.
    for s, key in enumerate(keys):
        inputs = xs
        k_init, k_fit = jax.random.split(key)
        deep = ae.init(k_init, SMALL)
        for level in range(3):
            small = gc.pretraining.shallow(SMALL, level)
            start = gc.pretraining.level_start(deep, level)
            assert start.encoder[0] is deep.encoder[level]
            assert start.decoder[0] is deep.decoder[2 - level]
            w, _ = gc.train.fit(
                jax.random.fold_in(k_fit, level), start, inputs, inputs, model=small,
                optimizer=sgd, steps=5, batch_size=8, kind="mse",
                layer_norms=gc.probes.layer_grad_norms,
            )  # fmt: skip
            enc, dec = stacked.encoder[level], stacked.decoder[2 - level]
            np.testing.assert_allclose(enc.w[s], w.encoder[0].w, atol=1e-6)
            np.testing.assert_allclose(enc.b[s], w.encoder[0].b, atol=1e-6)
            np.testing.assert_allclose(dec.w[s], w.decoder[0].w, atol=1e-6)
            inputs = small(w, inputs)[1].post[:, 0, : small.sizes[1]]
        # The stacked encoder's code is the top level's code.
        one = jax.tree.map(lambda a, s=s: a[s], stacked)
        code = SMALL(one, xs)[1].post[:, 2, :3]
        np.testing.assert_allclose(code, inputs, atol=1e-5)


def test_pretrain_rejects_bad_input(xs):
    with pytest.raises(ValueError, match="keys"):
        gc.pretraining.pretrain(
            jax.random.key(0), SMALL, xs, optimizer=optax.sgd(0.1), steps=1
        )
    with pytest.raises(ValueError, match="xs"):
        gc.pretraining.pretrain(
            jax.random.split(jax.random.key(0), 2), SMALL, xs[0],
            optimizer=optax.sgd(0.1), steps=1,
        )  # fmt: skip


def _loss(w, xs, config=SMALL):
    out = config(w, xs)[0]
    return 0.5 * jnp.mean(jnp.sum((out - xs) ** 2, axis=-1))


def test_grad_norms_match_jax_grad_and_the_hand_backward_pass(xs):
    w = ae.init(jax.random.key(1), SMALL)
    probe = ae.grad_norms(w, xs, SMALL)
    grads = jax.grad(_loss)(w, xs)
    expected = [jnp.linalg.norm(d.w) for d in grads.encoder + grads.decoder]
    np.testing.assert_allclose(probe.weights, expected, rtol=1e-5)
    assert float(probe.loss) == pytest.approx(float(_loss(w, xs)), rel=1e-6)
    # dL/dH at the last hidden layer, by hand: (x_hat - x) / B * sigma' @ W_out.
    out, trace = SMALL(w, xs)
    top = w.decoder[-1]
    delta = (out - xs) / xs.shape[0] * out * (1 - out) @ top.w
    assert probe.hidden.shape == (5,)
    assert float(probe.hidden[-1]) == pytest.approx(
        float(jnp.linalg.norm(delta)), rel=1e-5
    )
    ratio = gc.probes.layer_ratio(probe.weights)
    assert float(ratio) == pytest.approx(float(expected[0] / expected[-1]), rel=1e-5)


def test_fit_records_the_probe_at_step_zero(xs):
    w = ae.init(jax.random.key(1), SMALL)
    _, history = gc.train.fit(
        jax.random.key(0), w, xs, xs, model=SMALL, optimizer=optax.sgd(0.1),
        steps=2, batch_size=xs.shape[0], kind="mse", layer_norms=gc.probes.layer_grad_norms,
    )  # fmt: skip
    np.testing.assert_allclose(
        history.grad_norms[0], ae.grad_norms(w, xs, SMALL).weights, rtol=1e-5
    )


def test_variants_equal_each_plain_configuration(xs):
    configs = (SMALL, dataclasses.replace(SMALL, activation="relu", normalize=True))
    both = ae.Variants(configs)
    w = ae.init(jax.random.key(2), SMALL)
    for i, config in enumerate(configs):
        tag = both.tag(i)
        np.testing.assert_allclose(both(w, xs, tag)[0], config(w, xs)[0], atol=1e-6)
        g_one = jax.grad(lambda p, c=config: _loss(p, xs, c))(w)
        g_both = jax.grad(
            lambda p, t=tag: 0.5 * jnp.mean(jnp.sum((both(p, xs, t)[0] - xs) ** 2, -1))
        )(w)
        np.testing.assert_allclose(
            gc.probes.layer_grad_norms(g_both),
            gc.probes.layer_grad_norms(g_one),
            rtol=1e-5,
        )
    with pytest.raises(ValueError, match="variants"):
        ae.Variants((SMALL, ae.Autoencoder((6, 3))))
    with pytest.raises(ValueError, match="index"):
        both.tag(2)


def test_rbm_pretrain_unrolls_tied_weights(xs):
    w = gc.pretraining.rbm_pretrain(0, SMALL, xs, gc.pretraining.RBMSchedule(n_iter=2))
    assert [d.w.shape for d in w.encoder + w.decoder] == [
        (5, 6), (4, 5), (3, 4), (4, 3), (5, 4), (6, 5)
    ]  # fmt: skip
    for k in range(3):
        np.testing.assert_array_equal(w.decoder[2 - k].w, w.encoder[k].w.T)
    assert SMALL(w, xs)[0].shape == xs.shape
    with pytest.raises(ValueError, match="xs"):
        gc.pretraining.rbm_pretrain(0, SMALL, xs * 2)
    with pytest.raises(ValueError, match="activation"):
        gc.pretraining.rbm_pretrain(
            0, dataclasses.replace(SMALL, activation="tanh"), xs
        )
    for field in ("n_iter", "learning_rate", "batch_size"):
        with pytest.raises(ValueError, match=field):
            gc.pretraining.RBMSchedule(**{field: 0})


@pytest.fixture(scope="module")
def case_study():
    """The chapter's experiments on other keys (the chapter uses jax.random.key(0))."""
    exp = gc.experiments.autoencoder
    data = gc.data.digits(jax.random.key(11), scale="unit")
    study = exp.Study()
    base = exp.baselines(data, study.sizes[-1])
    runs, adam = exp.compare(jax.random.key(12), data, study)
    return base, runs, adam


def test_case_study_claims_hold_on_other_seeds(case_study):
    base, runs, adam = case_study
    err = dict(zip(runs.labels, runs.test_error, strict=True))
    ratio = {
        m: np.median(gc.probes.layer_ratio(p))
        for m, p in zip(runs.labels, runs.profile, strict=True)
    }
    assert base["PCA"] < 0.5 * base["mean image"]
    # The failure: both sigmoid starts end at the mean image, with vanishing profiles.
    for m in ["sigmoid, tiny weights", "sigmoid, Xavier"]:
        assert np.abs(err[m] - base["mean image"]).max() < 0.02 * base["mean image"]
    assert ratio["sigmoid, Xavier"] < 1e-4 and ratio["sigmoid, tiny weights"] < 1e-12
    # Pre-training escapes, with a flat profile, and beats PCA on every seed.
    assert err["sigmoid, pre-trained"].max() < 0.95 * base["PCA"]
    assert ratio["sigmoid, pre-trained"] > 1e3 * ratio["sigmoid, Xavier"]
    # tanh + Xavier beats PCA and ReLU on the median.
    assert np.median(err["tanh, Xavier"]) < 0.9 * base["PCA"]
    assert np.median(err["tanh, Xavier"]) < 0.9 * np.median(err["ReLU, He"])
    assert err["ReLU, He"].min() < 0.5 * base["mean image"]
    # Adam: partly rescues Xavier, not tiny weights.
    a_err = dict(zip(adam.labels, adam.test_error, strict=True))
    xav, tiny = a_err["Adam, sigmoid, Xavier"], a_err["Adam, sigmoid, tiny"]
    assert xav.max() < 0.9 * base["mean image"] and xav.min() > base["PCA"]
    assert np.abs(tiny - base["mean image"]).max() < 0.02 * base["mean image"]


def test_case_study_reconstructions_and_summary(case_study):
    _, runs, _ = case_study
    xs = gc.data.digits(jax.random.key(11), scale="unit").x_test[:4]
    images = gc.experiments.autoencoder.reconstructions(runs, 4, seed=1)
    assert images.shape == (len(runs.labels), 4, 64)
    assert ((images >= 0) & (images <= 1)).all()
    k, seeds = runs.labels.index("tanh, Xavier"), runs.test_error.shape[1]
    one = jax.tree.map(lambda a: a[k * seeds + 1], runs.params)
    tag = runs.tags[k * seeds + 1]
    np.testing.assert_allclose(images[k], runs.model(one, xs, tag)[0], atol=1e-5)
    for count, seed, match in [
        (0, 0, "count"),
        (10_000, 0, "count"),
        (4, seeds, "seed"),
    ]:
        with pytest.raises(ValueError, match=match):
            gc.experiments.autoencoder.reconstructions(runs, count, seed)
    table = gc.experiments.autoencoder.summary(runs)
    med, lo, hi = table["tanh, Xavier"]
    assert lo <= med <= hi


def test_sgd_or_adam_flag_picks_exactly_one_optimiser(xs):
    # The flag is an injected hyper-parameter set per run (fit_seeds' hyperparams), not a
    # parameter: run 0 is exactly an SGD run, run 1 exactly an Adam run.
    exp = gc.experiments.autoencoder
    model = ae.Variants((SMALL,))
    keys = jax.random.split(jax.random.key(4), 2)
    w = ae.init_seeds(keys, SMALL)
    run = dict(steps=4, batch_size=8, kind="mse")
    final, _ = gc.train.fit_seeds(
        keys, w, xs, xs, model=model, per_run=jnp.ones((2, 1)),
        hyperparams={"adam": jnp.array([0.0, 1.0])},
        optimizer=exp._sgd_or_adam(0.1, 0.9, 0.01, adam=0.0),
        layer_norms=gc.probes.layer_grad_norms, **run,
    )  # fmt: skip
    for s, opt in enumerate([optax.sgd(0.1, momentum=0.9), optax.adam(0.01)]):
        one = jax.tree.map(lambda a, s=s: a[s], w)
        alone, _ = gc.train.fit(
            keys[s], one, xs, xs, model=SMALL, optimizer=opt,
            layer_norms=gc.probes.layer_grad_norms, **run,
        )  # fmt: skip
        for a, b in zip(
            jax.tree.leaves(alone),
            jax.tree.leaves(jax.tree.map(lambda a, s=s: a[s], final)),
            strict=True,
        ):
            np.testing.assert_allclose(a, b, atol=1e-6)


def test_xavier_weights_are_those_of_init():
    study = gc.experiments.autoencoder.Study(sizes=(8, 6, 3))
    key = jax.random.key(21)
    got = gc.experiments.autoencoder.xavier_weights(key, study)
    for a, b in zip(
        jax.tree.leaves(got), jax.tree.leaves(ae.init(key, study.config)), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
