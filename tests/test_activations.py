"""Activations: values against jax.nn, derivatives against jax.grad and the formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

act = gc.activations
leaky = gc.leaky
gated = gc.gated
reg = gc.registry
moments = gc.moments
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
    entry = reg.get(name)
    x = jnp.linspace(-1e4, 1e4, 20001, dtype=jnp.float32)
    assert bool(jnp.all(jnp.isfinite(entry.fn(x))))
    assert bool(jnp.all(jnp.isfinite(entry.grad(x))))
    assert bool(jnp.all(jnp.isfinite(autodiff(entry.fn)(x))))


# ---------------------------------------------------------------------------------------
# The zoo: every activation after sigmoid and tanh.
# ---------------------------------------------------------------------------------------

# (id, function, analytic derivative, kinks) at several hyper-parameters, including
# unconstrained PReLU slopes and both RReLU evaluation conventions.
CASES = [
    ("relu", act.relu, act.relu_grad, (0.0,)),
    ("relu6", act.relu6, act.relu6_grad, (0.0, 6.0)),
    ("leaky_relu", leaky.leaky_relu, leaky.leaky_relu_grad, (0.0,)),
    (
        "leaky_relu_0.2",
        lambda x: leaky.leaky_relu(x, negative_slope=0.2),
        lambda x: leaky.leaky_relu_grad(x, negative_slope=0.2),
        (0.0,),
    ),
    ("prelu", leaky.prelu, leaky.prelu_grad, (0.0,)),
    (
        "prelu_-0.5",
        lambda x: leaky.prelu(x, -0.5),
        lambda x: leaky.prelu_grad(x, -0.5),
        (0.0,),
    ),
    (
        "prelu_1.7",
        lambda x: leaky.prelu(x, 1.7),
        lambda x: leaky.prelu_grad(x, 1.7),
        (0.0,),
    ),
    ("rrelu_pytorch", leaky.rrelu, leaky.rrelu_grad, (0.0,)),
    (
        "rrelu_paper",
        lambda x: leaky.rrelu(x, convention="paper"),
        lambda x: leaky.rrelu_grad(x, convention="paper"),
        (0.0,),
    ),
    ("elu", act.elu, act.elu_grad, (0.0,)),
    ("elu_0.5", lambda x: act.elu(x, 0.5), lambda x: act.elu_grad(x, 0.5), (0.0,)),
    ("elu_2", lambda x: act.elu(x, 2.0), lambda x: act.elu_grad(x, 2.0), (0.0,)),
    ("selu", act.selu, act.selu_grad, (0.0,)),
    ("gelu", gated.gelu, gated.gelu_grad, ()),
    (
        "gelu_tanh",
        lambda x: gated.gelu(x, approximate=True),
        lambda x: gated.gelu_grad(x, approximate=True),
        (),
    ),
    ("silu", gated.silu, gated.silu_grad, ()),
    (
        "swish_0.5",
        lambda x: gated.swish(x, 0.5),
        lambda x: gated.swish_grad(x, 0.5),
        (),
    ),
    ("swish_3", lambda x: gated.swish(x, 3.0), lambda x: gated.swish_grad(x, 3.0), ()),
    ("softplus", act.softplus, act.softplus_grad, ()),
    ("hard_swish", gated.hard_swish, gated.hard_swish_grad, (-3.0, 3.0)),
    ("mish", gated.mish, gated.mish_grad, ()),
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
    ("leaky_relu", leaky.leaky_relu, jax.nn.leaky_relu),
    (
        "leaky_relu_0.3",
        lambda x: leaky.leaky_relu(x, 0.3),
        lambda x: jax.nn.leaky_relu(x, 0.3),
    ),
    ("elu", act.elu, jax.nn.elu),
    ("elu_0.5", lambda x: act.elu(x, 0.5), lambda x: jax.nn.elu(x, 0.5)),
    ("selu", act.selu, jax.nn.selu),
    ("gelu", gated.gelu, lambda x: jax.nn.gelu(x, approximate=False)),
    (
        "gelu_tanh",
        lambda x: gated.gelu(x, approximate=True),
        lambda x: jax.nn.gelu(x, approximate=True),
    ),
    ("silu", gated.silu, jax.nn.silu),
    ("swish", lambda x: gated.swish(x, 1.0), jax.nn.swish),
    ("softplus", act.softplus, jax.nn.softplus),
    ("hard_swish", gated.hard_swish, jax.nn.hard_swish),
    ("mish", gated.mish, jax.nn.mish),
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
    assert float(leaky.leaky_relu_grad(zero)) == 1.0
    assert float(leaky.prelu_grad(zero, 0.25)) == 1.0
    assert float(leaky.rrelu_grad(zero)) == 1.0
    assert float(act.elu_grad(zero, 2.0)) == 2.0
    assert float(act.selu_grad(zero)) == pytest.approx(act.SELU_SCALE * act.SELU_ALPHA)
    assert act.relu6_grad(jnp.array([0.0, 6.0])).tolist() == [0.0, 0.0]
    assert gated.hard_swish_grad(jnp.array([-3.0, 3.0])).tolist() == [0.0, 1.0]


def test_elu_rejects_negative_alpha():
    with pytest.raises(ValueError, match="alpha"):
        act.elu(1.0, alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        act.elu_grad(1.0, alpha=-0.5)
