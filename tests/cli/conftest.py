"""The fake OpenAI-compatible server for `argus ask` tests."""

from __future__ import annotations

from tests.llm.fake_llm import fake_llm  # noqa: F401 (the fixture)
