"""审批工作台 pages (role `officer`). Placeholder home until its pages land."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..session import Person
from ..web import Audience, render, require

router = APIRouter(prefix="/officer")
AUDIENCE = Audience("officer", "审批工作台", router, roles={"officer"}, home="/officer")


@router.get("")
async def home(request: Request, person: Person = Depends(require("officer"))) -> Response:
    return render(request, "officer/home.html", audience=AUDIENCE)
