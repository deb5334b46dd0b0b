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
