"""XOR with the classic 2-2-1 sigmoid network, trained with mean squared error.

    python examples/xor.py              # train both variants, then ask for inputs
    python examples/xor.py --no-prompt  # train and exit
    python examples/xor.py --no-prompt --plot plots --animate xor.gif

The four rows (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0 cannot be separated by one line, so the network
needs its hidden layer. A third input x·y makes the problem linearly separable, and the network
converges much faster: both variants are trained and the epochs they needed are printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import autonet as an

# The goal is outputs below 0.05 for the false rows and above 0.95 for the true ones; training
# stops a little beyond it, so that the three printed decimals show the goal met.
FALSE_BELOW, TRUE_ABOVE = 0.045, 0.955


def solved(net: an.nn.Module, X: an.Tensor, y: an.Tensor) -> bool:
    """Outputs below 0.05 for the false rows and above 0.95 for the true rows."""
    out = an.train.predict(net, X).numpy().ravel()
    truth = y.numpy().ravel()
    return bool(
        ((out < FALSE_BELOW) == (truth == 0)).all() and ((out > TRUE_ABOVE) == (truth == 1)).all()
    )


def setup(with_product: bool, seed: int) -> tuple[an.nn.Module, Callable[[], float]]:
    """The 2-2-1 (or 3-2-1) sigmoid network, and a function that trains it for one epoch
    (the four rows at once) and returns the loss."""
    an.manual_seed(seed)
    X, y = an.data.xor(with_product=with_product)
    net = an.nn.MLP(X.shape[1], [2], 1, activation="sigmoid", output_activation="sigmoid")
    optimizer = an.optim.SGD(net.parameters(), lr=2.0, momentum=0.9)
    loss_fn = an.nn.MSELoss()

    def epoch() -> float:
        loss = loss_fn(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return net, epoch


def train(with_product: bool, max_epochs: int = 5000, seed: int = 0) -> tuple[an.nn.Module, int]:
    """Train until every output is on the right side of its threshold; return the network and
    the number of epochs it took."""
    net, epoch = setup(with_product, seed)
    X, y = an.data.xor(with_product=with_product)
    for n in range(1, max_epochs + 1):
        epoch()
        if solved(net, X, y):
            return net, n
    raise RuntimeError(f"XOR not learned in {max_epochs} epochs (seed {seed})")


def plot(net: an.nn.Module, folder: str) -> None:
    """The learned decision boundary and the output surface, as PNG files."""
    from autonet.viz import plot_decision_boundary, plot_surface

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    X, y = an.data.xor()
    plot_decision_boundary(net, X, y).savefig(out / "xor_boundary.png", dpi=80)
    plot_surface(net, X, y).savefig(out / "xor_surface.png", dpi=80)
    print(f"   plots written to {out / 'xor_boundary.png'} and {out / 'xor_surface.png'}")


def animate(path: str, seed: int, epochs: int = 300) -> None:
    """A GIF of the 2-2-1 network learning: its boundary and its loss, epoch by epoch."""
    from autonet.viz import animate_training

    net, epoch = setup(False, seed)
    X, y = an.data.xor()
    written = animate_training(net, X, y, lambda _: epoch(), epochs, path, every=10)
    print(f"   animation written to {written}")


def report(net: an.nn.Module, with_product: bool) -> None:
    X, _ = an.data.xor(with_product=with_product)
    out = an.train.predict(net, X).numpy().ravel()
    for row, value in zip(X.numpy(), out):
        print(f"   {int(row[0])} xor {int(row[1])} -> {value:.3f}")


def ask(predict: Callable[[float, float], float], read: Callable[[str], str] = input) -> None:
    """Ask for x and y, on one line ("0 1") or one at a time, until the user types q (or ends
    the input); print the prediction."""
    print("Type two inputs, as 0 1 or one at a time, to see the network's answer (q to quit).")
    while True:
        try:
            values: list[float] = []
            while len(values) < 2:
                text = read("x: " if not values else "y: ").strip()
                if text.lower() in ("q", "quit", "exit"):
                    return
                numbers = parse_numbers(text)
                wanted = "two numbers such as 0 1" if not values else "a number such as 0"
                if numbers is None:
                    print(f"   {text!r} is not a number; type {wanted}, or q")
                elif len(values) + len(numbers) > 2:
                    print(f"   {text!r} is too many numbers; type {wanted}, or q")
                else:
                    values += numbers
            print(f"   {values[0]:g} xor {values[1]:g} -> {predict(*values):.3f}")
        except (EOFError, KeyboardInterrupt):
            print()
            return


def parse_numbers(text: str) -> list[float] | None:
    """The numbers in ``text``, separated by spaces or a comma ("0 1", "0, 1", "1"), or None
    if something in it is not a number."""
    try:
        return [float(word) for word in text.replace(",", " ").split()]
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-prompt", action="store_true", help="train, report and exit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="DIR", help="save the boundary and surface plots here")
    parser.add_argument("--animate", metavar="GIF", help="save an animation of training here")
    args = parser.parse_args(argv)

    print("2-2-1 sigmoid network on XOR (inputs x, y):")
    net, epochs = train(with_product=False, seed=args.seed)
    report(net, False)
    print(f"   learned in {epochs} epochs")

    print("The same network with a third input x*y:")
    net3, epochs3 = train(with_product=True, seed=args.seed)
    report(net3, True)
    print(f"   learned in {epochs3} epochs ({epochs / epochs3:.1f}x faster)")
    if args.plot:
        plot(net, args.plot)
    if args.animate:
        animate(args.animate, args.seed)

    if not args.no_prompt:

        def predict(x: float, y: float) -> float:
            return an.train.predict(net, an.tensor([[x, y]])).item()

        ask(predict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
