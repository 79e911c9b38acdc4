"""窗口受理 pages (role `community_agent`). Placeholder home until its pages land."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..session import Person
from ..web import Audience, render, require

router = APIRouter(prefix="/clerk")
AUDIENCE = Audience("clerk", "窗口受理", router, roles={"community_agent"}, home="/clerk")


@router.get("")
async def home(request: Request, person: Person = Depends(require("community_agent"))) -> Response:
    return render(request, "clerk/home.html", audience=AUDIENCE)
