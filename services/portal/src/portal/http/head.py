"""中心主任 pages (role `center_head`). Placeholder home until its pages land."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..session import Person
from ..web import Audience, render, require

router = APIRouter(prefix="/head")
AUDIENCE = Audience("head", "中心主任", router, roles={"center_head"}, home="/head")


@router.get("")
async def home(request: Request, person: Person = Depends(require("center_head"))) -> Response:
    return render(request, "head/home.html", audience=AUDIENCE)
