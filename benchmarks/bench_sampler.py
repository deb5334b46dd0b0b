"""Minibatch draws: one shuffle per epoch against one per step.

    .venv/bin/python benchmarks/bench_sampler.py [--n 1348] [--batch 64] [--steps 1500]
        [--runs 21]

Times ``runs`` vmapped runs of ``steps`` minibatch draws inside one ``lax.scan``, as the
training loop makes them: :func:`gradcourse.data.minibatches` (shuffled epochs, the
loop's sampler since 2026-12-06) against the per-step draw it replaced,
``jax.random.choice(key, n, (batch,), replace=False)`` at every step (a full shuffle of
``n`` for every minibatch). The defaults are the autoencoder case study's: 1,348 training
digits, minibatches of 64, 1,500 steps, 21 runs.
"""

from __future__ import annotations

import argparse
import time

import gradcourse as gc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1348)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    gc.setup(cache=False)
    import jax
    import jax.numpy as jnp

    n, batch, steps = args.n, args.batch, args.steps

    def per_step(key: jax.Array) -> jax.Array:
        def draw(total, k):
            return total + jax.random.choice(k, n, (batch,), replace=False).sum(), None

        return jax.lax.scan(draw, jnp.int32(0), jax.random.split(key, steps))[0]

    def epochs(key: jax.Array) -> jax.Array:
        def take(total, idx):
            return total + idx.sum(), None

        batches = gc.data.minibatches(key, n, batch, steps)
        return jax.lax.scan(take, jnp.int32(0), batches)[0]

    keys = jax.random.split(jax.random.key(0), args.runs)
    times = {}
    for name, draw in (("per step", per_step), ("shuffled epochs", epochs)):
        run = jax.jit(jax.vmap(draw))
        run(keys).block_until_ready()  # compile
        start = time.perf_counter()
        run(keys).block_until_ready()
        times[name] = time.perf_counter() - start
    print(f"{args.runs} runs x {steps} draws of {batch} from {n}:")
    for name, t in times.items():
        print(f"  {name:16s} {t:7.3f} s")
    print(
        f"  per step / shuffled epochs: {times['per step'] / times['shuffled epochs']:.0f}x"
    )


if __name__ == "__main__":
    main()
