"""The offline model's arguments from realistic prompts.

Expressions in calculator syntax, SQL statements, labelled names, enum values
by cue and abbreviation, and numbers by the words next to them.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from offline_support import calls_of, fn_tool, user

from agentloop.offline.model import OfflineModel


@pytest.fixture
def model() -> OfflineModel:
    return OfflineModel()


# -- arguments from realistic prompts --------------------------------------------------------


def _definitions() -> dict[str, dict[str, Any]]:
    from typing import Literal

    from agentloop import tool

    @tool
    def calculate(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: The expression, e.g. "2 * (3 + 4)" or "sqrt(2) / 2".
        """
        return expression

    @tool
    def describe_table(table: str) -> str:
        """Show the columns of a table.

        Args:
            table: The table name.
        """
        return table

    @tool
    def query(sql: str) -> str:
        """Run one read-only SQL statement.

        Args:
            sql: Exactly one SELECT statement.
        """
        return sql

    @tool
    def convert_temperature(value: float, to: Literal["celsius", "fahrenheit"]) -> float:
        """Convert a temperature between Celsius and Fahrenheit.

        Args:
            value: The temperature to convert.
            to: The unit to convert to.
        """
        return value

    @tool
    def convert_short(value: float, to: Literal["C", "F"]) -> float:
        """Convert a temperature.

        Args:
            value: The temperature to convert.
            to: The target unit.
        """
        return value

    @tool
    def convert_length(
        value: float,
        from_unit: Literal["meters", "feet", "inches"],
        to_unit: Literal["meters", "feet", "inches"],
    ) -> float:
        """Convert a length between units.

        Args:
            value: The length.
            from_unit: The unit of the value.
            to_unit: The unit to convert to.
        """
        return value

    @tool
    def apply_discount(price: float, discount: float) -> float:
        """Apply a discount to a price.

        Args:
            price: The original price.
            discount: The discount in percent.
        """
        return price

    @tool
    def discount_first(discount: float, price: float) -> float:
        """Apply a discount to a price.

        Args:
            discount: The discount in percent.
            price: The original price.
        """
        return price

    @tool
    def book_room(room: str, people: int, hours: float) -> str:
        """Book a meeting room.

        Args:
            room: The room name.
            people: Number of attendees.
            hours: Duration in hours.
        """
        return room

    tools = (calculate, describe_table, query, convert_temperature, convert_short,
             convert_length, apply_discount, discount_first, book_room)  # fmt: skip
    return {t.name: t.definition for t in tools}


DEFINITIONS = _definitions()


@pytest.mark.parametrize(
    ("tool_name", "text", "expected"),
    [
        ("calculate", "what is sqrt(144)?", {"expression": "sqrt(144)"}),
        ("calculate", "What is the square root of 144?", {"expression": "sqrt(144)"}),
        ("calculate", "What is 2 to the power of 10", {"expression": "2 ** 10"}),
        ("calculate", "What is 2 to the 10th power?", {"expression": "2 ** 10"}),
        ("calculate", "What is 2^10?", {"expression": "2**10"}),
        ("calculate", "what is 12 squared", {"expression": "12 ** 2"}),
        ("calculate", "What is 15% of 80?", {"expression": "15 / 100 * 80"}),
        ("calculate", "Compute round(3.14159, 2) please", {"expression": "round(3.14159, 2)"}),
        ("calculate", "What is 6 × 7?", {"expression": "6 * 7"}),
        ("calculate", "What is 12 * (3 + 4)?", {"expression": "12 * (3 + 4)"}),
        ("describe_table", "Describe the orders table", {"table": "orders"}),
        ("describe_table", "describe table customers", {"table": "customers"}),
        ("describe_table", "Show the columns of the products table.", {"table": "products"}),
        ("describe_table", "Describe the table named order_items", {"table": "order_items"}),
        ("describe_table", "Describe 'line items'", {"table": "line items"}),
        ("query", "Run SELECT name FROM customers", {"sql": "SELECT name FROM customers"}),
        (
            "query",
            "Run SELECT name FROM customers WHERE country = 'UK' ORDER BY name?",
            {"sql": "SELECT name FROM customers WHERE country = 'UK' ORDER BY name"},
        ),
        ("query", "please run select id from orders.", {"sql": "select id from orders"}),
        ("query", 'Run the query "SELECT 1" now', {"sql": "SELECT 1"}),
        (
            "convert_temperature",
            "Convert 100 fahrenheit to celsius",
            {"value": 100, "to": "celsius"},
        ),
        (
            "convert_temperature",
            "Convert 37.5 Celsius to Fahrenheit",
            {"value": 37.5, "to": "fahrenheit"},
        ),
        ("convert_temperature", "And 100 fahrenheit in celsius?", {"value": 100, "to": "celsius"}),
        ("convert_short", "Convert 100 Fahrenheit to Celsius", {"value": 100, "to": "C"}),
        ("convert_short", "Convert 37 celsius to fahrenheit", {"value": 37, "to": "F"}),
        ("convert_short", "Convert 212 F to C", {"value": 212, "to": "C"}),
        (
            "convert_length",
            "Convert 10 feet to meters",
            {"value": 10, "from_unit": "feet", "to_unit": "meters"},
        ),
        (
            "convert_length",
            "convert to inches from meters: 3",
            {"value": 3, "from_unit": "meters", "to_unit": "inches"},
        ),
        (
            "apply_discount",
            "Apply a 25 percent discount to a price of 80",
            {"price": 80, "discount": 25},
        ),
        (
            "discount_first",
            "The price is 80; apply a 25% discount",
            {"discount": 25, "price": 80},
        ),
        (
            "apply_discount",
            "discount 10 on price 250",
            {"price": 250, "discount": 10},
        ),
        (
            "book_room",
            "Book room Everest for 8 people, 2 hours",
            {"room": "Everest", "people": 8, "hours": 2},
        ),
        (
            "book_room",
            "Book the Everest room for 3 hours for 12 people",
            {"room": "Everest", "people": 12, "hours": 3},
        ),
    ],
)
def test_arguments_from_realistic_prompts(model, tool_name, text, expected):
    definition = DEFINITIONS[tool_name]
    response = model.create(messages=user(text), tools=[definition])
    assert calls_of(response) == [(tool_name, expected)]
    jsonschema.validate(expected, definition["function"]["parameters"])
    assert model.create(messages=user(text), tools=[definition]) == response  # deterministic


def test_the_calculator_is_picked_for_function_calls_and_spoken_powers(model):
    tools = [DEFINITIONS["describe_table"], DEFINITIONS["calculate"], DEFINITIONS["query"]]
    for text in ("what is sqrt(144)?", "What is 2 to the power of 10", "what is 9 squared"):
        assert [c.name for c in model.create(messages=user(text), tools=tools).tool_calls] == [
            "calculate"
        ]


def test_a_short_enum_value_is_never_taken_from_an_unrelated_word(model):
    # "Convert" starts with "C", but only a word next to a cue ("to") or the
    # value itself may name a one-letter enum value.
    definition = DEFINITIONS["convert_short"]
    response = model.create(messages=user("Convert 50 degrees into F"), tools=[definition])
    assert calls_of(response) == [("convert_short", {"value": 50, "to": "F"})]


def test_numbers_without_cues_keep_their_order(model):
    add = fn_tool("add", "Add two numbers.", {"a": {"type": "integer"}, "b": {"type": "integer"}},
                  ["a", "b"])  # fmt: skip
    assert calls_of(model.create(messages=user("add 7 and 3"), tools=[add])) == [
        ("add", {"a": 7, "b": 3})
    ]


def test_arguments_for_the_first_party_plugin_tools(model, tmp_path):
    import sqlite3

    # first-party plugins, installed with the project: a missing one fails, never skips
    import agentloop_calculator as calculator
    import agentloop_sqlite as sqlite_plugin

    database = tmp_path / "shop.db"
    sqlite3.connect(database).close()
    tools = [t.definition for t in sqlite_plugin.SQLitePlugin(database).tools]
    tools.append(calculator.calculate.definition)
    expected = {
        "what is sqrt(144)?": ("calculate", {"expression": "sqrt(144)"}),
        "What is 2 to the power of 10": ("calculate", {"expression": "2 ** 10"}),
        "Describe the orders table": ("describe_table", {"table": "orders"}),
        "Run SELECT name FROM customers": ("query", {"sql": "SELECT name FROM customers"}),
        "What tables are there?": ("list_tables", {}),
    }
    for text, call in expected.items():
        assert calls_of(model.create(messages=user(text), tools=tools)) == [call], text


def test_a_tie_goes_to_the_tool_the_message_can_fill(model):
    describe = fn_tool("describe_table", "Describe a table.", {"table": {"type": "string"}},
                       ["table"])  # fmt: skip
    listing = fn_tool("list_tables", "List the tables.", {})
    tools = [describe, listing]
    assert calls_of(model.create(messages=user("Which tables are there?"), tools=tools)) == [
        ("list_tables", {})
    ]
    assert calls_of(model.create(messages=user("Describe the orders table"), tools=tools)) == [
        ("describe_table", {"table": "orders"})
    ]
