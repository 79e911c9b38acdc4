"""The portal's page modules, one per audience, in the order their routes are tried.

This list is the only place a page module is registered: a new audience adds its module
(`router` + `AUDIENCE`, see `portal.web`) and one line here.
"""

AUDIENCES = [
    "signin",
    "public",
    "resident",
    "clerk",
    "officer",
    "head",
    "inspector",
    "sitreports",
    "admin",
]
