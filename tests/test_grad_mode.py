"""Grad mode: per thread and per asyncio task, as decorators (generators included), the plain
``set_grad_enabled`` call; and the small surprises next to it (``grad_outputs`` given as one
tensor, ``max``/``min`` with ``dim=`` giving values and indices)."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import autonet as an

STEPS = 400  # per thread: enough to interleave, small enough for two slow cores


# ---- helpers --------------------------------------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Let the interpreter switch threads every 10 µs instead of every 5 ms, so that two
    threads interleave within each training step, not only between steps."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def run_threads(barrier: threading.Barrier | None, *workers: Callable[[], None]) -> None:
    """Run each worker in a thread of its own and wait for all; an error in one aborts the
    barrier (so the others stop waiting) and fails the test with every error seen."""
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as e:
            errors.append(e)
            if barrier is not None:
                barrier.abort()

    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert errors == []


class LinearRegression:
    """A tiny least-squares problem, trained one fresh leaf per step, whose gradient has a
    closed form: d/dw mean((Xw - t)²) = (2/n) Xᵀ(Xw - t)."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.X = rng.normal(size=(8, 3))  # (n, features)
        self.t = rng.normal(size=8)  # (n,)
        self.w = np.zeros(3)
        self.X_tensor = an.tensor(self.X, dtype=an.float64)
        self.t_tensor = an.tensor(self.t, dtype=an.float64)

    def expected_gradient(self) -> np.ndarray:
        return 2 / len(self.t) * self.X.T @ (self.X @ self.w - self.t)

    def step(self) -> str | None:
        """One recorded forward and backward pass and an update; what went wrong, if any."""
        w = an.tensor(self.w, dtype=an.float64, requires_grad=True)
        loss = ((self.X_tensor @ w - self.t_tensor) ** 2).mean()
        if not loss.requires_grad:
            return "the loss was not recorded"
        loss.backward()
        expected = self.expected_gradient()
        if not np.allclose(w.grad.numpy(), expected, rtol=1e-12, atol=1e-14):
            return f"gradient {w.grad.numpy()} instead of {expected}"
        self.w = self.w - 0.05 * expected
        return None


# ---- per thread -----------------------------------------------------------------------------


def test_two_threads_training_at_once_get_exact_gradients(fast_switching):
    barrier = threading.Barrier(2, timeout=30)
    mismatches: list[tuple[int, int, str]] = []

    def train(seed: int) -> None:
        model = LinearRegression(seed)
        for step in range(STEPS):
            barrier.wait()  # both threads run each step together
            problem = model.step()
            if problem is not None:
                mismatches.append((seed, step, problem))

    run_threads(barrier, lambda: train(1), lambda: train(2))
    assert mismatches == []


def test_no_grad_in_one_thread_leaves_recording_on_in_the_other(fast_switching):
    barrier = threading.Barrier(2, timeout=30)
    mismatches: list[tuple[int, str]] = []
    evaluation: list[tuple[bool, bool]] = []  # (mode, prediction recorded) inside no_grad

    def train() -> None:
        model = LinearRegression(1)
        for step in range(STEPS):
            barrier.wait()  # the other thread is now inside no_grad ...
            problem = model.step()
            if problem is not None:
                mismatches.append((step, problem))
            barrier.wait()  # ... until this step is done

    def evaluate() -> None:
        model = LinearRegression(2)
        w = an.tensor(np.ones(3), dtype=an.float64, requires_grad=True)
        for _ in range(STEPS):
            with an.no_grad():
                barrier.wait()
                prediction = ((model.X_tensor @ w - model.t_tensor) ** 2).mean()
                evaluation.append((an.is_grad_enabled(), prediction.requires_grad))
                barrier.wait()

    run_threads(barrier, train, evaluate)
    assert mismatches == []
    assert evaluation == [(False, False)] * STEPS


def test_overlapping_no_grad_blocks_in_two_threads_each_restore_their_own_mode():
    # A enters, B enters, A exits (B still off, A on), B exits; the main thread watches.
    barrier = threading.Barrier(3, timeout=30)
    seen: dict[str, bool] = {}

    def thread_a() -> None:
        with an.no_grad():
            seen["A inside"] = an.is_grad_enabled()
            barrier.wait()  # 1: A is in
            barrier.wait()  # 2: B is in
        seen["A after its exit"] = an.is_grad_enabled()
        barrier.wait()  # 3: A is out
        barrier.wait()  # 4: B is out
        seen["A at the end"] = an.is_grad_enabled()

    def thread_b() -> None:
        barrier.wait()  # 1
        with an.no_grad():
            barrier.wait()  # 2
            barrier.wait()  # 3
            seen["B inside, after A's exit"] = an.is_grad_enabled()
        seen["B after its exit"] = an.is_grad_enabled()
        barrier.wait()  # 4

    def main_thread() -> None:
        for phase in range(1, 5):
            barrier.wait()
            seen[f"main at {phase}"] = an.is_grad_enabled()

    run_threads(barrier, thread_a, thread_b, main_thread)
    assert seen == {
        "A inside": False,
        "A after its exit": True,
        "A at the end": True,
        "B inside, after A's exit": False,
        "B after its exit": True,
        "main at 1": True,
        "main at 2": True,
        "main at 3": True,
        "main at 4": True,
    }


def test_backward_in_one_thread_leaves_recording_on_in_another():
    # A hook stops each backward pass halfway, while the other thread looks at its mode.
    barrier = threading.Barrier(2, timeout=30)
    inside_backward: list[bool] = []
    other_thread: list[tuple[bool, bool]] = []  # (mode, operation recorded)

    def pause(g: an.Tensor) -> None:
        inside_backward.append(an.is_grad_enabled())
        barrier.wait()  # the other thread checks now
        barrier.wait()

    def run_backward() -> None:
        for _ in range(STEPS):
            x = an.tensor([1.0, 2.0], requires_grad=True)
            h = x * x
            h.register_hook(pause)
            (h * 3).sum().backward()

    def watch() -> None:
        w = an.tensor([1.0, 2.0], requires_grad=True)
        for _ in range(STEPS):
            barrier.wait()
            other_thread.append((an.is_grad_enabled(), (w * 2).requires_grad))
            barrier.wait()

    run_threads(barrier, run_backward, watch)
    assert inside_backward == [False] * STEPS  # the backward pass does not record itself
    assert other_thread == [(True, True)] * STEPS


def test_set_grad_enabled_called_in_a_thread_leaves_the_main_thread_on():
    seen: list[bool] = []

    def switch_off() -> None:
        an.set_grad_enabled(False)
        seen.append(an.is_grad_enabled())

    run_threads(None, switch_off)
    assert seen == [False]
    assert an.is_grad_enabled()


def test_a_thread_started_inside_no_grad_starts_with_recording_on():
    # As in PyTorch: the mode belongs to the thread; a new thread begins with the default.
    seen: list[bool] = []
    with an.no_grad():
        run_threads(None, lambda: seen.append(an.is_grad_enabled()))
    assert seen == [True]


def test_one_no_grad_object_used_by_two_threads_at_once_keeps_each_threads_mode():
    # One module-level context manager shared by threads (as PyTorch allows): A leaves the
    # block while B is still inside it.
    shared = an.no_grad()
    barrier = threading.Barrier(2, timeout=30)
    seen: dict[str, bool] = {}

    def thread_a() -> None:
        with shared:
            barrier.wait()  # 1: A is in
            barrier.wait()  # 2: B is in
        seen["A after its exit"] = an.is_grad_enabled()
        barrier.wait()  # 3: A is out

    def thread_b() -> None:
        barrier.wait()  # 1
        with shared:
            barrier.wait()  # 2
            barrier.wait()  # 3
            seen["B inside, after A's exit"] = an.is_grad_enabled()
        seen["B after its exit"] = an.is_grad_enabled()

    run_threads(barrier, thread_a, thread_b)
    assert seen == {
        "A after its exit": True,
        "B inside, after A's exit": False,
        "B after its exit": True,
    }


# ---- per asyncio task -----------------------------------------------------------------------


def test_asyncio_tasks_each_see_their_own_mode():
    seen: dict[str, bool] = {}

    async def evaluating(entered: asyncio.Event, recorded: asyncio.Event) -> None:
        w = an.tensor([1.0, 2.0], requires_grad=True)
        with an.no_grad():
            entered.set()
            await recorded.wait()  # the other task runs while this one is inside no_grad
            seen["evaluating: mode"] = an.is_grad_enabled()
            seen["evaluating: recorded"] = (w * 2).requires_grad

    async def training(entered: asyncio.Event, recorded: asyncio.Event) -> None:
        w = an.tensor([1.0, 2.0], requires_grad=True)
        await entered.wait()
        seen["training: mode"] = an.is_grad_enabled()
        seen["training: recorded"] = (w * 2).requires_grad
        recorded.set()

    async def main() -> None:
        entered, recorded = asyncio.Event(), asyncio.Event()
        await asyncio.gather(evaluating(entered, recorded), training(entered, recorded))

    asyncio.run(main())
    assert seen == {
        "evaluating: mode": False,
        "evaluating: recorded": False,
        "training: mode": True,
        "training: recorded": True,
    }


def test_set_grad_enabled_called_in_an_asyncio_task_stays_in_that_task():
    seen: dict[str, bool] = {}

    async def switching_off(switched: asyncio.Event, looked: asyncio.Event) -> None:
        an.set_grad_enabled(False)
        switched.set()
        await looked.wait()
        seen["switching task"] = an.is_grad_enabled()

    async def other(switched: asyncio.Event, looked: asyncio.Event) -> None:
        await switched.wait()
        seen["other task"] = an.is_grad_enabled()
        looked.set()

    async def main() -> None:
        switched, looked = asyncio.Event(), asyncio.Event()
        await asyncio.gather(switching_off(switched, looked), other(switched, looked))

    asyncio.run(main())
    assert seen == {"switching task": False, "other task": True}
    assert an.is_grad_enabled()


# ---- decorators on plain functions ----------------------------------------------------------


def test_no_grad_decorator_turns_recording_off_inside_the_call_only():
    w = an.tensor([1.0, 2.0], requires_grad=True)

    @an.no_grad()
    def double(t: an.Tensor) -> tuple[an.Tensor, bool]:
        return t * 2, an.is_grad_enabled()

    y, mode = double(w)
    assert (mode, y.requires_grad) == (False, False)
    assert y.tolist() == [2.0, 4.0]
    assert an.is_grad_enabled()


def test_enable_grad_decorator_records_when_called_inside_no_grad():
    w = an.tensor([1.0, 2.0], requires_grad=True)

    @an.enable_grad()
    def double(t: an.Tensor) -> an.Tensor:
        return t * 2

    with an.no_grad():
        y = double(w)
        assert not an.is_grad_enabled()
    assert y.requires_grad


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_decorator_sets_the_mode_inside_the_call(mode):
    @an.set_grad_enabled(mode)
    def current() -> bool:
        return an.is_grad_enabled()

    with an.set_grad_enabled(not mode):
        assert current() is mode
        assert an.is_grad_enabled() is (not mode)


def test_a_decorated_function_that_raises_restores_the_mode():
    @an.no_grad()
    def fail() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail()
    assert an.is_grad_enabled()


@pytest.mark.parametrize("decorator", [an.no_grad, an.enable_grad])
def test_decorators_keep_the_functions_name_and_docstring(decorator):
    def scale(t: an.Tensor) -> an.Tensor:
        """Twice t."""
        return t * 2

    def numbers() -> Iterator[int]:
        """Counts."""
        yield 1

    wrapped, wrapped_generator = decorator()(scale), decorator()(numbers)
    assert (wrapped.__name__, wrapped.__doc__) == ("scale", "Twice t.")
    assert (wrapped_generator.__name__, wrapped_generator.__doc__) == ("numbers", "Counts.")
    assert wrapped.__wrapped__ is scale
    assert inspect.isgeneratorfunction(wrapped_generator)


# ---- decorators on generator functions ------------------------------------------------------


def test_no_grad_generator_records_nothing_at_any_step_while_the_caller_records():
    w = an.tensor([1.0, 2.0], requires_grad=True)

    @an.no_grad()
    def doubles(n: int) -> Iterator[tuple[bool, an.Tensor]]:
        for _ in range(n):
            yield an.is_grad_enabled(), w * 2

    steps = []
    for mode, y in doubles(3):
        steps.append((mode, y.requires_grad, (w * 3).requires_grad))  # the caller records
    assert steps == [(False, False, True)] * 3


def test_a_generators_mode_does_not_leak_to_its_caller_between_steps():
    @an.enable_grad()
    def modes() -> Iterator[bool]:
        while True:
            yield an.is_grad_enabled()

    seen = []
    gen = modes()
    with an.no_grad():
        for _ in range(3):
            seen.append((next(gen), an.is_grad_enabled()))  # (inside, caller between steps)
    seen.append((next(gen), an.is_grad_enabled()))
    gen.close()
    assert seen == [(True, False)] * 3 + [(True, True)]


def test_send_reaches_a_decorated_generator_and_runs_inside_its_mode():
    @an.no_grad()
    def running_total() -> Iterator[tuple[float, bool]]:
        total = 0.0
        while True:
            value = yield total, an.is_grad_enabled()
            total += value

    gen = running_total()
    assert next(gen) == (0.0, False)
    assert gen.send(2.0) == (2.0, False)
    assert gen.send(3.5) == (5.5, False)
    assert an.is_grad_enabled()
    gen.close()


def test_throw_reaches_a_decorated_generator_and_is_handled_inside_its_mode():
    @an.no_grad()
    def resilient() -> Iterator[str]:
        while True:
            try:
                yield "ready"
            except ValueError as e:
                yield f"caught {e} with mode {an.is_grad_enabled()}"

    gen = resilient()
    assert next(gen) == "ready"
    assert gen.throw(ValueError("boom")) == "caught boom with mode False"
    assert next(gen) == "ready"
    assert an.is_grad_enabled()
    gen.close()


def test_throw_that_the_generator_does_not_catch_reaches_the_caller():
    @an.no_grad()
    def numbers() -> Iterator[int]:
        yield 1
        yield 2

    gen = numbers()
    next(gen)
    with pytest.raises(KeyError, match="lost"):
        gen.throw(KeyError("lost"))
    with pytest.raises(StopIteration):
        next(gen)
    assert an.is_grad_enabled()


def test_close_finishes_a_decorated_generator():
    finished: list[bool] = []

    @an.no_grad()
    def numbers() -> Iterator[int]:
        try:
            yield 1
            yield 2
        finally:
            finished.append(True)

    gen = numbers()
    next(gen)
    gen.close()
    assert finished == [True]
    with pytest.raises(StopIteration):
        next(gen)
    assert an.is_grad_enabled()


def test_an_error_in_the_generators_clean_up_reaches_the_caller_of_close():
    @an.no_grad()
    def numbers() -> Iterator[int]:
        try:
            yield 1
        finally:
            raise KeyError("clean-up failed")

    gen = numbers()
    next(gen)
    with pytest.raises(KeyError, match="clean-up failed"):
        gen.close()
    assert an.is_grad_enabled()


def test_close_runs_the_generators_clean_up_inside_its_mode():
    # As in PyTorch, whose wrapper closes the generator inside the mode.
    w = an.tensor([1.0, 2.0], requires_grad=True)
    clean_up: list[tuple[bool, bool]] = []

    @an.no_grad()
    def numbers() -> Iterator[int]:
        try:
            yield 1
            yield 2
        finally:
            clean_up.append((an.is_grad_enabled(), (w * 2).requires_grad))

    gen = numbers()
    next(gen)
    gen.close()
    assert clean_up == [(False, False)]
    assert an.is_grad_enabled()


def test_the_return_value_of_a_decorated_generator_passes_through():
    @an.no_grad()
    def counted() -> Iterator[int]:
        yield 1
        return 42

    gen = counted()
    next(gen)
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == 42

    def delegating() -> Iterator[int]:
        result = yield from counted()
        yield result

    assert list(delegating()) == [1, 42]


def test_set_grad_enabled_decorator_on_a_generator_holds_at_every_step():
    @an.set_grad_enabled(False)
    def modes() -> Iterator[bool]:
        for _ in range(3):
            yield an.is_grad_enabled()

    assert an.is_grad_enabled()  # decorating changed nothing
    seen = [(inside, an.is_grad_enabled()) for inside in modes()]
    assert seen == [(False, True)] * 3


# ---- set_grad_enabled as a call, a with-block and a decorator -------------------------------


def test_set_grad_enabled_as_a_plain_call_switches_at_once():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    try:
        an.set_grad_enabled(False)
        off = (an.is_grad_enabled(), (w * 2).requires_grad)
        an.set_grad_enabled(True)
        on = (an.is_grad_enabled(), (w * 2).requires_grad)
    finally:
        an.set_grad_enabled(True)
    assert off == (False, False)
    assert on == (True, True)


def test_set_grad_enabled_in_a_with_block_restores_the_previous_mode():
    seen = []
    with an.no_grad():
        with an.set_grad_enabled(True):
            seen.append(an.is_grad_enabled())
        seen.append(an.is_grad_enabled())
    seen.append(an.is_grad_enabled())
    with an.set_grad_enabled(False):
        seen.append(an.is_grad_enabled())
    seen.append(an.is_grad_enabled())
    assert seen == [True, False, True, False, True]


def test_set_grad_enabled_in_a_with_block_restores_the_mode_when_the_block_raises():
    with pytest.raises(ZeroDivisionError), an.set_grad_enabled(False):
        raise ZeroDivisionError
    assert an.is_grad_enabled()


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_as_a_decorator_leaves_the_mode_alone_at_decoration(mode):
    before = []
    with an.set_grad_enabled(not mode):
        before.append(an.is_grad_enabled())

        @an.set_grad_enabled(mode)
        def f() -> None:
            pass

        before.append(an.is_grad_enabled())
    assert before == [not mode, not mode]
    assert an.is_grad_enabled()


def test_nested_with_blocks_restore_each_level():
    seen = []
    with an.no_grad():
        seen.append(an.is_grad_enabled())
        with an.enable_grad():
            seen.append(an.is_grad_enabled())
            with an.set_grad_enabled(False):
                seen.append(an.is_grad_enabled())
                with an.set_grad_enabled(True):
                    seen.append(an.is_grad_enabled())
                seen.append(an.is_grad_enabled())
            seen.append(an.is_grad_enabled())
        seen.append(an.is_grad_enabled())
    seen.append(an.is_grad_enabled())
    assert seen == [False, True, False, True, False, True, False, True]


def test_one_no_grad_object_can_be_nested_in_itself():
    block = an.no_grad()
    seen = []
    with block:
        with block:
            seen.append(an.is_grad_enabled())
        seen.append(an.is_grad_enabled())
    seen.append(an.is_grad_enabled())
    assert seen == [False, False, True]


def test_a_set_grad_enabled_object_entered_again_sets_its_mode_again():
    # PyTorch's __enter__ sets the mode each time; __exit__ puts back the mode of creation.
    off = an.set_grad_enabled(False)
    seen = []
    try:
        with off:
            seen.append(an.is_grad_enabled())
        seen.append(an.is_grad_enabled())
        with off:
            seen.append(an.is_grad_enabled())
        seen.append(an.is_grad_enabled())
    finally:
        an.set_grad_enabled(True)
    assert seen == [False, True, False, True]


def test_backward_that_fails_leaves_recording_on():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    assert an.is_grad_enabled()


# ---- an.grad with one tensor as grad_outputs ------------------------------------------------


def test_grad_accepts_one_tensor_as_grad_outputs():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = an.tensor([1.0, -1.0, 0.5])
    (alone,) = an.grad(x * x, x, grad_outputs=v)
    (in_a_list,) = an.grad(x * x, x, grad_outputs=[v])
    assert alone.tolist() == in_a_list.tolist() == [2.0, -4.0, 3.0]


def test_grad_accepts_one_tensor_as_grad_outputs_with_create_graph():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (g,) = an.grad(x**3, x, grad_outputs=an.tensor([1.0, 1.0]), create_graph=True)
    assert g.tolist() == [3.0, 12.0]  # 3x²
    (gg,) = an.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0]  # 6x


# ---- max and min: dim= gives (values, indices), axis= gives values ---------------------------

T = np.array([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0]])
EXTREMES = [("max", np.max, np.argmax), ("min", np.min, np.argmin)]


@pytest.mark.parametrize("name, reduce, arg", EXTREMES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_dim_gives_a_named_tuple_of_values_and_indices(name, reduce, arg, dim):
    t = an.tensor(T, requires_grad=True)
    result = getattr(t, name)(dim=dim)
    values, indices = result
    assert isinstance(result, tuple)
    assert result._fields == ("values", "indices")
    assert result.values is values
    assert result.indices is indices
    assert values.tolist() == reduce(T, axis=dim).tolist()
    assert indices.tolist() == arg(T, axis=dim).tolist()
    assert indices.dtype == np.int64
    assert not indices.requires_grad


@pytest.mark.parametrize("name, reduce, arg", EXTREMES)
def test_dim_with_keepdim_keeps_the_axis_in_values_and_indices(name, reduce, arg):
    t = an.tensor(T)
    values, indices = getattr(t, name)(dim=1, keepdim=True)
    assert values.shape == indices.shape == (2, 1)
    assert values.tolist() == reduce(T, axis=1, keepdims=True).tolist()
    assert indices.tolist() == arg(T, axis=1, keepdims=True).tolist()


@pytest.mark.parametrize("name, expected_grad", [
    ("max", [[0.0, 10.0, 0.0], [0.0, 0.0, 20.0]]),
    ("min", [[10.0, 0.0, 0.0], [0.0, 20.0, 0.0]]),
])  # fmt: skip
def test_gradients_flow_through_the_values(name, expected_grad):
    t = an.tensor(T, requires_grad=True)
    values, _ = getattr(t, name)(dim=1)
    (values * an.tensor([10.0, 20.0])).sum().backward()
    assert t.grad.tolist() == expected_grad


@pytest.mark.parametrize("name, reduce, _arg", EXTREMES)
def test_axis_gives_only_the_values_as_numpy_does(name, reduce, _arg):
    t = an.tensor(T, requires_grad=True)
    for result in (getattr(t, name)(axis=1), reduce(t, axis=1), getattr(an, name)(t, 1)):
        assert isinstance(result, an.Tensor)
        assert result.requires_grad
        assert result.tolist() == reduce(T, axis=1).tolist()


@pytest.mark.parametrize("name, reduce, _arg", EXTREMES)
def test_no_axis_gives_the_value_over_all_elements(name, reduce, _arg):
    result = getattr(an.tensor(T), name)()
    assert isinstance(result, an.Tensor)
    assert result.shape == ()
    assert result.item() == reduce(T)


@pytest.mark.parametrize("name, reduce, arg", EXTREMES)
def test_the_function_form_takes_dim_too(name, reduce, arg):
    values, indices = getattr(an, name)(an.tensor(T), dim=0)
    assert values.tolist() == reduce(T, axis=0).tolist()
    assert indices.tolist() == arg(T, axis=0).tolist()


@pytest.mark.parametrize("name", ["max", "min"])
def test_a_tuple_dim_is_refused_with_a_clear_message(name):
    with pytest.raises(TypeError, match=rf"{name}: dim must be one int .*use axis="):
        getattr(an.tensor(T), name)(dim=(0, 1))
