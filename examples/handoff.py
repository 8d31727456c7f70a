"""When you outgrow autonet: train the digits CNN here, hand it to PyTorch and train on there,
then export it to ONNX and score it with ONNX Runtime. Prints the three test accuracies side
by side.

    python examples/handoff.py            # 15 epochs in autonet, 1 in PyTorch: a few seconds
    python examples/handoff.py --fast     # 2 epochs in autonet: only shows that it runs

Needs the extras: pip install "autonet[torch,onnx]" (PyTorch, onnx and onnxruntime).

1. autonet: the CNN of ``digits_cnn.py``, trained with Adam.
2. PyTorch: ``to_torch(model)`` and ``to_torch(optimizer)`` give the same network with the same
   weights and Adam's moments and step counts, so training goes on exactly where it stopped:
   one more epoch, written as any PyTorch loop (on a GPU or many, see the README).
3. ONNX: ``from_torch`` brings the trained weights back, ``an.onnx.export`` writes the graph
   autonet records for one batch (the batch axis dynamic), and ONNX Runtime scores the test set
   in one call, with no autonet or PyTorch involved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from digits_cnn import make_model  # the same CNN as examples/digits_cnn.py (next to this file)

import autonet as an
from autonet.interop import from_torch, to_torch


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean())


def main(epochs: int = 15, seed: int = 0, onnx_path: str | None = None) -> dict[str, float]:
    """Train, hand over, export; return the three test accuracies."""
    import onnxruntime
    import torch

    an.manual_seed(seed)
    torch.manual_seed(seed)
    X, y = an.data.load_digits()
    X = X.reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = an.data.train_test_split(X, y, test_size=0.2, seed=seed)
    labels = y_test.numpy()
    results: dict[str, float] = {}

    # 1. autonet
    start = time.perf_counter()
    model = make_model()
    optimizer = an.optim.Adam(model.parameters(), lr=2e-3)
    an.train.fit(model, (X_train, y_train), loss="cross_entropy", optimizer=optimizer,
                 epochs=epochs, batch_size=32, verbose=False)  # fmt: skip
    model.eval()
    with an.no_grad():
        results["autonet"] = accuracy(model(X_test).numpy(), labels)
    print(f"autonet:      {epochs} epochs in {time.perf_counter() - start:.1f} s")

    # 2. PyTorch: the same model and optimizer state, one epoch more
    start = time.perf_counter()
    net = to_torch(model.train())
    adam = to_torch(optimizer)  # Adam's moments and step counts come along
    inputs, targets = torch.from_numpy(X_train.numpy()), torch.from_numpy(y_train.numpy())
    for batch in torch.randperm(len(inputs)).split(32):
        loss = torch.nn.functional.cross_entropy(net(inputs[batch]), targets[batch])
        adam.zero_grad()
        loss.backward()
        adam.step()
    net.eval()
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(X_test.numpy())).numpy()
    results["PyTorch"] = accuracy(torch_logits, labels)
    print(f"PyTorch:      1 epoch more in {time.perf_counter() - start:.1f} s "
          f"(Adam at step {int(adam.state[net[0].weight]['step'])})")  # fmt: skip

    # 3. ONNX: the weights trained in PyTorch, exported from autonet's recorded graph
    start = time.perf_counter()
    folder = None if onnx_path else tempfile.TemporaryDirectory()
    path = Path(onnx_path) if onnx_path else Path(folder.name) / "digits_cnn.onnx"
    trained = from_torch(net)
    an.onnx.export(trained, X_test[:2], path, input_names=["images"], output_names=["logits"],
                   dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})  # fmt: skip
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(None, {"images": X_test.numpy()})  # all 360 images at once
    results["ONNX Runtime"] = accuracy(onnx_logits, labels)
    print(f"ONNX Runtime: exported and scored in {time.perf_counter() - start:.1f} s "
          f"({path.stat().st_size / 1024:.0f} kB; logits within "
          f"{np.abs(onnx_logits - torch_logits).max():.1e} of PyTorch's)")  # fmt: skip
    if folder is not None:
        folder.cleanup()

    print("\ntest accuracy:  " + "   ".join(f"{k} {v:.2%}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="epochs in autonet")
    parser.add_argument("--fast", action="store_true", help="2 epochs, to check that it runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--onnx", help="write the ONNX file here (default: a temporary folder)")
    args = parser.parse_args()
    main(2 if args.fast else args.epochs, args.seed, args.onnx)
