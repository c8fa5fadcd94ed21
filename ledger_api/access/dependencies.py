"""Access rules as FastAPI dependencies, declared on every route and checked before it runs.

Every route of the application declares exactly one access :class:`Rule` through its
dependencies, so that the rule sits on the route and can be read back from it
(:func:`route_rule`, :func:`check_route_rules`):

- ``dependencies=[declare(PUBLIC)]``: anyone (``/healthz``, ``/readyz``);
- ``dependencies=[declare(DEVICE_SIGNATURE)]``: no API key; the route authenticates each item
  by its device signature (``POST /v1/uplink``, docs/protocol.md 10);
- ``principal: Annotated[Principal, require(Role.A, Role.B)]`` (or
  ``dependencies=[require(...)]``): an active principal of one of those roles, authenticated by
  an API key sent as ``Authorization: Bearer <key>``; ``require(*roles_seeing(Data.X))`` derives
  the roles from the data the route serves (:data:`~ledger_api.access.principals.SEES`);
- :data:`CurrentPrincipal`: any active principal (every role).

A route may combine :data:`CurrentPrincipal`, :data:`VisibleEnterprises` and one ``require``:
its rule is then the narrowest role set. A route with no rule, or with a public or
device-signature rule beside a role rule, is refused by :func:`check_route_rules`, which
:func:`ledger_api.app.create_app` runs on the finished application.

Refusals raise :class:`~ledger_api.errors.AccessRefused`, answered as problem+json: 401
``credentials`` (no ``Authorization`` header, another scheme, no key, an unknown or revoked key or
principal; with ``WWW-Authenticate: Bearer``), 403 ``role`` (a role the route does not admit),
403 ``scope`` (:func:`check_visible`: an enterprise the principal may not see) and 503
``unavailable`` (the database cannot be asked now; with ``Retry-After``). A protected route
declares ``responses=problem_responses(*ACCESS_STATUSES)``. Keys never reach a
log: a refusal logs the key id at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Route

from mrv_core.codec import format_address

from ..access_log import note_principal
from ..errors import AccessRefused, ApiConfigError
from .principals import Principal, Role, visible_enterprises
from .store import authenticate, grants_of

__all__ = [
    "ACCESS_STATUSES",
    "ANY_PRINCIPAL",
    "DEVICE_SIGNATURE",
    "PUBLIC",
    "Authenticator",
    "CurrentPrincipal",
    "Rule",
    "VisibleEnterprises",
    "check_route_rules",
    "check_visible",
    "current_principal",
    "declare",
    "require",
    "route_rule",
    "route_rules",
]

_log: Any = structlog.get_logger("ledger_api.access")


@dataclass(frozen=True)
class Rule:
    """Who may call a route: ``public``, ``device_signature``, or ``principal`` with the
    ``roles`` admitted."""

    kind: Literal["public", "device_signature", "principal"]
    roles: frozenset[Role] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if (self.kind == "principal") != bool(self.roles):
            wanted = "some" if self.kind == "principal" else "no"
            raise ValueError(f"a {self.kind} rule takes {wanted} roles, got "
                             f"{sorted(self.roles)}")

    @classmethod
    def of_roles(cls, *roles: Role) -> Rule:
        return cls("principal", frozenset(roles))

    def __str__(self) -> str:
        if self.kind != "principal":
            return self.kind
        return "roles " + ", ".join(sorted(r.value for r in self.roles))


#: The statuses a route with a role rule may answer before it runs (its ``responses=``).
ACCESS_STATUSES = (401, 403, 503)

PUBLIC = Rule("public")
DEVICE_SIGNATURE = Rule("device_signature")
ANY_PRINCIPAL = Rule("principal", frozenset(Role))


@dataclass(frozen=True)
class Authenticator:
    """Checks ``Authorization`` headers against the database's keys under the server secret
    (``None``: no secret configured, so no key can be checked and every key is refused)."""

    sessions: sessionmaker[Session]
    server_secret: bytes | None

    def principal(self, authorization: str | None) -> Principal:
        """The principal an ``Authorization`` header's key belongs to; raises
        :class:`AccessRefused` (401)."""
        if authorization is None:
            raise AccessRefused(401, "credentials", "expected an API key in `Authorization: "
                                                    "Bearer <key>`, got no Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            # Name a scheme only when it looks like one: a bare key must not reach the log.
            if scheme.lower() == "bearer":
                got = "no key after `Bearer`"
            else:
                got = f"the scheme {scheme!r}" if scheme.isalpha() and len(scheme) <= 12 \
                    else "no scheme"
            raise AccessRefused(401, "credentials", "expected `Authorization: Bearer <key>`, "
                                                    f"got {got}")
        if self.server_secret is None:
            raise AccessRefused(401, "credentials", "this ledger has no API secret "
                                                    "(MRV_API_SECRET): no key can be checked")
        with _database_answers(), self.sessions() as session:
            return authenticate(session, token.strip(), self.server_secret)

    def visible(self, principal: Principal) -> frozenset[bytes]:
        """The enterprises ``principal`` may see, its grants read now for a regulator."""
        if principal.role is not Role.REGULATOR:
            return visible_enterprises(principal)
        with _database_answers(), self.sessions() as session:
            return visible_enterprises(principal, grants_of(session, principal.id))


@contextmanager
def _database_answers() -> Iterator[None]:
    """Turn a database that is busy or unreachable into :class:`AccessRefused` 503
    (``unavailable``): the key cannot be checked now, which is neither 401 nor 403."""
    try:
        yield
    except OperationalError:
        raise AccessRefused(503, "unavailable", "the database is busy or unreachable: the key "
                                                "cannot be checked now; try again later") from None


def _authenticator(request: Request) -> Authenticator:
    found = getattr(request.app.state, "authenticator", None)
    if not isinstance(found, Authenticator):
        raise ApiConfigError("the application has no Authenticator (app.state.authenticator)")
    return found


#: Declares the bearer scheme in the OpenAPI document (``securitySchemes``, and ``security`` on
#: every route that needs a key); the header itself is read by :class:`Authenticator`, which
#: tells a missing header from another scheme.
_BEARER = HTTPBearer(auto_error=False, scheme_name="apiKey",
                     description="An API key from `mrv api principal add`, sent as "
                                 "`Authorization: Bearer <key>` (docs/api.md, Access).")


def current_principal(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> Principal:
    """The active principal of the request's API key (a FastAPI dependency); raises
    :class:`AccessRefused` (401)."""
    try:
        principal = _authenticator(request).principal(request.headers.get("authorization"))
    except AccessRefused as exc:
        _log.info("access_refused", status=exc.status, check=exc.check, detail=exc.detail,
                  method=request.method, path=request.url.path)
        raise
    note_principal(request, principal.id)
    return principal


#: The request's authenticated principal, any role.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class _Require:
    """The dependency of :func:`require`: the current principal if its role is admitted."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        if principal.role not in self.rule.roles:
            _log.info("access_refused", status=403, check="role", principal=principal.id,
                      role=principal.role.value, method=request.method, path=request.url.path)
            raise AccessRefused(403, "role", f"this route admits {self.rule}; principal "
                                             f"{principal.id} is {principal.role.value}")
        return principal


class _Declared:
    """The dependency of :func:`declare` for a route that needs no principal: does nothing,
    carries the route's rule."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __call__(self) -> None:
        return None


def require(*roles: Role) -> Any:
    """A dependency (``Depends``) giving the current principal if its role is one of
    ``roles``; raises :class:`AccessRefused` 401 without a valid key, 403 ``role`` otherwise."""
    return Depends(_Require(Rule.of_roles(*roles)))


def declare(rule: Rule) -> Any:
    """A dependency (``Depends``) declaring ``rule`` on a route: :func:`require` for a role
    rule, a marker that checks nothing for :data:`PUBLIC` and :data:`DEVICE_SIGNATURE`."""
    if rule.kind == "principal":
        return require(*rule.roles)
    return Depends(_Declared(rule))


def _visible(request: Request, principal: CurrentPrincipal) -> frozenset[bytes]:
    return _authenticator(request).visible(principal)


#: The enterprises whose data the current principal may see
#: (:func:`~ledger_api.access.principals.visible_enterprises`, a regulator's grants read now).
VisibleEnterprises = Annotated[frozenset[bytes], Depends(_visible)]


def check_visible(visible: frozenset[bytes], enterprise: bytes) -> None:
    """Raise :class:`AccessRefused` (403 ``scope``) unless ``enterprise`` is in ``visible``."""
    if enterprise not in visible:
        raise AccessRefused(403, "scope", f"enterprise {format_address(enterprise)} is not "
                                          "visible to this principal")


# -- reading the rules back from the routes -------------------------------------------------------


def _rules(dependant: Dependant) -> Iterator[Rule]:
    for dependency in dependant.dependencies:
        call = dependency.call
        if isinstance(call, _Require | _Declared):
            yield call.rule
        elif call is current_principal:
            yield ANY_PRINCIPAL
        yield from _rules(dependency)


#: FastAPI's own documentation routes (``app.openapi_url`` and friends): public.
def _framework_paths(app: FastAPI) -> set[str]:
    return {p for p in (app.openapi_url, app.docs_url, app.redoc_url,
                        app.swagger_ui_oauth2_redirect_url) if p}


def route_rule(app: FastAPI, route: BaseRoute) -> Rule | None:
    """The access rule ``route`` declares, ``None`` when it declares none; raises
    :class:`ApiConfigError` when its declarations contradict each other."""
    if not isinstance(route, APIRoute):
        return PUBLIC if isinstance(route, Route) and route.path in _framework_paths(app) \
            else None
    rules = set(_rules(route.dependant))
    if not rules:
        return None
    if len(rules) == 1:
        return rules.pop()
    if any(rule.kind != "principal" for rule in rules):
        raise ApiConfigError(f"route {route.path} declares contradicting access rules: "
                             f"{', '.join(sorted(map(str, rules)))}")
    roles = frozenset.intersection(*(rule.roles for rule in rules))
    if not roles:
        raise ApiConfigError(f"route {route.path} admits no role: "
                             f"{', '.join(sorted(map(str, rules)))}")
    return Rule("principal", roles)


def route_rules(app: FastAPI) -> dict[tuple[str, str], Rule | None]:
    """(method, path) -> rule of every route of ``app`` (``HEAD`` left out when ``GET`` is
    there: Starlette answers both)."""
    table: dict[tuple[str, str], Rule | None] = {}
    for route in app.routes:
        methods = getattr(route, "methods", None) or {"*"}
        rule = route_rule(app, route)
        for method in sorted(methods - {"HEAD"} if "GET" in methods else methods):
            table[(method, getattr(route, "path", repr(route)))] = rule
    return table


def check_route_rules(app: FastAPI) -> None:
    """Raise :class:`ApiConfigError` naming every route of ``app`` that declares no access
    rule."""
    missing = sorted(f"{method} {path}" for (method, path), rule in route_rules(app).items()
                     if rule is None)
    if missing:
        raise ApiConfigError(f"routes without an access rule (ledger_api.access): "
                             f"{', '.join(missing)}")
