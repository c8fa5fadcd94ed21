"""Access to the ledger API: principals with roles, API keys, regulators' grants, and the rule
every route declares (docs/api.md, "Access: principals, roles and keys").

- :mod:`.principals`: the pure rules (roles, what each role sees, whose data);
- :mod:`.keys`: API keys and the server secret;
- :mod:`.store`: principals, keys and grants in the database;
- :mod:`.dependencies`: the FastAPI dependencies (``CurrentPrincipal``, ``require``,
  ``declare``, ``VisibleEnterprises``) and the rule table read back from the routes.
"""

from .dependencies import (
    ACCESS_STATUSES,
    ANY_PRINCIPAL,
    DEVICE_SIGNATURE,
    PUBLIC,
    Authenticator,
    CurrentPrincipal,
    Rule,
    VisibleEnterprises,
    check_route_rules,
    check_visible,
    declare,
    require,
    route_rules,
)
from .principals import Data, Grant, Principal, Role, roles_seeing, visible_enterprises

__all__ = [
    "ACCESS_STATUSES",
    "ANY_PRINCIPAL",
    "DEVICE_SIGNATURE",
    "PUBLIC",
    "Authenticator",
    "CurrentPrincipal",
    "Data",
    "Grant",
    "Principal",
    "Role",
    "Rule",
    "VisibleEnterprises",
    "check_route_rules",
    "check_visible",
    "declare",
    "require",
    "roles_seeing",
    "route_rules",
    "visible_enterprises",
]
