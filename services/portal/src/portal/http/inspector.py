"""纪检监察 pages (role `inspector`). Placeholder home until its pages land."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..session import Person
from ..web import Audience, render, require

router = APIRouter(prefix="/inspector")
AUDIENCE = Audience("inspector", "纪检监察", router, roles={"inspector"}, home="/inspector")


@router.get("")
async def home(request: Request, person: Person = Depends(require("inspector"))) -> Response:
    return render(request, "inspector/home.html", audience=AUDIENCE)
