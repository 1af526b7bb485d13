"""Usage lines, generated from the registry in the room's language (never written by hand)."""

from __future__ import annotations

from commands.kit.args import Arg, Opt
from commands.kit.i18n import Translator
from commands.kit.registry import Command, Group


def _arg(arg: Arg, t: Translator) -> str:
    label = t.text(f"arg.{arg.type.metavar}")
    if arg.rest:
        label += "…"
    return label if arg.required else f"[{label}]"


def _opt(opt: Opt, t: Translator) -> str:
    return f"[{opt.key_for(t.locale)}={t.text(f'arg.{opt.type.metavar}')}]"


def usage_line(command: Command, t: Translator, prefix: str) -> str:
    """`!partenaire ajouter NOM [type=TYPE]`."""
    parts = [command.invocation(t.locale, prefix)]
    parts += [_arg(a, t) for a in command.args]
    parts += [_opt(o, t) for o in command.options]
    return " ".join(parts)


def usage_lines(entry: Command | Group, t: Translator, prefix: str) -> list[str]:
    if isinstance(entry, Command):
        return [usage_line(entry, t, prefix)]
    return [usage_line(c, t, prefix) for c in entry.commands()]
