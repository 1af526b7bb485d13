"""The membership domain's router."""

from __future__ import annotations

from commands.kit.registry import Router

router = Router("members")
