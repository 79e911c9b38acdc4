"""Bearer-JWT authentication shared by every service's HTTP API.

Tokens are verified with a configured public key (PEM: Ed25519 -> EdDSA, EC P-256 -> ES256,
RSA -> RS256) or with keys from a JWKS URL (the algorithm then follows the key, `kid` picks it).
Required claims: ``sub`` (never holding an ID number: a resident's real-name ID number is the
``id_number`` claim, which only intake reads; issue 15), ``role`` (one of `ROLES`), ``iat``
and ``exp``, at most
`AUTH_MAX_LIFETIME_SECONDS` apart (a token valid until 9999 is refused); ``org_id`` and ``tier``
(one of `TIERS`) for the centers' staff (`STAFF_ROLES`), optional for the other roles; ``iss`` /
``aud`` are checked when configured, and must be configured with a JWKS URL (an identity
provider's keys sign tokens for other systems too) and in production (`eventkit.production`).

Settings (environment)::

    AUTH_PUBLIC_KEY        PEM text of the verification key
    AUTH_PUBLIC_KEY_FILE   ... or a file holding it
    AUTH_JWKS_URL          ... or a JWKS endpoint (cached; refreshed on an unknown kid)
    AUTH_ISSUER            required `iss` (must be set with AUTH_JWKS_URL and in production)
    AUTH_AUDIENCE          required `aud` (likewise)
    AUTH_LEEWAY_SECONDS    clock skew allowed on exp/nbf/iat (30)
    AUTH_MAX_LIFETIME_SECONDS  the longest `exp - iat` accepted (86400: a working day's
                           token; an identity provider issues shorter ones)

FastAPI use::

    @app.get("/v1/inspect/...")
    async def q(p: Principal = Depends(require_roles("inspector"))): ...

Missing or invalid token -> 401 with ``WWW-Authenticate: Bearer``; a valid token without one of
the roles -> 403 with ``{"detail": {"reason": ..., "role": ..., "required": [...]}}``. The app
holds its verifier in ``app.state.auth`` (`install`); without one, a verifier is built from
the environment on first use.

Dev tokens::

    python -m eventkit.auth keygen [--alg EdDSA|ES256|RS256] [--out private.pem]
    python -m eventkit.auth mint --role inspector --sub insp-1 --org ruian --tier city \\
        [--key-file private.pem] [--ttl 3600] [--issuer ...] [--audience ...]
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import HTTPException, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .personal_data import holds_id_number, new_account_id

ROLES: frozenset[str] = frozenset(
    {"resident", "community_agent", "officer", "center_head", "inspector", "admin"}
)
ALGORITHMS = ("EdDSA", "ES256", "RS256")
STAFF_ROLES: frozenset[str] = frozenset({"community_agent", "officer", "center_head"})
"""The centers' staff: they act at a center (accept at its window, decide for its office,
watch its queue), so their token names that center (``org_id``) and its tier."""
TIERS: frozenset[str] = frozenset({"community", "town", "city"})


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    public_key: str | None = None
    public_key_file: Path | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: int = 30
    max_lifetime_seconds: int = Field(default=86400, gt=0)

    def overlaid(
        self,
        *,
        public_key: str | None = None,
        public_key_file: Path | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> AuthSettings:
        """These (`AUTH_*`) settings with one service's own values (`<SVC>_AUTH_*`) laid over
        them: a service-specific key (key, key file or JWKS URL) replaces the shared one
        entirely; an issuer or audience given replaces the shared one."""
        base = self
        if public_key or public_key_file or jwks_url:
            base = base.model_copy(
                update={"public_key": None, "public_key_file": None, "jwks_url": None}
            )
        own = {
            "public_key": public_key,
            "public_key_file": public_key_file,
            "jwks_url": jwks_url,
            "issuer": issuer,
            "audience": audience,
        }
        return base.model_copy(update={k: v for k, v in own.items() if v is not None})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified token's subject, role and where they work."""

    sub: str
    role: str
    org_id: str | None = None
    tier: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class AuthError(Exception):
    """The token is missing, malformed, expired, or not signed by a trusted key."""


def _alg_for(key: Any) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp256r1":
            raise ValueError(f"EC keys must be P-256 (ES256), not {key.curve.name}")
        return "ES256"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    raise ValueError(f"unsupported key type {type(key).__name__}")


CACHE_SIZE = 4096
CACHE_SECONDS = 60.0


class TokenVerifier:
    """Verifies bearer tokens into `Principal`s (one per app; thread- and task-safe).

    A verified token is remembered (the exact token string, at most `CACHE_SIZE` of them) for
    `CACHE_SECONDS` and never past its `exp` (+ leeway): a client sends the same token with
    every request, and the signature check plus PyJWT's claim checks were 5 % of routing's CPU
    in the pipeline benchmark (bench/PIPELINE.md). Only successes are cached; a JWKS key
    withdrawn from the endpoint stops being honoured for cached tokens within a minute."""

    def __init__(self, settings: AuthSettings | None = None) -> None:
        self.settings = settings or AuthSettings()
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()
        s = self.settings
        self._key: Any = None
        self._alg: str | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if s.jwks_url and not (s.issuer and s.audience):
            raise ValueError(
                "AUTH_ISSUER and AUTH_AUDIENCE are required with AUTH_JWKS_URL: an identity "
                "provider's keys sign tokens for other systems too"
            )
        pem = s.public_key
        if pem is None and s.public_key_file is not None:
            pem = s.public_key_file.read_text(encoding="utf-8")
        if pem:
            self._key = serialization.load_pem_public_key(pem.encode())
            self._alg = _alg_for(self._key)
        elif s.jwks_url:
            self._jwks = jwt.PyJWKClient(s.jwks_url, cache_keys=True, lifespan=300)

    @property
    def configured(self) -> bool:
        return self._key is not None or self._jwks is not None

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        s = self.settings
        options: Any = {"require": ["exp", "iat", "sub"]}
        if s.audience is None:
            options["verify_aud"] = False
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=s.issuer,
            audience=s.audience,
            leeway=s.leeway_seconds,
            options=options,
        )
        lifetime = claims["exp"] - claims["iat"]
        if not isinstance(lifetime, int | float) or lifetime > s.max_lifetime_seconds:
            raise jwt.InvalidTokenError(
                f"lifetime exp - iat = {lifetime} s exceeds the maximum "
                f"{s.max_lifetime_seconds} s (AUTH_MAX_LIFETIME_SECONDS)"
            )
        return claims

    def verify_sync(self, token: str) -> Principal:
        now = time.time()
        with self._lock:  # JWKS verification runs in threads
            hit = self._cache.get(token)
            if hit is not None:
                if now < hit[1]:
                    self._cache.move_to_end(token)
                    return hit[0]
                del self._cache[token]
        principal = self._verify_uncached(token)
        exp = principal.claims.get("exp")
        if isinstance(exp, int | float):
            until = min(now + CACHE_SECONDS, exp + self.settings.leeway_seconds)
            with self._lock:
                self._cache[token] = (principal, until)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return principal

    def _verify_uncached(self, token: str) -> Principal:
        if not self.configured:
            raise AuthError("authentication is not configured (AUTH_PUBLIC_KEY / AUTH_JWKS_URL)")
        try:
            if self._jwks is not None:
                signing = self._jwks.get_signing_key_from_jwt(token)
                alg = signing.algorithm_name
                if alg not in ALGORITHMS:
                    raise AuthError(f"algorithm {alg} is not accepted")
                claims = self._decode(token, signing.key, [alg])
            else:
                assert self._alg is not None
                claims = self._decode(token, self._key, [self._alg])
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWKClientError as exc:
            raise AuthError(f"no key for this token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        role = claims.get("role")
        if not isinstance(role, str) or role not in ROLES:  # a list is not a role (nor hashable)
            raise AuthError(f"invalid token: role must be one of {sorted(ROLES)}, not {role!r}")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError("invalid token: empty subject")
        if holds_id_number(sub):
            raise AuthError(
                "invalid token: sub must be a pseudonymous account id, never an ID number "
                "(a resident's real-name ID number goes in the id_number claim, which only "
                "intake reads)"
            )
        org, tier = claims.get("org_id"), claims.get("tier")
        if role in STAFF_ROLES:
            _require_center(role, org, tier)
        return Principal(
            sub=sub,
            role=role,
            org_id=org if isinstance(org, str) else None,
            tier=tier if isinstance(tier, str) else None,
            claims=claims,
        )

    async def verify(self, token: str) -> Principal:
        if self._jwks is not None:  # PyJWKClient fetches with blocking urllib
            return await asyncio.to_thread(self.verify_sync, token)
        return self.verify_sync(token)


def _require_center(role: str, org: Any, tier: Any) -> None:
    """A staff token names the center the person works at and its tier: every rule about
    staff (首问负责 at their center, their office's queue, a head's units below) starts
    there, and no service may guess it or take it from a request body."""
    if not isinstance(org, str) or not org:
        raise AuthError(
            f"invalid token: a {role} token must name the staff member's center (org_id)"
        )
    if tier not in TIERS:
        raise AuthError(
            f"invalid token: a {role} token must name the center's tier "
            f"({', '.join(sorted(TIERS))}), not {tier!r}"
        )


def install(app: Any, verifier: TokenVerifier) -> None:
    app.state.auth = verifier


_default: TokenVerifier | None = None


def _verifier_for(request: Request) -> TokenVerifier:
    global _default
    v = getattr(request.app.state, "auth", None)
    if v is not None:
        return v  # type: ignore[no-any-return]
    if _default is None:
        _default = TokenVerifier()
    return _default


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"field": "Authorization", "reason": reason},
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: any valid token (401 otherwise)."""
    token = bearer_token(request)
    if token is None:
        raise HTTPException(
            status_code=401,
            detail={"field": "Authorization", "reason": "missing bearer token"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = await _verifier_for(request).verify(token)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from None
    # A service may map the verified caller to who it is inside that service (intake: a
    # resident's pseudonymous subject instead of the ID number, issue 15).
    hook = getattr(request.app.state, "principal_hook", None)
    return await hook(principal) if hook is not None else principal


async def optional_principal(request: Request) -> Principal | None:
    """FastAPI dependency for public routes that show more to some roles: None if no token
    (an invalid token is still a 401: a caller who sent one wants to know)."""
    if request.headers.get("authorization") is None:
        return None
    return await authenticate(request)


AUTH_DEPENDENCIES: dict[Any, str] = {authenticate: "required", optional_principal: "optional"}
"""The dependencies that read the bearer token, and how: the OpenAPI's `security` of an
operation follows from them (`eventkit.openapi`). `require_roles` adds each one it makes."""


def require_roles(*roles: str) -> Any:
    """FastAPI dependency factory: a valid token whose role is one of `roles` (403 otherwise)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in allowed:
            raise HTTPException(
                status_code=403,
                detail={
                    "field": "role",
                    "reason": f"role {principal.role!r} may not do this; "
                    f"it needs one of: {', '.join(sorted(allowed))}",
                    "role": principal.role,
                    "required": sorted(allowed),
                },
            )
        return principal

    dependency.__name__ = f"require_roles_{'_'.join(sorted(allowed))}"
    AUTH_DEPENDENCIES[dependency] = "roles"
    return dependency


# -- dev tokens -------------------------------------------------------------------------------


def generate_private_key(alg: str = "EdDSA") -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}")


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_private_key(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def mint_token(
    private_key: Any,
    *,
    sub: str,
    role: str,
    org_id: str | None = None,
    tier: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
    kid: str | None = None,
    now: float | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}")
    iat = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": iat, "exp": iat + ttl_seconds}
    if org_id is not None:
        claims["org_id"] = org_id
    if tier is not None:
        claims["tier"] = tier
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    claims.update(extra or {})
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, private_key, algorithm=_alg_for(private_key), headers=headers)


def mint_resident_token(
    private_key: Any,
    id_number: str,
    *,
    account_id: str | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
    **kwargs: Any,
) -> str:
    """A resident's token as a real-name identity provider (浙里办) issues it: `sub` is a
    pseudonymous account id (fresh unless given), the ID number is the `id_number` claim
    (dev and tests only: production tokens come from the IdP)."""
    extra = {**(kwargs.pop("extra", None) or {}), "id_number": id_number}
    return mint_token(
        private_key,
        sub=account_id or new_account_id(),
        role="resident",
        ttl_seconds=ttl_seconds,
        now=now,
        extra=extra,
        **kwargs,
    )


cli = typer.Typer(
    name="eventkit.auth",
    help="Dev keys and tokens for the services' bearer-JWT authentication.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cli.command()
def keygen(
    alg: Annotated[str, typer.Option(help="EdDSA (Ed25519), ES256 or RS256.")] = "EdDSA",
    out: Annotated[
        Path | None,
        typer.Option(help="Write the private key here (mode 600) and its public key to OUT.pub"),
    ] = None,
) -> None:
    """Create a signing key pair: the private PEM mints, the public PEM goes to AUTH_PUBLIC_KEY."""
    key = generate_private_key(alg)
    if out is not None:
        out.write_text(private_pem(key))
        out.chmod(0o600)
        out.with_name(out.name + ".pub").write_text(public_pem(key))
        typer.echo(f"private key: {out}\npublic key:  {out}.pub")
    else:
        typer.echo(private_pem(key) + public_pem(key), nl=False)


@cli.command()
def mint(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(sorted(ROLES))}.")],
    sub: Annotated[str, typer.Option(help="Subject: the staff or resident id.")],
    org: Annotated[str | None, typer.Option(help="org_id claim.")] = None,
    tier: Annotated[str | None, typer.Option(help="tier claim (community, town, city).")] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(help="Private PEM (default: $AUTH_PRIVATE_KEY_FILE or $AUTH_PRIVATE_KEY)."),
    ] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    issuer: Annotated[str | None, typer.Option(help="iss claim.")] = None,
    audience: Annotated[str | None, typer.Option(help="aud claim.")] = None,
    id_number: Annotated[
        str | None,
        typer.Option(help="A resident's real-name ID number (the id_number claim; never --sub)."),
    ] = None,
) -> None:
    """Print a signed token (dev and tests only: production tokens come from the IdP)."""
    import os

    pem = None
    env_file = os.environ.get("AUTH_PRIVATE_KEY_FILE")
    path = key_file or (Path(env_file) if env_file else None)
    if path is not None:
        pem = path.read_text(encoding="utf-8")
    elif os.environ.get("AUTH_PRIVATE_KEY"):
        pem = os.environ["AUTH_PRIVATE_KEY"]
    if pem is None:
        typer.echo("no key: pass --key-file or set AUTH_PRIVATE_KEY_FILE", err=True)
        raise typer.Exit(2)
    try:
        token = mint_token(
            load_private_key(pem),
            sub=sub,
            role=role,
            org_id=org,
            tier=tier,
            ttl_seconds=ttl,
            issuer=issuer,
            audience=audience,
            extra={"id_number": id_number} if id_number else None,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)


if __name__ == "__main__":
    cli(prog_name="python -m eventkit.auth")
    sys.exit(0)
