"""Domain rules as plain functions over a SQLAlchemy session — no Flask in here.

Who commits: a domain function that changes data flushes (so ids exist and constraints
are checked) and never commits; the view or CLI command that called it commits once, when
every step succeeded. Two domain steps so compose into one transaction, and a refused or
failed request leaves nothing half-written: the request's session is closed (rolled
back) at teardown, and ``quickcrm/web/errors.py`` rolls back before a server error page.

The exceptions, each saying so in its docstring: a step that must be its own transaction
whatever happens next (a rate-limit counter, a claim that makes a conversion happen once,
an offline action's UUID whose UNIQUE constraint settles a race), and the modules not yet
moved to the rule (docs/architecture.md, "Transactions").
"""
