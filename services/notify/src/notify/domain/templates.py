"""Chinese text templates, one file each under `notify/templates/` (see its README).

Kept as files rather than code so the wording can be reviewed and changed by the people who
answer residents' questions, without touching the planner. Rendering is strict
(`str.format_map`): a placeholder the context does not fill raises `KeyError`, and the unit
tests render every template, so a typo never reaches a resident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    body: str


class TemplateError(ValueError):
    pass


def parse_template(name: str, text: str) -> Template:
    subject: str | None = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            continue
        if line.startswith("subject:") and subject is None:
            subject = line.removeprefix("subject:").strip()
            continue
        if line.strip() == "---":
            if subject is None:
                raise TemplateError(f"template {name}: no 'subject:' line before '---'")
            body = "\n".join(lines[i + 1 :]).strip("\n")
            if not body:
                raise TemplateError(f"template {name}: empty body")
            return Template(name, subject, body)
        if line.strip():
            raise TemplateError(f"template {name}: unexpected line before '---': {line!r}")
    raise TemplateError(f"template {name}: no '---' line")


@cache
def load_templates() -> Mapping[str, Template]:
    """Every `notify/templates/*.txt`, by file name without the extension."""
    folder = resources.files("notify") / "templates"
    out: dict[str, Template] = {}
    for f in folder.iterdir():
        if f.name.endswith(".txt"):
            name = f.name.removesuffix(".txt")
            out[name] = parse_template(name, f.read_text(encoding="utf-8"))
    return out


def render(template: Template, context: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) with every placeholder filled; KeyError names a missing one."""
    return template.subject.format_map(context), template.body.format_map(context)
