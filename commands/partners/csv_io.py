"""The contact book as a spreadsheet: export the partners to CSV, and import a CSV file
posted in the room (preview first, then `confirm` applies it all in one transaction)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from commands.kit import conversation
from commands.kit.args import Arg, Choice, Website
from commands.kit.context import Context
from commands.kit.errors import ArgError, CommandError
from commands.kit.registry import Args
from commands.kit.text import CONTROL, USER_ID, fold, name_text, without_bidi
from commands.partners.resolve import book, check_name, consortium_member, partner_filter, rules
from commands.partners.router import PARTNER
from commands.partners.vocabulary import FILTERS, KIND, MAX_TAGS, O_FORCE, STATUS, YESNO, loose_key
from storage.models import PartnerKind, PartnerStatus, Role
from storage.repos.partners import Listed
from storage.search import squash

IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_PREVIEW_LINES = 5
IMPORT_MAX_ERRORS = 10
IMPORT_TTL = timedelta(days=1)
IMPORT = conversation.Pending("partners", "import", ttl=IMPORT_TTL)
IMPORT_ACTION = Choice(
    ("confirm", "cancel"),
    aliases={"confirmer": "confirm", "valider": "confirm", "ok": "confirm", "annuler": "cancel"},
    label="partner.import_action",
    metavar="import_action",
)

COLUMNS = (
    "name",
    "kind",
    "status",
    "social_economy",
    "tags",
    "owner",
    "consortium_member",
    "website",
    "description",
    "created_at",
    "updated_at",
    "last_interaction_at",
)
READ_ONLY = frozenset({"created_at", "updated_at", "last_interaction_at"})
COLUMN_ALIASES = {
    "nom": "name",
    "type": "kind",
    "statut": "status",
    "ess": "social_economy",
    "etiquettes": "tags",
    "suivi": "owner",
    "entite": "consortium_member",
    "site": "website",
}


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV
# injection"): `=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(1+1)`, `-2+3`.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The export puts this before such a cell, which spreadsheets then show as text, and
# before a cell that really starts with it, so that the import can take it off again.
TEXT_MARK = "'"


def neutralise(cell: str) -> str:
    """A cell as exported: text that no spreadsheet runs as a formula (see `unneutralise`)."""
    if cell.startswith((*FORMULA_STARTS, TEXT_MARK)):
        return TEXT_MARK + cell
    return cell


def unneutralise(cell: str) -> str:
    """A cell as imported: undoes exactly what `neutralise` did, so that an exported file
    imported back changes nothing; any other cell is taken as it is."""
    if cell.startswith(TEXT_MARK) and cell[1:].startswith((*FORMULA_STARTS, TEXT_MARK)):
        return cell[1:]
    return cell


def export_csv(rows: Sequence[Listed]) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets then read accents right), comma-separated,
    one row per partner; codes (kind, status) in English, times in ISO 8601 UTC.

    Cells that a spreadsheet would run as a formula are neutralised (`neutralise`). The
    owner is left as it is: a Matrix user id, it always starts with `@`, and it is checked
    to be one (its letters, digits and `._=-/+:` can spell no function call).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for listed in rows:
        p = listed.partner
        cells = [
            p.name,
            p.kind,
            p.status,
            "yes" if p.social_economy else "no",
            ", ".join(listed.tags),
            p.owner or "",
            p.consortium_member or "",
            p.website or "",
            p.description or "",
            p.created_at.isoformat(),
            p.updated_at.isoformat(),
            p.last_interaction_at.isoformat(),
        ]
        writer.writerow(
            [
                c if column == "owner" else neutralise(c)
                for column, c in zip(COLUMNS, cells, strict=True)
            ]
        )
    return out.getvalue().encode("utf-8-sig")


@PARTNER.command(
    "export",
    fr="exporter",
    aliases=("csv",),
    options=list(FILTERS),
)
async def export(ctx: Context, args: Args) -> None:
    """The partners as a CSV file posted in the room (the same filters as `list`)."""
    where = partner_filter(ctx, args)
    rows, total = await book(ctx).page(where, limit=None)
    if not rows:
        raise CommandError("partners.export.empty")
    await ctx.audit("partner.export", count=total)
    await ctx.send_file(
        ctx.t.text("partners.export.filename"),
        "text/csv",
        export_csv(rows),
        "partners.export.caption",
        count=total,
        prefix=ctx.prefix,
    )


@dataclass
class _Plan:
    create: list[dict[str, Any]]
    update: list[dict[str, Any]]
    skip: list[dict[str, Any]]

    def counts(self) -> list[int]:
        return [len(self.create), len(self.update), len(self.skip)]


def read_csv(ctx: Context, data: bytes) -> list[dict[str, Any]]:
    """Check a posted CSV file and turn its rows into clean values; refuse it whole otherwise.

    Columns: those of the export (or their French names), `name` required, any subset
    of the others; read-only ones (times) are ignored. An empty cell leaves a field as
    it is. UTF-8 with or without BOM; `,` or `;` between cells.
    """
    if len(data) > IMPORT_MAX_BYTES:
        raise CommandError("partners.import.too_big", limit=IMPORT_MAX_BYTES // (1024 * 1024))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise CommandError("partners.import.not_utf8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CommandError("partners.import.not_utf8", line=line) from exc
    if not text.strip():
        raise CommandError("partners.import.empty")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise CommandError("partners.import.malformed", error=str(exc)) from exc
    titles = [without_bidi(h).strip() for h in table[0]]
    control = _control(titles)
    if control is not None:
        raise CommandError("partners.import.header_control", code=control[1])
    header = [loose_key(h) for h in titles]
    columns = [COLUMN_ALIASES.get(h, _column(h)) for h in header]
    unknown = [raw for raw, c in zip(titles, columns, strict=True) if c is None]
    if unknown or "name" not in columns:
        raise CommandError(
            "partners.import.bad_columns",
            unknown=unknown,
            missing_name="name" not in columns,
            expected=list(COLUMNS),
        )
    names = [c for c in columns if c is not None]
    doubled = sorted({c for c in names if names.count(c) > 1})
    if doubled:
        raise CommandError("partners.import.duplicate_columns", columns=doubled)
    body = [
        (number, row)
        for number, row in enumerate(table[1:], start=2)
        if any(c.strip() for c in row)
    ]
    if len(body) > IMPORT_MAX_ROWS:
        raise CommandError("partners.import.too_many_rows", rows=len(body), limit=IMPORT_MAX_ROWS)
    if not body:
        raise CommandError("partners.import.empty")
    errors: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, cells in body:
        if len(cells) != len(columns):
            errors.append(
                {
                    "line": number,
                    "key": "partners.import.row.width",
                    "data": {"cells": len(cells), "columns": len(columns)},
                }
            )
            continue
        control = _control(cells)
        if control is not None:
            errors.append(
                {
                    "line": number,
                    "key": "partners.import.row.control",
                    "data": {"column": titles[control[0]], "code": control[1]},
                }
            )
            continue
        record = {c: _cell(v) for c, v in zip(names, cells, strict=True) if c not in READ_ONLY}
        try:
            row = _row(ctx, record)
        except CommandError as exc:
            errors.append({"line": number, "key": exc.key, "data": exc.data})
            continue
        key = squash(row["name"])
        if key in seen:
            errors.append(
                {
                    "line": number,
                    "key": "partners.import.row.duplicate",
                    "data": {"name": row["name"], "other": seen[key]},
                }
            )
            continue
        seen[key] = number
        rows.append({"line": number, **row})
    if errors:
        raise CommandError(
            "partners.import.invalid",
            errors=[
                {"line": e["line"], "text": ctx.t(e["key"], **e["data"]).plain}
                for e in errors[:IMPORT_MAX_ERRORS]
            ],
            more=max(0, len(errors) - IMPORT_MAX_ERRORS),
            count=len(errors),
        )
    return rows


def _control(cells: Sequence[str]) -> tuple[int, str] | None:
    """The first cell holding a control character (ESC, BEL, a C1 control... which a
    terminal would act on), and that character's code point; None when there is none."""
    for index, cell in enumerate(cells):
        found = CONTROL.search(cell)
        if found:
            return index, f"U+{ord(found.group()):04X}"
    return None


def _cell(text: str) -> str:
    """A cell's value: without direction controls (which could make it read as something
    else), trimmed, and with the export's formula neutralising undone."""
    return unneutralise(without_bidi(text).strip())


def _split_tags(text: str) -> list[str]:
    tags = [name_text(t) for t in re.split(r"[,;]", text) if t.strip()]
    if any(len(t) > 50 for t in tags):
        raise ArgError("partners.arg.tag_too_long", limit=50)
    if len(tags) > MAX_TAGS:
        raise ArgError("partners.arg.too_many_tags", limit=MAX_TAGS)
    return tags


def _column(key: str) -> str | None:
    for column in COLUMNS:
        if loose_key(column) == key:
            return column
    return None


def _row(ctx: Context, record: dict[str, str]) -> dict[str, Any]:
    """One CSV row's values, checked with the same rules as the commands."""
    pctx = ctx.parse_context
    if not record.get("name"):
        raise CommandError("partners.import.row.no_name")
    row: dict[str, Any] = {"name": check_name(record["name"])}
    if record.get("kind"):
        row["kind"] = KIND.parse(record["kind"], pctx)
    if record.get("status"):
        row["status"] = STATUS.parse(record["status"], pctx)
    if record.get("social_economy"):
        row["social_economy"] = YESNO.parse(record["social_economy"], pctx)
    if record.get("tags"):
        row["tags"] = _split_tags(record["tags"])
    if record.get("owner"):
        if not USER_ID.fullmatch(record["owner"]):
            raise ArgError("core.arg.not_user", value=record["owner"])
        row["owner"] = record["owner"]
    if record.get("consortium_member"):
        row["consortium_member"] = consortium_member(ctx, record["consortium_member"])
    if record.get("website"):
        row["website"] = Website().parse(record["website"], pctx)
    if record.get("description"):
        row["description"] = record["description"][:2000]
    return row


FIELD_OF_COLUMN = {
    "kind": "kind",
    "status": "status",
    "social_economy": "social_economy",
    "tags": "tags",
    "owner": "owner",
    "consortium_member": "consortium_member",
    "website": "website",
    "description": "description",
}


async def _plan(ctx: Context, rows: Sequence[dict[str, Any]], *, force: bool) -> _Plan:
    """What confirming would do with each row, against the partners stored now."""
    repo = book(ctx)
    existing = await repo.by_keys(squash(r["name"]) for r in rows)
    excluded = set(rules(ctx).excluded_kinds)
    members = rules(ctx).consortium_members
    tags = await repo.tags_of(p.id for p in existing.values() if p.removed_at is None)
    plan = _Plan([], [], [])
    for row in rows:
        partner = existing.get(squash(row["name"]))
        if partner is None:
            kind = row.get("kind", PartnerKind.OTHER.value)
            if kind in excluded and not force:
                plan.skip.append(
                    {"line": row["line"], "name": row["name"], "why": "excluded", "kind": kind}
                )
                continue
            status = row.get("status", PartnerStatus.IDEA.value)
            if status == PartnerStatus.ACTIVE and members and not row.get("consortium_member"):
                plan.skip.append({"line": row["line"], "name": row["name"], "why": "no_consortium"})
                continue
            plan.create.append({"line": row["line"], "name": row["name"], "row": row})
            continue
        if partner.removed_at is not None:
            why = "merged" if partner.merged_into_id is not None else "removed"
            plan.skip.append({"line": row["line"], "name": partner.name, "why": why})
            continue
        changes: dict[str, Any] = {}
        for column, field_ in FIELD_OF_COLUMN.items():
            if column not in row:
                continue
            current = tags[partner.id] if field_ == "tags" else getattr(partner, field_)
            if field_ == "tags":
                if sorted(map(fold, row["tags"])) != sorted(map(fold, current)):
                    changes["tags"] = row["tags"]
            elif row[column] != current:
                changes[field_] = row[column]
        if row["name"] != partner.name:
            changes["name"] = row["name"]
        if "kind" in changes and changes["kind"] in excluded and not force:
            plan.skip.append(
                {
                    "line": row["line"],
                    "name": partner.name,
                    "why": "excluded",
                    "kind": changes["kind"],
                }
            )
            continue
        status = changes.get("status", partner.status)
        member = changes.get("consortium_member", partner.consortium_member)
        if status == PartnerStatus.ACTIVE and members and not member:
            plan.skip.append({"line": row["line"], "name": partner.name, "why": "no_consortium"})
            continue
        if not changes:
            plan.skip.append({"line": row["line"], "name": partner.name, "why": "unchanged"})
            continue
        plan.update.append(
            {
                "line": row["line"],
                "name": partner.name,
                "id": partner.id,
                "changes": changes,
                "before": {
                    f: (tags[partner.id] if f == "tags" else getattr(partner, f)) for f in changes
                },
            }
        )
    return plan


async def _preview(ctx: Context, plan: _Plan, *, file: str, changed: bool = False) -> None:
    await ctx.reply(
        "partners.import.preview",
        file=file,
        create=plan.create[:IMPORT_PREVIEW_LINES],
        update=plan.update[:IMPORT_PREVIEW_LINES],
        skip=plan.skip[:IMPORT_PREVIEW_LINES],
        counts=plan.counts(),
        changed=changed,
        prefix=ctx.prefix,
    )


@PARTNER.command(
    "import",
    fr="importer",
    args=[Arg("action", IMPORT_ACTION, required=False)],
    options=[O_FORCE],
    role=Role.MODERATOR,
)
async def import_(ctx: Context, args: Args) -> None:
    """Preview what a CSV file you posted would create or update; `confirm` applies it all."""
    if args["action"] is None:
        file, url = await ctx.posted_file()
        rows = read_csv(ctx, await ctx.fetch_file(url))
        force = bool(args["force"])
        plan = await _plan(ctx, rows, force=force)
        payload: dict[str, Any] = {
            "file": file,
            "rows": rows,
            "force": force,
            "counts": plan.counts(),
        }
        await IMPORT.save(ctx, payload)
        await _preview(ctx, plan, file=file)
        return
    pending = await IMPORT.take(ctx)
    if pending is None:
        raise CommandError("partners.import.nothing_pending", prefix=ctx.prefix)
    payload, fresh = pending
    if args["action"] == "cancel":
        await ctx.reply("partners.import.cancelled", file=payload["file"])
        return
    if not fresh:
        await ctx.reply("partners.import.expired", prefix=ctx.prefix)
        return
    plan = await _plan(ctx, payload["rows"], force=payload["force"])
    if plan.counts() != payload["counts"]:
        # The partners changed since the preview: show what confirming would do now.
        payload = {**payload, "counts": plan.counts()}
        await IMPORT.save(ctx, payload)
        await _preview(ctx, plan, file=payload["file"], changed=True)
        return
    await _apply(ctx, plan)
    await ctx.audit(
        "partner.import",
        file=payload["file"],
        created=len(plan.create),
        updated=len(plan.update),
        skipped=len(plan.skip),
    )
    await ctx.reply(
        "partners.import.done",
        file=payload["file"],
        created=len(plan.create),
        updated=len(plan.update),
        skipped=len(plan.skip),
    )


async def _apply(ctx: Context, plan: _Plan) -> None:
    """Create and update everything in the plan: one transaction, so all of it or nothing."""
    repo = book(ctx)
    await repo.create_many(
        [
            {
                **item["row"],
                "kind": item["row"].get("kind", PartnerKind.OTHER.value),
                "status": item["row"].get("status", PartnerStatus.IDEA.value),
            }
            for item in plan.create
        ],
        actor=ctx.sender,
        now=ctx.now,
        source="import",
    )
    for item in plan.update:
        partner = await repo.get(item["id"])
        if partner is None:  # removed between plan and apply: cannot happen in one transaction
            raise CommandError("partners.import.changed")
        await repo.update(partner, item["changes"], actor=ctx.sender, now=ctx.now)
