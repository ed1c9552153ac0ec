"""The real llama.cpp server fixture, shared by every test module here (one server a session)."""

from llama_support import llama  # noqa: F401
