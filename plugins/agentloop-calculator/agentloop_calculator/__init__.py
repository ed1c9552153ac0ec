"""agentloop-calculator: a safe arithmetic tool for agentloop agents.

The expression is parsed with :mod:`ast` and walked over an allow-list of
node types: numbers, ``+ - * / // % **``, parentheses, unary signs, a fixed
table of math functions and the constants ``pi``, ``e`` and ``tau``. Nothing
else is accepted: no names, attributes, subscripts, strings, comparisons,
lambdas or comprehensions, and the text is never handed to the interpreter.

Every operation is bounded before it runs, so hostile input (``9**9**9``,
``10**100000``, ``factorial(10**6)``, thousands of nested parentheses) fails
with a :class:`~agentloop.ToolError` in well under a millisecond instead of
hanging or exhausting memory.

Installed, the distribution registers this module under the ``agentloop``
entry-point group as ``calculator``, and every agent gets the ``calculate``
tool. The tool can also be passed explicitly:
``Agent(tools=[agentloop_calculator.calculate])``.
"""

from __future__ import annotations

import ast
import math
import threading
from collections.abc import Callable
from typing import Any

from agentloop import ToolError, hookimpl, tool

from ._offers import agentloop_register_tools as agentloop_register_tools

__all__ = ["agentloop_tools", "calculate", "evaluate", "format_number"]

MAX_EXPRESSION_LENGTH = 1000
"""Longest expression accepted, in characters."""

MAX_NODES = 500
"""Most syntax-tree nodes an expression may have."""

MAX_DEPTH = 100
"""Deepest nesting of operations and calls."""

MAX_INT_BITS = 4096
"""Largest integer result, in bits (about 1233 decimal digits)."""

MAX_FACTORIAL = 500
"""Largest argument of ``factorial``."""

MAX_ROUND_DIGITS = 400
"""Largest absolute ``ndigits`` of ``round``."""

Number = int | float

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(x: Number) -> int:
    if isinstance(x, float):
        if not x.is_integer():
            raise ToolError("factorial() needs a whole number")
        x = int(x)
    if x < 0 or x > MAX_FACTORIAL:
        raise ToolError(
            f"factorial() needs a whole number from 0 to {MAX_FACTORIAL}, got {_short_int(x)}"
        )
    return math.factorial(x)


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise ToolError("round(): the number of digits must be a whole number")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise ToolError(f"round(): the number of digits must be within ±{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


# name -> (function, fewest arguments, most arguments or None for no limit)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "sqrt": (math.sqrt, 1, 1),
    "log": (math.log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "factorial": (_factorial, 1, 1),
    "min": (min, 2, None),
    "max": (max, 2, None),
}

_BINARY_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}

_UNSUPPORTED_HINT = (
    "only numbers, + - * / // % **, parentheses and the functions "
    + ", ".join(_FUNCTIONS)
    + " (and the constants pi, e, tau) are allowed"
)


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression safely.

    Args:
        expression: The expression text, such as ``"2 * (3 + 4) ** 2"``.

    Returns:
        The value: an ``int`` when every step stayed whole, else a ``float``.

    Raises:
        ToolError: The expression is not plain arithmetic, exceeds a size
            limit, divides by zero, leaves a function's domain or overflows.
    """
    if not isinstance(expression, str):
        raise ToolError("the expression must be a string")
    text = expression.strip()
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ToolError(
            f"the expression is too long ({len(text)} characters; "
            f"the limit is {MAX_EXPRESSION_LENGTH})"
        )
    tree = _parse(text)
    _check_size(tree)
    try:
        return _eval(tree.body)
    except ArithmeticError as exc:
        # The operators and functions catch their own errors with a precise message; this is
        # the net under every other step (a limit check's own arithmetic, a conversion), so no
        # OverflowError, ZeroDivisionError or FloatingPointError can escape as a raw exception.
        raise ToolError(f"arithmetic error: {exc}; use smaller numbers") from None


_PARSING = threading.Lock()
"""CPython 3.11's AST conversion keeps its recursion depth in shared state: two threads
parsing long expressions at once can fail with ``SystemError: AST constructor recursion depth
mismatch``; parsing is microseconds, so calls take turns."""


def _parse(text: str) -> ast.Expression:
    try:
        with _PARSING:
            return ast.parse(text, mode="eval")
    except SyntaxError as exc:
        if "too many nested" in str(exc):
            raise ToolError("the expression is nested too deeply") from None
        raise ToolError(f"syntax error in the expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ToolError("the expression is nested too deeply") from None
    except SystemError:  # the interpreter's parser state (see _PARSING): never a raw error
        raise ToolError("the expression could not be parsed; shorten or simplify it") from None
    except ValueError as exc:  # e.g. an integer literal beyond the int/str digit limit
        raise ToolError(f"invalid expression: {exc}") from None


def _check_size(tree: ast.Expression) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ToolError(f"the expression is too complex (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ToolError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ToolError(f"unknown name {node.id!r}: the only constants are pi, e and tau")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_SYMBOLS:
        return _binary(node.op, _eval(node.left), _eval(node.right))
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolError(f"unsupported syntax ({_describe(node)}): {_UNSUPPORTED_HINT}")


def _constant(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "text" if isinstance(value, str) else type(value).__name__
        raise ToolError(f"unsupported value ({kind}): {_UNSUPPORTED_HINT}")
    return _checked(value)


_OTHER_SYMBOLS: dict[str, str] = {
    "LShift": "<<",
    "RShift": ">>",
    "BitOr": "|",
    "BitAnd": "&",
    "BitXor": "^",
    "MatMult": "@",
    "Invert": "~",
    "Not": "not",
    "And": "and",
    "Or": "or",
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp):
        name = type(node.op).__name__
        return f"operator {_OTHER_SYMBOLS.get(name, name)!r}"
    return type(node).__name__


def _binary(op: ast.operator, left: Number, right: Number) -> Number:
    symbol = _BINARY_SYMBOLS[type(op)]
    if isinstance(op, ast.Pow):
        _check_power(left, right)
    try:
        if isinstance(op, ast.Add):
            result: Any = left + right
        elif isinstance(op, ast.Sub):
            result = left - right
        elif isinstance(op, ast.Mult):
            result = left * right
        elif isinstance(op, ast.Div):
            result = left / right
        elif isinstance(op, ast.FloorDiv):
            result = left // right
        elif isinstance(op, ast.Mod):
            result = left % right
        else:
            result = left**right
    except ZeroDivisionError:
        if isinstance(op, ast.Pow):
            raise ToolError("division by zero (0 raised to a negative power)") from None
        raise ToolError(f"division by zero ({symbol} by 0)") from None
    except OverflowError:
        raise ToolError(f"overflow: the result of {symbol} is too large") from None
    return _checked(result)


def _check_power(base: Number, exponent: Number) -> None:
    """Refuse ``base ** exponent`` when the integer result would be too large."""
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return  # float powers overflow quickly and cleanly
    if exponent <= 0 or abs(base) <= 1:
        return
    if exponent > MAX_INT_BITS:  # |base| >= 2, so the result has at least ``exponent`` bits
        raise ToolError(
            f"result too large: the exponent {_short_int(exponent)} is above {MAX_INT_BITS} "
            f"(the limit is about {int(MAX_INT_BITS * math.log10(2))} digits)"
        )
    bits = exponent * math.log2(abs(base))  # both are small now: no float overflow
    if bits > MAX_INT_BITS:
        digits = exponent * math.log10(abs(base))
        raise ToolError(
            f"result too large: {_short_int(base)}**{exponent} would have about {digits:.3g} digits "
            f"(the limit is about {int(MAX_INT_BITS * math.log10(2))} digits)"
        )


def _short_int(value: int) -> str:
    """Show an integer, or its digit count when it is too long to print usefully."""
    text = _int_text(value)
    return text if len(text) <= 20 else f"with {len(text)} digits"


_CHUNK_DIGITS = 18
_CHUNK = 10**_CHUNK_DIGITS


def _int_text(value: int) -> str:
    """``str(value)``, also past the interpreter's int/str digit limit.

    ``str()`` of an int refuses more digits than ``sys.get_int_max_str_digits()``, a
    process-wide setting (``PYTHONINTMAXSTRDIGITS``, ``-X int_max_str_digits`` or any code
    calling ``sys.set_int_max_str_digits``, possibly while a call runs). Results are bounded
    by ``MAX_INT_BITS``, so converting in chunks of 18 digits is always cheap.
    """
    try:
        return str(value)
    except ValueError:
        pass
    sign, rest, chunks = ("-" if value < 0 else ""), abs(value), []
    while rest:
        rest, chunk = divmod(rest, _CHUNK)
        chunks.append(chunk)
    head, *tail = reversed(chunks)
    return sign + f"{head}" + "".join(f"{chunk:0{_CHUNK_DIGITS}d}" for chunk in tail)


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise ToolError(f"unsupported call ({_describe(node.func)}): {_UNSUPPORTED_HINT}")
    name = node.func.id
    if name not in _FUNCTIONS:
        raise ToolError(f"unknown function {name!r}; available: {', '.join(_FUNCTIONS)}")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ToolError(f"{name}() takes plain positional arguments only")
    function, fewest, most = _FUNCTIONS[name]
    count = len(node.args)
    if count < fewest or (most is not None and count > most):
        if most is None:
            expected = f"{fewest} or more"
        else:
            expected = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise ToolError(f"{name}() takes {expected} argument(s), got {count}")
    args = [_eval(arg) for arg in node.args]
    try:
        result = function(*args)
    except ValueError:
        shown = ", ".join(format_number(a) for a in args)
        raise ToolError(f"math domain error: {name}({shown}) is undefined") from None
    except ZeroDivisionError:
        raise ToolError(f"division by zero in {name}()") from None
    except OverflowError:
        raise ToolError(f"overflow: the result of {name}() is too large") from None
    except TypeError as exc:
        raise ToolError(f"{name}(): {exc}") from None
    return _checked(result)


def _checked(value: Any) -> Number:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise ToolError(
                f"result too large: more than {MAX_INT_BITS} bits "
                f"(about {int(MAX_INT_BITS * math.log10(2))} digits)"
            )
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ToolError("the result is not a number (NaN)")
        if math.isinf(value):
            raise ToolError("overflow: the result is too large for a floating-point number")
        return value
    if isinstance(value, complex):
        raise ToolError("the result is not a real number (e.g. a fractional power of a negative)")
    raise ToolError(f"unsupported result type {type(value).__name__}")


def format_number(value: Number) -> str:
    """Format a result compactly.

    Integers are shown exactly. A float is shown as its shortest repr when
    that has at most 12 significant digits (``0.5``, ``4.0``, ``1e+20``), and
    rounded to 12 significant digits otherwise (``0.1 + 0.2`` gives ``0.3``).

    Args:
        value: An ``int`` or ``float``.

    Returns:
        The text.
    """
    if isinstance(value, int):
        return _int_text(value)
    if value == 0:
        return "0.0"
    short = format(value, ".12g")
    return repr(value) if float(short) == value else short


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression and return its exact value.

    Use this for any arithmetic rather than working it out yourself. Supports
    numbers, + - * / // % ** and parentheses, unary minus, the functions sqrt,
    log (natural log, or log(x, base)), log10, log2, exp, sin, cos, tan, asin,
    acos, atan (angles in radians), abs, round (round(x) or round(x, digits)),
    floor, ceil, factorial (up to 500), min and max, and the constants pi, e
    and tau. Whole-number arithmetic is exact; other results are given to 12
    significant digits.

    Args:
        expression: The expression to evaluate, for example "2 * (3 + 4) ** 2"
            or "sqrt(2) / 2". Plain arithmetic only: no variables, text or
            other Python syntax.
    """
    return format_number(evaluate(expression))


@hookimpl
def agentloop_tools(agent: Any) -> list[Any] | None:
    """Offer ``calculate`` to every agent, unless the agent already has a tool of that name.

    An agent that was given ``calculate`` explicitly (this tool object, or its
    own tool of the same name) keeps that one; offering a second copy would be
    a duplicate tool name.

    Args:
        agent: The agent being run.

    Returns:
        ``[calculate]``, or None when the agent already has a ``calculate``.
    """
    if calculate.name in _own_tool_names(agent):
        return None
    return [calculate]


def _own_tool_names(agent: Any) -> set[str]:
    tools = getattr(agent, "tools", None) or ()
    names: set[str] = set()
    for item in tools:
        name = getattr(item, "name", None) or getattr(item, "__name__", None)
        if isinstance(name, str):
            names.add(name)
    return names
