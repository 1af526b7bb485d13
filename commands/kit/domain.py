"""One descriptor per domain: everything the application needs to know of it.

A domain is a package under `commands/` exporting one `Domain`: its router (commands
and event handlers), its scheduled jobs, its message catalog file, its settings
section, and how the others may name its records (`lookups`). The application lists
the domains in one place and builds the registry, the event routing, the scheduler, the
catalog and the settings from that list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commands.kit.jobs import Job
from commands.kit.lookup import Lookup
from commands.kit.privacy import PersonalData
from commands.kit.registry import Router
from commands.kit.settings import Section


@dataclass(frozen=True)
class Domain:
    name: str
    router: Router
    # The domain's message files: a YAML file, or a folder whose *.yaml files are read
    # (one beside each module of a larger domain).
    messages: Path
    jobs: Sequence[Job] = ()
    settings: type[Section] | None = None  # the section `name:` of the config file
    privacy: PersonalData | None = None  # what it stores about people (data-protection requests)
    # How other domains name its records in their commands (`partner=KidiTap`), by kind.
    lookups: Mapping[str, Lookup] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.router.domain != self.name:
            raise ValueError(f"domain {self.name!r} has the router of {self.router.domain!r}")

    def message_files(self) -> list[Path]:
        if self.messages.is_dir():
            return sorted(self.messages.glob("*.yaml"))
        return [self.messages]
