"""Promises the repository makes to a newcomer."""

from __future__ import annotations

import re
from pathlib import Path


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    ci = (repo_root / ".ci" / "run").read_text()
    match = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.MULTILINE)
    assert match is not None
    readme = (repo_root / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.+?)\n```", readme, re.DOTALL)
    # The first two commands of the README: run the bot, run the tests.
    assert len(blocks) >= 2
    assert blocks[1] == match.group(1)
    assert "passerelle" in blocks[0]
