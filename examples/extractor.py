"""Structured-output extractor: turns free text into a ``Contact`` dataclass.

Run it::

    agentloop run examples/extractor.py "Hi, I'm Ada Lovelace from Analytical Engines Ltd. Write to ada@analytical.example."
    python examples/extractor.py "Please send the contract to Grace Hopper (grace.hopper@navy.example)."

With ``output_type=Contact`` the agent asks the model for JSON matching the
dataclass's schema (``response_format`` of type ``json_schema``), validates
the answer and converts it, so ``RunResult.output`` is a ``Contact``. An
answer that does not match is sent back to the model with the validation
errors (``output_retries``), and :class:`~agentloop.OutputValidationError`
ends the run if it never does.

On the offline model the fields are filled by rules: the email address, a
capitalized name, a company after "from"/"at"/"works for"; fields its rules
do not cover are left at their defaults (``None``). A real model reads the
text and fills every field it can.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass

from agentloop import Agent

DEFAULT_PROMPT = (
    "Hi, I'm Ada Lovelace from Analytical Engines Ltd. "
    "Write to ada@analytical.example or call +44 20 7946 0958."
)


@dataclass
class Contact:
    """Contact details of the person who wrote or is named in a message.

    Attributes:
        name: The person's full name.
        email: Their email address, if given.
        phone: Their phone number as written, if given.
        company: The company or organization they work for, if given.
    """

    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None


agent = Agent(
    model=os.environ.get("AGENTLOOP_MODEL", "offline"),
    name="extractor",
    instructions=(
        "Extract the contact details of the person in the user's message. Copy values "
        "exactly as written; use null for anything the message does not say."
    ),
    output_type=Contact,
)


def main(argv: list[str]) -> int:
    """Extract a contact from the text in ``argv`` (or the default text) and print it as JSON."""
    result = agent.run(" ".join(argv) or DEFAULT_PROMPT)
    contact: Contact = result.output
    print(json.dumps(dataclasses.asdict(contact), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
