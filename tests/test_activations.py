"""Activations: values against jax.nn, derivatives against jax.grad and the formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

act = gc.activations
ORDINARY = jnp.array([-7.5, -3.0, -1.0, -0.3, 0.2, 0.9, 2.5, 6.0], jnp.float32)
LARGE = jnp.array([-1e4, -100.0, 100.0, 1e4], jnp.float32)
ZERO = jnp.zeros((1,), jnp.float32)


def autodiff(f):
    return jax.vmap(jax.grad(f))


@pytest.mark.parametrize("x", [ORDINARY, ZERO, LARGE])
def test_sigmoid_equals_jax_nn(x):
    np.testing.assert_array_equal(act.sigmoid(x), jax.nn.sigmoid(x))


@pytest.mark.parametrize("x", [ORDINARY, ZERO, LARGE])
def test_sigmoid_grad_matches_jax_grad(x):
    # atol: for x > 17 jax.grad rounds sigma(1 - sigma) to 0, we keep e^{-x} ~ 1e-8.
    np.testing.assert_allclose(
        act.sigmoid_grad(x), autodiff(act.sigmoid)(x), rtol=1e-6, atol=1e-7
    )


def test_sigmoid_grad_matches_float64_formula():
    # Reference in float64 at the same float32 inputs. XLA's float32 logistic is accurate
    # to a few ulp near 0 and to ~1e-3 relative in the far tail, where values are < 1e-7.
    x = np.linspace(-30, 30, 601).astype(np.float32)
    x64 = x.astype(np.float64)
    s = 1 / (1 + np.exp(-x64))
    got = np.asarray(act.sigmoid_grad(x))
    core = np.abs(x) <= 15
    np.testing.assert_allclose(got[core], (s * (1 - s))[core], rtol=2e-5)
    np.testing.assert_allclose(got[~core], (s * (1 - s))[~core], rtol=5e-3, atol=0)


def test_sigmoid_grad_maximum_is_quarter_at_zero():
    x = jnp.linspace(-10, 10, 20001)
    g = act.sigmoid_grad(x)
    assert float(g.max()) == pytest.approx(0.25, abs=1e-7)
    assert float(x[jnp.argmax(g)]) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("x", [ORDINARY, ZERO, LARGE])
def test_tanh_equals_jax_numpy(x):
    np.testing.assert_array_equal(act.tanh(x), jnp.tanh(x))


@pytest.mark.parametrize("x", [ORDINARY, ZERO, LARGE])
def test_tanh_grad_matches_jax_grad(x):
    # jax.grad computes 1 - tanh(x)**2, which cancels to within ~1 ulp of 1.0 (1.2e-7)
    # in the tails; ours keeps the tail, so the two agree to that absolute error.
    np.testing.assert_allclose(
        act.tanh_grad(x), autodiff(act.tanh)(x), rtol=1e-6, atol=3e-7
    )


def test_tanh_grad_matches_float64_formula():
    x = np.linspace(-20, 20, 401).astype(np.float32)
    expected = 1 / np.cosh(x.astype(np.float64)) ** 2
    got = np.asarray(act.tanh_grad(x))
    core = np.abs(x) <= 7
    np.testing.assert_allclose(got[core], expected[core], rtol=2e-5)
    np.testing.assert_allclose(got[~core], expected[~core], rtol=5e-3, atol=0)


def test_tanh_is_rescaled_sigmoid():
    x = jnp.linspace(-8, 8, 101)
    np.testing.assert_allclose(act.tanh(x), 2 * act.sigmoid(2 * x) - 1, atol=2e-7)
    np.testing.assert_allclose(act.tanh_grad(x), 4 * act.sigmoid_grad(2 * x), rtol=1e-6)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_activation_and_grad_finite_up_to_1e4(name):
    entry = act.get(name)
    x = jnp.linspace(-1e4, 1e4, 20001, dtype=jnp.float32)
    assert bool(jnp.all(jnp.isfinite(entry.fn(x))))
    assert bool(jnp.all(jnp.isfinite(entry.grad(x))))
    assert bool(jnp.all(jnp.isfinite(autodiff(entry.fn)(x))))


def test_registry_entries_are_consistent():
    for name, entry in act.REGISTRY.items():
        assert entry.name == name
        x = jnp.linspace(-20, 20, 40001)
        measured = float(jnp.max(jnp.abs(entry.grad(x))))
        assert measured == pytest.approx(entry.max_slope, rel=1e-3), name
        assert entry.gain > 0
        assert 1940 < entry.year < 2030


def test_registry_is_historical_order_and_read_only():
    years = [e.year for e in act.REGISTRY.values()]
    assert years == sorted(years)
    with pytest.raises(TypeError):
        act.REGISTRY["new"] = act.REGISTRY["tanh"]  # type: ignore[index]


def test_registry_citations_exist_in_bibliography():
    from pathlib import Path

    bib = (Path(__file__).parents[1] / "references.bib").read_text()
    for entry in act.REGISTRY.values():
        assert "{" + entry.citation + "," in bib, entry.citation


def test_get_rejects_unknown_name():
    with pytest.raises(ValueError, match="activation must be one of"):
        act.get("sigmoidd")


def test_resolve_accepts_callable_and_name():
    assert act.resolve("tanh") is act.tanh
    assert act.resolve(jnp.sin) is jnp.sin
    with pytest.raises(ValueError, match="activation"):
        act.resolve("nope")


# ---------------------------------------------------------------------------------------
# The zoo: every activation after sigmoid and tanh.
# ---------------------------------------------------------------------------------------

# (id, function, analytic derivative, kinks) at several hyper-parameters, including
# unconstrained PReLU slopes and both RReLU evaluation conventions.
CASES = [
    ("relu", act.relu, act.relu_grad, (0.0,)),
    ("relu6", act.relu6, act.relu6_grad, (0.0, 6.0)),
    ("leaky_relu", act.leaky_relu, act.leaky_relu_grad, (0.0,)),
    (
        "leaky_relu_0.2",
        lambda x: act.leaky_relu(x, negative_slope=0.2),
        lambda x: act.leaky_relu_grad(x, negative_slope=0.2),
        (0.0,),
    ),
    ("prelu", act.prelu, act.prelu_grad, (0.0,)),
    (
        "prelu_-0.5",
        lambda x: act.prelu(x, -0.5),
        lambda x: act.prelu_grad(x, -0.5),
        (0.0,),
    ),
    (
        "prelu_1.7",
        lambda x: act.prelu(x, 1.7),
        lambda x: act.prelu_grad(x, 1.7),
        (0.0,),
    ),
    ("rrelu_pytorch", act.rrelu, act.rrelu_grad, (0.0,)),
    (
        "rrelu_paper",
        lambda x: act.rrelu(x, convention="paper"),
        lambda x: act.rrelu_grad(x, convention="paper"),
        (0.0,),
    ),
    ("elu", act.elu, act.elu_grad, (0.0,)),
    ("elu_0.5", lambda x: act.elu(x, 0.5), lambda x: act.elu_grad(x, 0.5), (0.0,)),
    ("elu_2", lambda x: act.elu(x, 2.0), lambda x: act.elu_grad(x, 2.0), (0.0,)),
    ("selu", act.selu, act.selu_grad, (0.0,)),
    ("gelu", act.gelu, act.gelu_grad, ()),
    (
        "gelu_tanh",
        lambda x: act.gelu(x, approximate=True),
        lambda x: act.gelu_grad(x, approximate=True),
        (),
    ),
    ("silu", act.silu, act.silu_grad, ()),
    ("swish_0.5", lambda x: act.swish(x, 0.5), lambda x: act.swish_grad(x, 0.5), ()),
    ("swish_3", lambda x: act.swish(x, 3.0), lambda x: act.swish_grad(x, 3.0), ()),
    ("softplus", act.softplus, act.softplus_grad, ()),
    ("hard_swish", act.hard_swish, act.hard_swish_grad, (-3.0, 3.0)),
    ("mish", act.mish, act.mish_grad, ()),
    ("sigmoid", act.sigmoid, act.sigmoid_grad, ()),
    ("tanh", act.tanh, act.tanh_grad, ()),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("name", "fn", "grad", "kinks"), CASES, ids=CASE_IDS)
def test_grad_matches_jax_grad_at_ordinary_points_kinks_and_1e4(name, fn, grad, kinks):
    # The kink points carry the convention (jax.grad picks the branch the where selects)
    # and points 1e-3 either side check both one-sided slopes.
    near = [k + d for k in kinks for d in (-1e-3, 0.0, 1e-3)]
    x = jnp.concatenate([ORDINARY, LARGE, jnp.array(near + [0.0], jnp.float32)])
    # atol 3e-7: tanh-type tails, see test_tanh_grad_matches_jax_grad.
    np.testing.assert_allclose(grad(x), autodiff(fn)(x), rtol=2e-6, atol=3e-7)


@pytest.mark.parametrize(("name", "fn", "grad", "kinks"), CASES, ids=CASE_IDS)
def test_value_and_grads_finite_on_float32_range(name, fn, grad, kinks):
    x = jnp.concatenate(
        [
            jnp.linspace(-1e4, 1e4, 200001, dtype=jnp.float32),
            jnp.array(kinks, jnp.float32),
        ]
    )
    for out in (fn(x), grad(x), autodiff(fn)(x)):
        assert out.dtype == jnp.float32
        assert bool(jnp.all(jnp.isfinite(out))), name


def test_elu_double_where_is_what_keeps_grad_finite():
    # The single-where ELU: the unused branch expm1(100) = inf, and its cotangent 0 times
    # the local derivative inf is nan. Ours feeds expm1 only x <= 0.
    def single_where(x):
        return jnp.where(x > 0, x, jnp.expm1(x))

    assert bool(jnp.isnan(jax.grad(single_where)(100.0)))
    assert float(jax.grad(act.elu)(100.0)) == 1.0
    assert float(jax.grad(act.selu)(100.0)) == pytest.approx(act.SELU_SCALE, rel=1e-7)


DENSE = jnp.concatenate(
    [jnp.linspace(-20, 20, 4001), LARGE, jnp.array([-3.0, 0.0, 3.0, 6.0])]
).astype(jnp.float32)

# (ours, jax.nn's) pairs: the same function, so values and jax.grad must agree.
JAX_NN = [
    ("relu", act.relu, jax.nn.relu),
    ("relu6", act.relu6, jax.nn.relu6),
    ("leaky_relu", act.leaky_relu, jax.nn.leaky_relu),
    (
        "leaky_relu_0.3",
        lambda x: act.leaky_relu(x, 0.3),
        lambda x: jax.nn.leaky_relu(x, 0.3),
    ),
    ("elu", act.elu, jax.nn.elu),
    ("elu_0.5", lambda x: act.elu(x, 0.5), lambda x: jax.nn.elu(x, 0.5)),
    ("selu", act.selu, jax.nn.selu),
    ("gelu", act.gelu, lambda x: jax.nn.gelu(x, approximate=False)),
    (
        "gelu_tanh",
        lambda x: act.gelu(x, approximate=True),
        lambda x: jax.nn.gelu(x, approximate=True),
    ),
    ("silu", act.silu, jax.nn.silu),
    ("swish", lambda x: act.swish(x, 1.0), jax.nn.swish),
    ("softplus", act.softplus, jax.nn.softplus),
    ("hard_swish", act.hard_swish, jax.nn.hard_swish),
    ("mish", act.mish, jax.nn.mish),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), JAX_NN, ids=[j[0] for j in JAX_NN])
def test_values_and_kink_conventions_equal_jax_nn(name, ours, theirs):
    np.testing.assert_allclose(ours(DENSE), theirs(DENSE), rtol=1e-6, atol=1e-7)
    # jax.grad of jax.nn's function fixes the convention at the kinks; ours must match.
    np.testing.assert_allclose(
        autodiff(ours)(DENSE), autodiff(theirs)(DENSE), rtol=1e-6, atol=3e-7
    )


def test_kink_conventions_are_as_documented():
    zero = jnp.float32(0.0)
    assert float(act.relu_grad(zero)) == 0.0
    assert float(act.leaky_relu_grad(zero)) == 1.0
    assert float(act.prelu_grad(zero, 0.25)) == 1.0
    assert float(act.rrelu_grad(zero)) == 1.0
    assert float(act.elu_grad(zero, 2.0)) == 2.0
    assert float(act.selu_grad(zero)) == pytest.approx(act.SELU_SCALE * act.SELU_ALPHA)
    assert act.relu6_grad(jnp.array([0.0, 6.0])).tolist() == [0.0, 0.0]
    assert act.hard_swish_grad(jnp.array([-3.0, 3.0])).tolist() == [0.0, 1.0]


def test_selu_constants_equal_jax_nn_in_float64():
    alpha, scale = act.selu_constants()
    with jax.enable_x64(True):
        jax_scale = float(jax.nn.selu(jnp.float64(1.0)))
        jax_alpha = -float(jax.nn.selu(jnp.float64(-1e3))) / jax_scale
    assert scale == pytest.approx(jax_scale, rel=1e-14)
    assert alpha == pytest.approx(jax_alpha, rel=1e-14)
    # the stored constants are the published ones, digit for digit (as jax.nn's)
    assert act.SELU_ALPHA == 1.6732632423543772848170429916717 == jax_alpha
    assert act.SELU_SCALE == 1.0507009873554804934193349852946 == jax_scale
    assert alpha == pytest.approx(act.SELU_ALPHA, rel=1e-15, abs=0)


def test_selu_constants_give_zero_mean_unit_variance_under_standard_normal():
    # Independent of the closed form: a fine trapezoid rule on the float64 formula.
    alpha, scale = act.selu_constants()
    zz = np.linspace(-12, 12, 400001)
    dens = np.exp(-0.5 * zz**2) / np.sqrt(2 * np.pi)
    v = scale * np.where(zz > 0, zz, alpha * np.expm1(np.minimum(zz, 0.0)))
    assert float(np.trapezoid(v * dens, zz)) == pytest.approx(0.0, abs=1e-9)
    assert float(np.trapezoid(v**2 * dens, zz)) == pytest.approx(1.0, abs=1e-9)


def test_gelu_tanh_form_is_close_to_exact():
    # Measured 4.7e-4 (values) and 8.7e-4 (slopes) on [-8, 8].
    x = jnp.linspace(-8, 8, 16001)
    assert float(jnp.max(jnp.abs(act.gelu(x) - act.gelu(x, approximate=True)))) < 6e-4
    slope_gap = jnp.abs(act.gelu_grad(x) - act.gelu_grad(x, approximate=True))
    assert float(jnp.max(slope_gap)) < 1e-3


def test_gelu_grad_peaks_at_sqrt2():
    x = jnp.linspace(0, 4, 40001)
    g = act.gelu_grad(x)
    assert float(x[jnp.argmax(g)]) == pytest.approx(np.sqrt(2), abs=1e-3)
    assert float(g.max()) == pytest.approx(act.get("gelu").max_slope, rel=1e-6)


def test_swish_large_beta_tends_to_relu_and_zero_beta_to_half_x():
    x = jnp.linspace(-5, 5, 101)
    np.testing.assert_allclose(act.swish(x, 200.0), act.relu(x), atol=2e-3)
    np.testing.assert_allclose(act.swish(x, 0.0), 0.5 * x, rtol=1e-6)


def test_prelu_slope_is_unconstrained_and_its_gradient_matches_jax_grad():
    x = jnp.array([[-2.0, 0.5, -1.0], [3.0, -0.25, 0.0]])
    alpha = jnp.array([-0.5, 0.25, 1.7])  # one slope per channel, outside (0, 1) too
    np.testing.assert_allclose(act.prelu(x, alpha), jnp.where(x >= 0, x, alpha * x))
    jac = jax.jacobian(lambda a: act.prelu(x, a))(
        alpha
    )  # (2, 3, 3), diagonal in channel
    np.testing.assert_allclose(
        jnp.einsum("bcc->bc", jac), act.prelu_grad_alpha(x, alpha)
    )
    assert act.PRELU_INIT == 0.25


def test_leaky_relu_rejects_slope_outside_unit_interval():
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="negative_slope"):
            act.leaky_relu(1.0, negative_slope=bad)
        with pytest.raises(ValueError, match="negative_slope"):
            act.leaky_relu_grad(1.0, negative_slope=bad)


def test_elu_rejects_negative_alpha():
    with pytest.raises(ValueError, match="alpha"):
        act.elu(1.0, alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        act.elu_grad(1.0, alpha=-0.5)


def test_gelu_rejects_non_bool_approximate_and_swish_non_finite_beta():
    with pytest.raises(ValueError, match="approximate"):
        act.gelu(1.0, approximate="tanh")
    with pytest.raises(ValueError, match="beta"):
        act.swish(1.0, beta=float("inf"))


def test_rrelu_rejects_bad_bounds_and_convention():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        act.rrelu(1.0, lower=0.4, upper=0.1)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        act.rrelu(1.0, jax.random.key(0), lower=8.0, upper=3.0, convention="paper")
    with pytest.raises(ValueError, match="lower"):
        act.rrelu(1.0, lower=-0.1)
    with pytest.raises(ValueError, match="lower"):
        act.rrelu_eval_slope(lower=0.0, convention="paper")  # would divide by zero
    with pytest.raises(ValueError, match="convention"):
        act.rrelu(1.0, convention="keras")


def test_rrelu_eval_slopes_of_both_conventions():
    assert act.rrelu_eval_slope() == pytest.approx(11 / 48, rel=1e-15)
    assert act.rrelu_eval_slope(convention="paper") == pytest.approx(2 / 11, rel=1e-15)
    x = jnp.linspace(-5, 5, 101)
    np.testing.assert_allclose(act.rrelu(x), act.leaky_relu(x, 11 / 48), rtol=1e-6)
    np.testing.assert_allclose(
        act.rrelu(x, convention="paper"), jnp.where(x >= 0, x, x / 5.5), rtol=1e-6
    )


def test_rrelu_training_slopes_come_from_the_key(key):
    x = -jnp.ones((200_000,))
    k1, k2 = jax.random.split(key)
    y1, y1_again, y2 = act.rrelu(x, k1), act.rrelu(x, k1), act.rrelu(x, k2)
    np.testing.assert_array_equal(y1, y1_again)
    assert not bool(jnp.all(y1 == y2))
    slopes = -y1
    assert float(slopes.min()) >= 1 / 8 and float(slopes.max()) <= 1 / 3
    # Mean of U(1/8, 1/3): standard error sd/sqrt(n) = 0.06/447 ~ 1.4e-4.
    assert float(slopes.mean()) == pytest.approx(11 / 48, abs=6e-4)
    paper = -act.rrelu(x, k1, convention="paper")
    assert float(paper.min()) >= 1 / 8 and float(paper.max()) <= 1 / 3
    # The paper's training slope 1/a has mean ln(8/3)/5 = 0.196, not the test slope 2/11.
    assert float(paper.mean()) == pytest.approx(np.log(8 / 3) / 5, abs=6e-4)
    assert abs(float(paper.mean()) - 2 / 11) > 0.01


def test_rrelu_training_grad_uses_the_same_slopes(key):
    x = jax.random.normal(key, (64,)).at[0].set(0.0)
    k = jax.random.fold_in(key, 1)
    for convention in ("pytorch", "paper"):
        jac = jax.jacobian(lambda v, c=convention: act.rrelu(v, k, convention=c))(x)
        np.testing.assert_allclose(
            jnp.diag(jac), act.rrelu_grad(x, k, convention=convention), rtol=1e-6
        )
        np.testing.assert_array_equal(jac - jnp.diag(jnp.diag(jac)), 0.0)
    np.testing.assert_array_equal(act.rrelu(jnp.abs(x), k), jnp.abs(x))


def test_fixed_point_gain_reproduces_he_and_lecun():
    assert act.fixed_point_gain(act.relu) == pytest.approx(np.sqrt(2), rel=1e-5)
    for a in (0.01, 0.25, 0.7):
        g = act.fixed_point_gain(lambda x, a=a: act.leaky_relu(x, a))
        assert g == pytest.approx(np.sqrt(2 / (1 + a**2)), rel=1e-5)
    assert act.fixed_point_gain(act.selu) == pytest.approx(1.0, rel=1e-5)
    assert act.fixed_point_gain(lambda x: x) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="points"):
        act.fixed_point_gain(act.relu, points=10)


def test_fixed_point_gain_keeps_unit_variance_through_a_wide_layer(key):
    # Monte Carlo check of the definition for a non-homogeneous unit (ELU).
    g = act.get("elu").gain
    kz, kw = jax.random.split(key)
    z = jax.random.normal(kz, (4096, 512))
    w = jax.random.normal(kw, (512, 512)) * g / np.sqrt(512)
    assert float(jnp.var(act.elu(z) @ w.T)) == pytest.approx(1.0, abs=0.03)


def test_registry_gains_are_fixed_point_gains_except_sigmoid_tanh():
    for name, entry in act.REGISTRY.items():
        if name in ("sigmoid", "tanh"):  # torch.nn.init.calculate_gain's values
            continue
        assert entry.gain == pytest.approx(act.fixed_point_gain(entry.fn), rel=1e-4), (
            name
        )
    assert act.get("relu").gain == pytest.approx(np.sqrt(2))
    assert act.get("selu").gain == pytest.approx(1.0, rel=1e-5)


def test_registry_has_every_activation_of_the_issue():
    expected = {"sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "elu", "selu",
                "gelu", "silu", "softplus", "relu6", "hard_swish", "mish"}  # fmt: skip
    assert set(act.names()) == expected


def test_registry_saturating_flag_matches_measured_tails():
    for name, entry in act.REGISTRY.items():
        tails = jnp.abs(entry.grad(jnp.array([-50.0, 50.0])))
        assert entry.saturating == bool(jnp.all(tails < 1e-6)), name


def test_registry_kinks_are_exactly_where_the_derivative_jumps():
    x = jnp.linspace(-10, 10, 20001)  # step 1e-3
    for name, entry in act.REGISTRY.items():
        g = np.asarray(entry.grad(x))
        jumps = np.asarray(x[1:])[np.abs(np.diff(g)) > 0.05]
        kinks = np.array(entry.kinks)
        for j in jumps:
            assert np.min(np.abs(kinks - j)) <= 2e-3, (name, j)
        for k in kinks:
            assert np.min(np.abs(jumps - k)) <= 2e-3, (name, k)


def test_registry_display_fields_render_as_mathtext():
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    for name, entry in act.REGISTRY.items():
        assert entry.label and entry.authors and entry.formula, name
        parser.parse(f"${entry.formula}$")


def test_tabulate_equals_each_function_and_derivative():
    x = jnp.linspace(-6, 8, 141)
    values, slopes = act.tabulate(x)
    assert values.shape == slopes.shape == (len(act.names()), 141)
    for a, entry in enumerate(act.REGISTRY.values()):
        np.testing.assert_allclose(values[a], entry.fn(x), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(slopes[a], entry.grad(x), rtol=1e-6, atol=1e-7)
    rows = jnp.stack([x, 2 * x])
    v2, s2 = act.tabulate(rows, ("elu", "gelu"))
    np.testing.assert_allclose(v2[1], act.gelu(2 * x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s2[0], act.elu_grad(x), rtol=1e-6)
    with pytest.raises(ValueError, match="x must be"):
        act.tabulate(jnp.ones((3, 4)), ("elu", "gelu"))
    with pytest.raises(ValueError, match="activation must be one of"):
        act.tabulate(x, ("elu", "nope"))
