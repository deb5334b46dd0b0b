"""The long-memory table of the gated-recurrent chapter, at a size the chapter cannot afford.

    .venv/bin/python benchmarks/recurrent_memory_sweep.py [--seeds 5] [--steps 300]
        [--lags 5,20,50] [--length 60]

Trains every model of ``book/gated_recurrent_networks.ipynb`` on the recall task
(:func:`gradcourse.experiments.recurrent.recall_task`) for each lag and seed, prints the
median test accuracy and its range over seeds, and the CPU time each model took.
"""

from __future__ import annotations

import argparse
import time

import gradcourse as gc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lags", default="5,20,50")
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1e-2)
    args = parser.parse_args()
    gc.setup(cache=False)
    import jax
    import numpy as np
    import optax

    cell, init = gc.recurrent.Cell, gc.recurrent.RecurrentInit
    model = gc.experiments.gated_recurrent_networks.Model
    models = (
        model("tanh RNN, Gaussian", cell("elman", 32, 8)),
        model("tanh RNN, orthogonal", cell("elman", 32, 8), init("orthogonal")),
        model("IRNN (ReLU, identity)", cell("elman", 32, 8, "relu"), init("identity")),
        model("LSTM, b_f = 0", cell("lstm", 32, 8), init(forget_bias=0.0)),
        model("LSTM, b_f = 1", cell("lstm", 32, 8), init(forget_bias=1.0)),
        model("GRU", cell("gru", 32, 8)),
    )
    lags = tuple(int(g) for g in args.lags.split(","))
    print(f"{'median (range) over seeds':28s}" + "".join(f"lag {g:<14d}" for g in lags))
    for m in models:
        start = time.process_time()
        sweep = gc.experiments.gated_recurrent_networks.memory_sweep(
            jax.random.key(0),
            (m,),
            lags,
            seeds=args.seeds,
            steps=args.steps,
            length=args.length,
            optimizer=optax.adam(args.lr),
        )
        acc = np.asarray(sweep.accuracy[0])
        cells = [f"{np.median(a):.2f} ({a.min():.2f}-{a.max():.2f})" for a in acc]
        cpu = time.process_time() - start
        print(
            f"{m.name:28s}" + "".join(f"{c:18s}" for c in cells) + f"cpu {cpu:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
