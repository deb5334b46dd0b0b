"""Tests of gradcourse.leaky (leaky ReLU, PReLU, RReLU) beyond the shared cases of
tests/test_activations.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

leaky = gc.leaky


def test_prelu_slope_is_unconstrained_and_its_gradient_matches_jax_grad():
    x = jnp.array([[-2.0, 0.5, -1.0], [3.0, -0.25, 0.0]])
    alpha = jnp.array([-0.5, 0.25, 1.7])  # one slope per channel, outside (0, 1) too
    np.testing.assert_allclose(leaky.prelu(x, alpha), jnp.where(x >= 0, x, alpha * x))
    jac = jax.jacobian(lambda a: leaky.prelu(x, a))(
        alpha
    )  # (2, 3, 3), diagonal in channel
    np.testing.assert_allclose(
        jnp.einsum("bcc->bc", jac), leaky.prelu_grad_alpha(x, alpha)
    )
    assert leaky.PRELU_INIT == 0.25


def test_leaky_relu_rejects_slope_outside_unit_interval():
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="negative_slope"):
            leaky.leaky_relu(1.0, negative_slope=bad)
        with pytest.raises(ValueError, match="negative_slope"):
            leaky.leaky_relu_grad(1.0, negative_slope=bad)


def test_rrelu_rejects_bad_bounds_and_convention():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        leaky.RReLUConvention(0.4, 0.1)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        leaky.RReLUConvention(8.0, 3.0, divide=True)
    with pytest.raises(ValueError, match="lower"):
        leaky.RReLUConvention(-0.1, 0.3)
    with pytest.raises(ValueError, match="lower"):
        leaky.RReLUConvention(0.0, 8.0, divide=True)  # would divide by zero
    with pytest.raises(ValueError, match="convention"):
        leaky.rrelu(1.0, convention="keras")
    # Other bounds: the same functions, with the convention given as a value.
    wide = leaky.RReLUConvention(0.1, 0.5)
    assert leaky.rrelu_eval_slope(wide) == pytest.approx(0.3, rel=1e-15)
    slopes = -leaky.rrelu(-jnp.ones(1000), jax.random.key(0), wide)
    assert 0.1 <= float(slopes.min()) and float(slopes.max()) <= 0.5


def test_rrelu_eval_slopes_of_both_conventions():
    assert leaky.rrelu_eval_slope() == pytest.approx(11 / 48, rel=1e-15)
    assert leaky.rrelu_eval_slope(convention="paper") == pytest.approx(
        2 / 11, rel=1e-15
    )
    x = jnp.linspace(-5, 5, 101)
    np.testing.assert_allclose(leaky.rrelu(x), leaky.leaky_relu(x, 11 / 48), rtol=1e-6)
    np.testing.assert_allclose(
        leaky.rrelu(x, convention="paper"), jnp.where(x >= 0, x, x / 5.5), rtol=1e-6
    )


def test_rrelu_training_slopes_come_from_the_key(key):
    x = -jnp.ones((200_000,))
    k1, k2 = jax.random.split(key)
    y1, y1_again, y2 = leaky.rrelu(x, k1), leaky.rrelu(x, k1), leaky.rrelu(x, k2)
    np.testing.assert_array_equal(y1, y1_again)
    assert not bool(jnp.all(y1 == y2))
    slopes = -y1
    assert float(slopes.min()) >= 1 / 8 and float(slopes.max()) <= 1 / 3
    # Mean of U(1/8, 1/3): standard error sd/sqrt(n) = 0.06/447 ~ 1.4e-4.
    assert float(slopes.mean()) == pytest.approx(11 / 48, abs=6e-4)
    paper = -leaky.rrelu(x, k1, convention="paper")
    assert float(paper.min()) >= 1 / 8 and float(paper.max()) <= 1 / 3
    # The paper's training slope 1/a has mean ln(8/3)/5 = 0.196, not the test slope 2/11.
    assert float(paper.mean()) == pytest.approx(np.log(8 / 3) / 5, abs=6e-4)
    assert abs(float(paper.mean()) - 2 / 11) > 0.01


def test_rrelu_training_grad_uses_the_same_slopes(key):
    x = jax.random.normal(key, (64,)).at[0].set(0.0)
    k = jax.random.fold_in(key, 1)
    for convention in ("pytorch", "paper"):
        jac = jax.jacobian(lambda v, c=convention: leaky.rrelu(v, k, convention=c))(x)
        np.testing.assert_allclose(
            jnp.diag(jac), leaky.rrelu_grad(x, k, convention=convention), rtol=1e-6
        )
        np.testing.assert_array_equal(jac - jnp.diag(jnp.diag(jac)), 0.0)
    np.testing.assert_array_equal(leaky.rrelu(jnp.abs(x), k), jnp.abs(x))
