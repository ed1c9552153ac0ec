"""Tests of the agentloop-calculator plugin: arithmetic, limits, refusals, agent runs."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import math

import agentloop_calculator
import pytest
from agentloop_calculator import calculate, evaluate, format_number

from agentloop import Agent, PluginError, Tool, ToolError, hookimpl, tool
from agentloop.testing import ScriptedModel, tool_call, tool_calls_response


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2", "3"),
        ("2 * (3 + 4) ** 2", "98"),
        ("7 // 2", "3"),
        ("-7 % 3", "2"),
        ("10 / 4", "2.5"),
        ("10 / 2", "5.0"),
        ("0.1 + 0.2", "0.3"),
        ("1 / 3", "0.333333333333"),
        ("2 ** -1", "0.5"),
        ("-(-3)", "3"),
        ("+3", "3"),
        ("2 ** 100", "1267650600228229401496703205376"),
        ("10**1000 // 10**999", "10"),
        ("sqrt(16)", "4.0"),
        ("sqrt(2) / 2", "0.707106781187"),
        ("log(e)", "1.0"),
        ("log(8, 2)", "3.0"),
        ("log10(1000)", "3.0"),
        ("log2(1024)", "10.0"),
        ("exp(0)", "1.0"),
        ("sin(0) + cos(0)", "1.0"),
        ("tan(0)", "0.0"),
        ("asin(1) * 2", "3.14159265359"),
        ("acos(1)", "0.0"),
        ("atan(1) * 4", "3.14159265359"),
        ("abs(-3)", "3"),
        ("round(2.567, 2)", "2.57"),
        ("round(2.5)", "2"),
        ("floor(-2.5)", "-3"),
        ("ceil(2.1)", "3"),
        ("factorial(20)", "2432902008176640000"),
        ("min(3, 1, 2)", "1"),
        ("max(1.5, 2)", "2"),
        ("pi", "3.14159265359"),
        ("tau / 2", "3.14159265359"),
        ("e", "2.71828182846"),
        ("1e20", "1e+20"),
        ("-0.0", "0.0"),
        ("  42  ", "42"),
    ],
)
def test_arithmetic(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


def test_ints_stay_exact() -> None:
    assert evaluate("2 ** 64 + 1") == 18446744073709551617
    assert isinstance(evaluate("6 * 7"), int)
    assert isinstance(evaluate("6 / 3"), float)


def test_format_number() -> None:
    assert format_number(12) == "12"
    assert format_number(4.0) == "4.0"
    assert format_number(2 / 3) == "0.666666666667"
    assert format_number(123456789012345.0) == "1.23456789012e+14"
    assert format_number(-0.0) == "0.0"


def test_calculate_is_a_documented_tool() -> None:
    assert isinstance(calculate, Tool)
    definition = calculate.definition["function"]
    assert definition["name"] == "calculate"
    assert "sqrt" in definition["description"] and "factorial" in definition["description"]
    assert definition["parameters"]["required"] == ["expression"]
    assert definition["parameters"]["properties"]["expression"]["description"]


def test_invoke_with_model_arguments() -> None:
    assert calculate.invoke('{"expression": "6 * 7"}') == "42"


# ---------------------------------------------------------------------------
# Refusals: RELIABILITY.md 59 (code injection) and 60 (resource exhaustion)
# ---------------------------------------------------------------------------

INJECTIONS = [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "(lambda: 1)()",
    "[x for x in range(10**9)]",
    "math.sqrt(2)",
    "x",
    "sqrt(x=4)",
    "sqrt(*[4])",
    "1 if 1 else 0",
    "1 < 2",
    "True + 1",
    "1j",
    "'a' * 3",
    "a := 1",
    "import os",
    "2 << 3",
    "5 & 3",
    "~1",
    "not 1",
    "str(10**5000)",
    "globals()",
    "eval('1')",
]


@pytest.mark.parametrize("expression", INJECTIONS)
def test_rejects_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(ToolError):
        calculate(expression)


LIMITS = [
    ("9**9**9", "too large"),
    ("10**100000", "too large"),
    ("2<<10**9", "not supported|unsupported"),
    ("'a'*10**9", "unsupported"),
    ("1/0", "division by zero"),
    ("7 // 0", "division by zero"),
    ("7 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("1e308*10", "overflow"),
    ("1e999", "overflow"),
    ("exp(1000)", "overflow"),
    ("2**4000 / 3", "overflow"),
    ("(2**4000) * 1.0", "overflow"),
    ("sqrt(-1)", "domain"),
    ("log(0)", "domain"),
    ("asin(2)", "domain"),
    ("(-8) ** 0.5", "not a real number"),
    ("str(10**5000)", "unknown function"),
    ("factorial(10**6)", "factorial"),
    ("factorial(-1)", "factorial"),
    ("factorial(2.5)", "factorial"),
    ("factorial(500) * factorial(500)", "too large"),
    ("2 ** 4096", "too large"),
    ("10 ** 1300", "too large"),
    ("round(1, 10**9)", "digits"),
    ("(" * 300 + "1" + ")" * 300, "nested too deeply"),
    ("-" * 999 + "1", "nested too deeply"),
    ("1" * 5000, "too long"),
    ("1+" * 600 + "1", "too long|too complex|nested"),
    ("", "empty"),
    ("   ", "empty"),
    ("1 +", "syntax"),
    ("sqrt(1, 2)", "argument"),
    ("min(1)", "argument"),
]


EXPENSIVE_BITS = 25 * agentloop_calculator.MAX_INT_BITS
"""An integer this large is already costly to compute; refused inputs never get near it."""


class _GuardedInt(int):
    """An integer literal that refuses (AssertionError) to build an expensive result."""

    @staticmethod
    def _guard(bits: float, what: str) -> None:
        if bits > EXPENSIVE_BITS:
            raise AssertionError(f"the calculator computed {what} (~{bits:.3g} bits)")

    def __pow__(self, other, mod=None):  # type: ignore[no-untyped-def, override]
        if isinstance(other, int) and other > 0 and abs(self) > 1:
            self._guard(other * math.log2(abs(self)), f"{int(self)} ** {int(other)}")
        return int.__pow__(int(self), other, mod)

    def __rpow__(self, other, mod=None):  # type: ignore[no-untyped-def, override]
        if isinstance(other, int) and self > 0 and abs(other) > 1:
            self._guard(self * math.log2(abs(other)), f"{int(other)} ** {int(self)}")
        return int.__pow__(other, int(self), mod)

    def __mul__(self, other):  # type: ignore[no-untyped-def, override]
        if isinstance(other, int):
            self._guard(self.bit_length() + other.bit_length(), "a huge product")
        return int.__mul__(int(self), other)

    __rmul__ = __mul__

    def __lshift__(self, other):  # type: ignore[no-untyped-def, override]
        if isinstance(other, int):
            self._guard(self.bit_length() + other, "a huge shift")
        return int.__lshift__(int(self), other)

    def __rlshift__(self, other):  # type: ignore[no-untyped-def, override]
        if isinstance(other, int):
            self._guard(other.bit_length() + self, "a huge shift")
        return int.__lshift__(other, int(self))


@pytest.fixture
def no_expensive_arithmetic(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Integer literals become guarded ints and ``math.factorial`` refuses big arguments.

    Work that a limit exists to prevent fails the test with AssertionError instead of
    running; a limit that fails fast refuses before evaluating it. Returns the
    arguments ``math.factorial`` was called with.
    """
    real_constant = agentloop_calculator._constant
    real_factorial = math.factorial
    factorials: list[int] = []

    def constant(value: object) -> object:
        result = real_constant(value)
        return _GuardedInt(result) if type(result) is int else result

    def factorial(n: int) -> int:
        factorials.append(n)
        if n > 10 * agentloop_calculator.MAX_FACTORIAL:
            raise AssertionError(f"the calculator computed factorial({n})")
        return real_factorial(n)

    monkeypatch.setattr(agentloop_calculator, "_constant", constant)
    monkeypatch.setattr(math, "factorial", factorial)
    return factorials


@pytest.mark.parametrize(("expression", "message"), LIMITS)
def test_limits_fail_fast_with_clear_errors(
    expression: str, message: str, no_expensive_arithmetic: list[int]
) -> None:
    with pytest.raises(ToolError, match=message):
        calculate(expression)
    assert all(n <= agentloop_calculator.MAX_FACTORIAL for n in no_expensive_arithmetic)


def test_the_guard_catches_unchecked_powers(
    monkeypatch: pytest.MonkeyPatch, no_expensive_arithmetic: list[int]
) -> None:
    """Self-check of the fixture: without the pre-check, 9**9**9 would be computed."""
    monkeypatch.setattr(agentloop_calculator, "_check_power", lambda base, exponent: None)
    with pytest.raises(AssertionError, match=r"computed 9 \*\* 387420489"):
        calculate("9**9**9")


def test_largest_allowed_results_are_fast_and_printable(
    no_expensive_arithmetic: list[int],
) -> None:
    assert calculate("10 ** 1233") == "1" + "0" * 1233
    assert len(calculate("factorial(500)")) == 1135
    assert calculate("2 ** 4095 // 2 ** 4094") == "2"
    assert no_expensive_arithmetic == [500]


def test_long_flat_sums_are_fine() -> None:
    assert calculate("+".join(["1"] * 90)) == "90"


def test_source_never_uses_eval_or_exec() -> None:
    source = inspect.getsource(agentloop_calculator)
    assert "eval(" not in source.replace("_eval(", "").replace("evaluate(", "")
    assert "exec(" not in source
    assert "compile(" not in source


# ---------------------------------------------------------------------------
# Plugin wiring and agent runs
# ---------------------------------------------------------------------------


def test_entry_point_is_declared() -> None:
    entry_points = importlib.metadata.entry_points(group="agentloop")
    assert any(
        ep.name == "calculator" and ep.value == "agentloop_calculator" for ep in entry_points
    )


def test_module_hook_offers_calculate() -> None:
    agent = Agent(ScriptedModel([]), load_plugins=False)
    assert agentloop_calculator.agentloop_tools(agent=agent) == [calculate]


def test_module_hook_yields_to_an_explicit_calculate() -> None:
    agent = Agent(ScriptedModel([]), tools=[calculate], load_plugins=False)
    assert agentloop_calculator.agentloop_tools(agent=agent) is None


def _run(agent_kwargs: dict[str, object], *expressions: str) -> tuple[list[dict], ScriptedModel]:
    calls = [tool_call("calculate", {"expression": e}) for e in expressions]
    model = ScriptedModel([tool_calls_response(*calls), "done"])
    result = Agent(model, **agent_kwargs).run("compute")  # type: ignore[arg-type]
    return [m for m in result.messages if m["role"] == "tool"], model


def test_agent_run_with_the_plugin() -> None:
    results, model = _run(
        {"plugins": [agentloop_calculator], "load_plugins": False}, "6 * 7", "9**9**9"
    )
    assert results[0]["content"] == "42"
    assert "too large" in results[1]["content"]
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert names == ["calculate"]


def test_agent_run_with_the_tool_passed_explicitly() -> None:
    results, _ = _run({"tools": [calculate], "load_plugins": False}, "2 + 2")
    assert results[0]["content"] == "4"


def test_explicit_tool_plus_autoloaded_plugin_is_not_a_duplicate() -> None:
    results, model = _run(
        {"tools": [calculate], "plugins": [agentloop_calculator], "load_plugins": False}, "1 + 1"
    )
    assert results[0]["content"] == "2"
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert names == ["calculate"]


def test_autoloaded_plugin_offers_calculate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    results, model = _run({"tools": [calculate]}, "3 * 3")
    assert results[0]["content"] == "9"
    names = [t["function"]["name"] for t in model.requests[0]["tools"]]
    assert names.count("calculate") == 1


def test_a_users_own_calculate_wins_over_the_plugin() -> None:
    @tool(name="calculate")
    def my_calculate(expression: str) -> str:
        """Always answers 7.

        Args:
            expression: Ignored.
        """
        return "7"

    results, _ = _run(
        {"tools": [my_calculate], "plugins": [agentloop_calculator], "load_plugins": False}, "1+1"
    )
    assert results[0]["content"] == "7"


def test_another_plugin_offering_calculate_is_still_a_duplicate() -> None:
    def other_calculate(expression: str) -> str:
        """Another calculator.

        Args:
            expression: Ignored.
        """
        return "0"

    class Other:
        @hookimpl
        def agentloop_tools(self, agent: object) -> list[Tool]:
            return [tool(other_calculate, name="calculate")]

    model = ScriptedModel([tool_calls_response(tool_call("calculate", {"expression": "1"})), "x"])
    agent = Agent(model, plugins=[agentloop_calculator, Other()], load_plugins=False)
    with pytest.raises(PluginError, match="calculate"):
        agent.run("go")


def test_tool_error_text_reaches_the_model_without_traceback() -> None:
    results, _ = _run({"tools": [calculate], "load_plugins": False}, "__import__('os')")
    content = results[0]["content"]
    assert "unknown function" in content and "Traceback" not in content
    json.dumps(results)  # the transcript stays plain JSON


@pytest.mark.parametrize(
    "expression",
    [
        "2 ** 10**400",  # the exponent is too large for the pre-check's float arithmetic
        "(-2) ** 10**400",
        "3 ** (10**400 + 1)",
        "2 ** 2 ** 2 ** 2 ** 2",
        "10**400 ** 10**400",
    ],
)
def test_huge_integer_powers_are_tool_errors(expression: str) -> None:
    with pytest.raises(ToolError, match="too large"):
        evaluate(expression)


def test_no_arithmetic_error_escapes_any_combination() -> None:
    """Every pairing of extreme operands and operators either gives a number or a ToolError.

    This is the class, not one input: operands at the edges (huge and tiny ints and floats,
    zero, negatives, fractions) under every operator and one-argument function.
    """
    operands = ["0", "1", "-1", "2", "-2", "0.5", "-0.5", "10**400", "-10**400", "10**-400"]
    operands += ["1e308", "-1e308", "5e-324", "2**4095", "factorial(500)", "1e-308"]
    operators = ["+", "-", "*", "/", "//", "%", "**"]
    functions = [name for name, (_, fewest, _) in agentloop_calculator._FUNCTIONS.items()]
    expressions = [f"({a}) {op} ({b})" for a in operands for b in operands for op in operators]
    for name in functions:
        fewest = agentloop_calculator._FUNCTIONS[name][1]
        expressions += [f"{name}({', '.join([a] * fewest)})" for a in operands]
        expressions += [f"{name}({a}, {b})" for a in operands for b in operands[:6]]
    computed: dict[str, int | float] = {}
    for expression in expressions:
        try:
            value = evaluate(expression)
        except ToolError:
            continue
        assert isinstance(value, int | float), expression
        format_number(value)
        computed[expression] = value
    # a calculator that refused everything would pass the loop above: many of these have an
    # ordinary answer (1645 of the 3808 today), and the plain ones below must be among them
    assert len(computed) > len(expressions) // 3
    assert computed["(1) + (2)"] == 3
    assert computed["(1) / (2)"] == 0.5
    assert computed["(0.5) * (-2)"] == -1.0
    assert computed["(-1) ** (-1)"] == -1.0
    assert computed["(10**400) // (10**400)"] == 1
    assert computed["(factorial(500)) // (factorial(500))"] == 1
    assert computed["(2**4095) % (2)"] == 0
    assert computed["sqrt(2)"] == math.sqrt(2)
