"""Tests of gradcourse.registry: the records, lookup, gains and tabulation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

act = gc.activations
leaky = gc.leaky
gated = gc.gated
reg = gc.registry


def test_registry_entries_are_consistent():
    for name, entry in reg.REGISTRY.items():
        assert entry.name == name
        x = jnp.linspace(-20, 20, 40001)
        measured = float(jnp.max(jnp.abs(entry.grad(x))))
        assert measured == pytest.approx(entry.max_slope, rel=1e-3), name
        assert entry.gain > 0
        assert 1940 < entry.year < 2030


def test_registry_is_historical_order_and_read_only():
    years = [e.year for e in reg.REGISTRY.values()]
    assert years == sorted(years)
    with pytest.raises(TypeError):
        reg.REGISTRY["new"] = reg.REGISTRY["tanh"]  # type: ignore[index]


def test_registry_citations_exist_in_bibliography():
    from pathlib import Path

    bib = (Path(__file__).parents[1] / "references.bib").read_text()
    for entry in reg.REGISTRY.values():
        assert "{" + entry.citation + "," in bib, entry.citation


def test_get_rejects_unknown_name():
    with pytest.raises(ValueError, match="activation must be one of"):
        reg.get("sigmoidd")


def test_resolve_accepts_callable_and_name():
    assert reg.resolve("tanh") is act.tanh
    assert reg.resolve(jnp.sin) is jnp.sin
    with pytest.raises(ValueError, match="activation"):
        reg.resolve("nope")


def test_fixed_point_gain_reproduces_he_and_lecun():
    assert reg.fixed_point_gain(act.relu) == pytest.approx(np.sqrt(2), rel=1e-5)
    for a in (0.01, 0.25, 0.7):
        g = reg.fixed_point_gain(lambda x, a=a: leaky.leaky_relu(x, a))
        assert g == pytest.approx(np.sqrt(2 / (1 + a**2)), rel=1e-5)
    assert reg.fixed_point_gain(act.selu) == pytest.approx(1.0, rel=1e-5)
    assert reg.fixed_point_gain(lambda x: x) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="points"):
        reg.fixed_point_gain(act.relu, points=10)


def test_fixed_point_gain_keeps_unit_variance_through_a_wide_layer(key):
    # Monte Carlo check of the definition for a non-homogeneous unit (ELU).
    g = reg.get("elu").gain
    kz, kw = jax.random.split(key)
    z = jax.random.normal(kz, (4096, 512))
    w = jax.random.normal(kw, (512, 512)) * g / np.sqrt(512)
    assert float(jnp.var(act.elu(z) @ w.T)) == pytest.approx(1.0, abs=0.03)


def test_registry_gains_are_fixed_point_gains_except_sigmoid_tanh():
    for name, entry in reg.REGISTRY.items():
        if name in ("sigmoid", "tanh"):  # torch.nn.init.calculate_gain's values
            continue
        assert entry.gain == pytest.approx(reg.fixed_point_gain(entry.fn), rel=1e-4), (
            name
        )
    assert reg.get("relu").gain == pytest.approx(np.sqrt(2))
    assert reg.get("selu").gain == pytest.approx(1.0, rel=1e-5)


def test_registry_has_every_activation_of_the_issue():
    expected = {"sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "elu", "selu",
                "gelu", "silu", "softplus", "relu6", "hard_swish", "mish"}  # fmt: skip
    assert set(reg.names()) == expected


def test_registry_saturating_flag_matches_measured_tails():
    for name, entry in reg.REGISTRY.items():
        tails = jnp.abs(entry.grad(jnp.array([-50.0, 50.0])))
        assert entry.saturating == bool(jnp.all(tails < 1e-6)), name


def test_registry_kinks_are_exactly_where_the_derivative_jumps():
    x = jnp.linspace(-10, 10, 20001)  # step 1e-3
    for name, entry in reg.REGISTRY.items():
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
    for name, entry in reg.REGISTRY.items():
        assert entry.label and entry.authors and entry.formula, name
        parser.parse(f"${entry.formula}$")


def test_tabulate_equals_each_function_and_derivative():
    x = jnp.linspace(-6, 8, 141)
    values, slopes = reg.tabulate(x)
    assert values.shape == slopes.shape == (len(reg.names()), 141)
    for a, entry in enumerate(reg.REGISTRY.values()):
        np.testing.assert_allclose(values[a], entry.fn(x), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(slopes[a], entry.grad(x), rtol=1e-6, atol=1e-7)
    rows = jnp.stack([x, 2 * x])
    v2, s2 = reg.tabulate(rows, ("elu", "gelu"))
    np.testing.assert_allclose(v2[1], gated.gelu(2 * x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s2[0], act.elu_grad(x), rtol=1e-6)
    with pytest.raises(ValueError, match="x must be"):
        reg.tabulate(jnp.ones((3, 4)), ("elu", "gelu"))
    with pytest.raises(ValueError, match="activation must be one of"):
        reg.tabulate(x, ("elu", "nope"))
