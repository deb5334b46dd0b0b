"""Tests of gradcourse.recurrent and gradcourse.experiments.recurrent."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gradcourse import recurrent as rec
from gradcourse.experiments import gated_recurrent_networks as gated
from gradcourse.experiments import recurrent as exp

N, M, T = 5, 3, 12


def sig(x):
    return 1 / (1 + np.exp(-x))


def _setup(kind, key, forget_bias=0.7, activation="tanh"):
    cell = rec.Cell(kind, hidden=N, inputs=M, activation=activation)
    p = rec.init(key, cell, rec.RecurrentInit("gaussian", forget_bias=forget_bias))
    # Random biases too, so no gate sits at a symmetric point by accident.
    p = p._replace(
        b=p.b + 0.3 * jax.random.normal(jax.random.fold_in(key, 1), p.b.shape)
    )
    xs = jax.random.normal(jax.random.fold_in(key, 2), (T, M))
    return cell, p, xs


def _numpy_reference(kind, p, xs, activation="tanh"):
    """The cells' equations written out again, in NumPy, one step at a time."""
    w, u, b = (np.asarray(a, np.float64) for a in p)
    phi = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[activation]
    h, c, out = np.zeros(N), np.zeros(N), []
    for x in np.asarray(xs, np.float64):
        if kind == "elman":
            h = phi(w @ h + u @ x + b)
            out.append(h)
            continue
        if kind == "gru":
            z = sig(w[0] @ h + u[0] @ x + b[0])
            r = sig(w[1] @ h + u[1] @ x + b[1])
            cand = np.tanh(w[2] @ (r * h) + u[2] @ x + b[2])
            h = z * h + (1 - z) * cand
            out.append(h)
            continue
        i = sig(w[0] @ h + u[0] @ x + b[0])
        f = sig(w[1] @ h + u[1] @ x + b[1]) if kind == "lstm" else 1.0
        g = np.tanh(w[2] @ h + u[2] @ x + b[2])
        o = sig(w[3] @ h + u[3] @ x + b[3])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(np.concatenate([h, c]))
    return np.stack(out)


@pytest.mark.parametrize("kind", rec.KINDS)
def test_unroll_matches_the_equations(kind, key):
    cell, p, xs = _setup(kind, key)
    got = rec.unroll(cell, p, xs)
    np.testing.assert_allclose(got, _numpy_reference(kind, p, xs), rtol=1e-5, atol=1e-6)


def test_unroll_relu_elman_matches_the_equations(key):
    cell, p, xs = _setup("elman", key, activation="relu")
    got = rec.unroll(cell, p, xs)
    np.testing.assert_allclose(got, _numpy_reference("elman", p, xs, "relu"), atol=1e-5)


@pytest.mark.parametrize("kind", rec.KINDS)
def test_jacobians_to_end_match_jacrev_of_the_unrolled_network(kind, key):
    cell, p, xs = _setup(kind, key)
    prods = rec.jacobians_to_end(rec.step_jacobians(cell, p, xs))
    states = rec.unroll(cell, p, xs)
    for t in (0, 4, T - 1, T):
        s_t = states[t - 1] if t > 0 else jnp.zeros(cell.state_size)

        def tail(s, t=t):
            return rec.unroll(cell, p, xs[t:], s)[-1] if t < T else s

        np.testing.assert_allclose(
            prods[t], jax.jacrev(tail)(s_t), rtol=1e-4, atol=1e-6
        )


@pytest.mark.parametrize("kind,block", [("elman", "h"), ("lstm", "h"), ("lstm", "c")])
def test_log_sigma_grid_matches_direct_products(kind, block, key):
    cell, p, xs = _setup(kind, key)
    jacs = rec.step_jacobians(cell, p, xs)
    grid = np.asarray(rec.log_sigma_grid(cell, jacs, block))
    sl = slice(0, N) if block == "h" else slice(N, 2 * N)
    for end in (3, T):
        direct = rec.jacobians_to_end(jacs[:end])[:, sl, sl]
        want = np.log10(np.linalg.svd(np.asarray(direct), compute_uv=False)[:, 0])
        np.testing.assert_allclose(grid[end, : end + 1], want, rtol=1e-4, atol=1e-5)
    assert np.isnan(grid[2, 3]) and np.isnan(grid[0, T])


def test_carousel_without_forget_gate_is_exactly_the_identity(key):
    cell, p, xs = _setup("lstm1997", key)
    jacs = rec.step_jacobians(cell, p, xs)
    carousel = rec.jacobians_to_end(jacs[:, N:, N:])[0]  # the c -> c path alone
    np.testing.assert_array_equal(carousel, np.eye(N))


def test_carousel_with_forget_gate_is_the_product_of_forget_activations(key):
    cell, p, xs = _setup("lstm", key)
    jacs = rec.step_jacobians(cell, p, xs)
    carousel = rec.jacobians_to_end(jacs[:, N:, N:])[0]
    states = np.asarray(_numpy_reference("lstm", p, xs))
    hs = np.concatenate([np.zeros((1, N)), states[:-1, :N]])
    w, u, b = (np.asarray(a, np.float64) for a in p)
    forget = sig(hs @ w[1].T + np.asarray(xs) @ u[1].T + b[1])
    np.testing.assert_allclose(carousel, np.diag(forget.prod(axis=0)), rtol=1e-4)


def test_init_schemes(key):
    cell = rec.Cell("elman", hidden=6, inputs=2)
    eye = rec.init(key, cell, rec.RecurrentInit("identity", gain=0.5)).w
    np.testing.assert_array_equal(eye, 0.5 * np.eye(6))
    orth = rec.init(key, cell, rec.RecurrentInit("orthogonal")).w
    np.testing.assert_allclose(orth @ orth.T, np.eye(6), atol=1e-5)
    lstm = rec.init(key, rec.Cell("lstm", 4, 2), rec.RecurrentInit(forget_bias=1.0))
    np.testing.assert_array_equal(
        lstm.b, np.stack([np.zeros(4), np.ones(4), *[np.zeros(4)] * 2])
    )


def test_scan_compile_is_flat_in_sequence_length(key):
    cell = rec.Cell("lstm", hidden=4, inputs=2)
    p = rec.init(key, cell)

    def hlo_size(steps):
        fn = jax.jit(lambda q, xs: rec.unroll(cell, q, xs))
        return len(fn.lower(p, jnp.ones((steps, 2))).as_text())

    assert hlo_size(400) < 1.2 * hlo_size(10)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: rec.Cell("rnn"), "kind"),
        (lambda: rec.Cell(hidden=0), "hidden"),
        (lambda: rec.RecurrentInit("uniform"), "recurrent"),
        (lambda: rec.RecurrentInit(gain=-1.0), "gain"),
        (lambda: rec.unroll(rec.Cell(inputs=2), None, jnp.ones((3, 5))), "xs"),
        (lambda: rec.unroll(rec.Cell(inputs=2), None, jnp.ones(3)), "xs"),
        (
            lambda: rec.log_sigma_grid(rec.Cell("gru"), jnp.ones((2, 32, 32)), "c"),
            "block",
        ),
        (lambda: exp.doya_bistable_range(3.0), "w"),
        (lambda: exp.recall_task(jax.random.key(0), 8, lag=10, steps=10), "lag"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_doya_bistable_range_is_where_two_attractors_coexist():
    low, high = exp.doya_bistable_range(5.0)
    inside, outside = (low + high) / 2, np.array([low - 0.05, high + 0.05])
    ends = exp.doya_orbit(
        5.0, jnp.array([inside, *outside]), jnp.array([0.0, 1.0]), 500
    )
    ends = np.asarray(ends)
    assert ends[0, 1] - ends[0, 0] > 0.4  # two attractors: the start decides
    np.testing.assert_allclose(ends[1:, 0], ends[1:, 1], atol=1e-3)  # one attractor
    # Counting fixed points (sign changes of sigma(5h + b) - h): 3 just inside, 1 outside.
    h = np.linspace(0, 1, 200001)
    for b, inward in ((low, 1), (high, -1)):
        for shift, count in ((1e-3 * inward, 3), (-1e-3 * inward, 1)):
            gap = sig(5 * h + b + shift) - h
            assert np.count_nonzero(np.diff(np.sign(gap))) == count


def test_single_unit_surface_gradient_matches_finite_differences():
    ws, bs = jnp.array([1.0, 4.0]), jnp.array([-2.0, 0.3])
    loss, gnorm = exp.single_unit_surface(ws, bs, steps=20)
    eps = 1e-3
    for i, w in enumerate(np.asarray(ws, np.float64)):
        for j, b in enumerate(np.asarray(bs, np.float64)):

            def f(w, b):
                x = 0.5
                for _ in range(20):
                    x = w * sig(x) + b
                return (x - 0.7) ** 2

            dw = (f(w + eps, b) - f(w - eps, b)) / (2 * eps)
            db = (f(w, b + eps) - f(w, b - eps)) / (2 * eps)
            assert float(loss[i, j]) == pytest.approx(f(w, b), rel=1e-4, abs=1e-6)
            assert float(gnorm[i, j]) == pytest.approx(
                np.hypot(dw, db), rel=1e-2, abs=1e-4
            )


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_bound_check_never_violates_the_bound(activation, key):
    cell = rec.Cell("elman", hidden=8, inputs=2, activation=activation)
    measured, bound = exp.bound_check(key, cell, jnp.array([0.5, 1.0, 3.0]), 20, 6)
    assert measured.shape == (3, 6)
    assert np.all(np.asarray(measured) <= np.asarray(bound) + 1e-4)


def test_recall_task_places_the_cue_lag_steps_before_the_end(key):
    data = exp.recall_task(key, 16, lag=3, steps=8, symbols=4, distractors=2)
    xs = np.asarray(data.xs).reshape(16, 8, 6)
    np.testing.assert_array_equal(xs[:, 4, :4].argmax(-1), data.ys)
    assert xs[:, :4].sum() == 0 and np.all(xs[:, 5:, 4:].sum(-1) == 1)


def test_fit_grid_run_matches_fit_seeds(key):
    cell = rec.Cell("gru", hidden=4, inputs=6)
    data = [
        exp.recall_task(jax.random.fold_in(key, lag), 32, lag, 6, 4, 2)
        for lag in (2, 4)
    ]
    grid_data = exp.Sequences(*(jnp.stack(a) for a in zip(*data, strict=True)))
    keys = jax.random.split(key, (2, 3))
    params = jax.vmap(
        jax.vmap(lambda k: exp.init_classifier(k, cell, 4, rec.RecurrentInit()))
    )(keys)
    model, opt = exp.SequenceClassifier(cell), optax.adam(1e-2)
    _, hist = exp.fit_grid(
        keys, params, grid_data, model=model, optimizer=opt, steps=5, batch_size=8
    )
    from gradcourse import train

    one = jax.tree.map(lambda a: a[1], params)
    _, ref = train.fit_seeds(
        keys[1],
        one,
        *data[1],
        model=model,
        optimizer=opt,
        steps=5,
        batch_size=8,
        layer_norms=exp._norms,
    )
    np.testing.assert_allclose(hist.loss[1], ref.loss, rtol=1e-5)
    acc = exp.grid_accuracy(model, params, grid_data)
    assert acc.shape == (2, 3)


@pytest.mark.parametrize("kind", ["lstm", "lstm1997"])
def test_carousel_log10_matches_the_jacobian_product(kind, key):
    cell, p, xs = _setup(kind, key)
    jacs = rec.step_jacobians(cell, p, xs)
    prods = rec.jacobians_to_end(jacs[:, N:, N:])
    want = np.log10(np.diagonal(np.asarray(prods), axis1=1, axis2=2))
    np.testing.assert_allclose(rec.carousel_log10(cell, p, xs), want, atol=1e-5)


def test_time_grid_and_memory_sweep_shapes(key):
    cell = rec.Cell("gru", hidden=4, inputs=8)
    grid = gated.time_grid(cell, rec.init(key, cell), jnp.ones((6, 8)))
    assert grid.shape == (7, 7) and float(grid[6, 6]) == 0.0
    models = (gated.Model("gru", cell), gated.Model("rnn", rec.Cell("elman", 4, 8)))
    sweep = gated.memory_sweep(
        key, models, (2, 5), seeds=2, steps=3, length=6, optimizer=optax.adam(1e-2)
    )
    assert sweep.accuracy.shape == (2, 2, 2) and sweep.test.xs.shape == (2, 512, 48)
    with pytest.raises(ValueError, match="lags"):
        gated.memory_sweep(
            key, models, (6,), seeds=1, steps=1, length=6, optimizer=optax.adam(1e-2)
        )


def test_memory_sweep_trains_models_of_one_cell_together(key):
    lstm = rec.Cell("lstm", hidden=4, inputs=8)
    models = (
        gated.Model("b0", lstm, rec.RecurrentInit(forget_bias=0.0)),
        gated.Model("gru", rec.Cell("gru", hidden=4, inputs=8)),
        gated.Model("b2", lstm, rec.RecurrentInit(forget_bias=2.0)),
    )
    sweep = gated.memory_sweep(
        key, models, (2, 5), seeds=3, steps=2, length=6, optimizer=optax.adam(1e-2)
    )
    assert sweep.accuracy.shape == (3, 2, 3)
    b0, b2 = sweep.initial[0].cell, sweep.initial[2].cell
    assert b0.w.shape == (2, 3, 4, 4, 4)  # (lags, seeds, gates, n, n): its own slice
    # Same keys, so the same weights; only the forget bias (gate 1) differs.
    assert jnp.array_equal(b0.w, b2.w) and jnp.array_equal(b0.u, b2.u)
    assert jnp.all(b0.b[:, :, 1] == 0.0) and jnp.all(b2.b[:, :, 1] == 2.0)
    # Each model's initial parameters are init_classifier's for its keys.
    keys = jax.random.split(jax.random.split(key, 3)[2], (2, 3))
    ref = exp.init_classifier(keys[1, 2], lstm, 4, models[2].scheme)
    assert jnp.array_equal(sweep.initial[2].cell.w[1, 2], ref.cell.w)
    assert not jnp.array_equal(sweep.final[0].cell.b, sweep.final[2].cell.b)
