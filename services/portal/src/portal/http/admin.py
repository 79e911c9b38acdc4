"""系统管理 pages (role `admin`). Placeholder home until its pages land."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..session import Person
from ..web import Audience, render, require

router = APIRouter(prefix="/admin")
AUDIENCE = Audience("admin", "系统管理", router, roles={"admin"}, home="/admin")


@router.get("")
async def home(request: Request, person: Person = Depends(require("admin"))) -> Response:
    return render(request, "admin/home.html", audience=AUDIENCE)
