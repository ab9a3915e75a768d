"""Rule-based cohorts (migration 0005): a cohort whose membership a users filter defines.

One row per cohort. ``spec`` is a UserFilter as JSON (services.users_query). The rule never
changes the site by itself: after each sync the console compares the filter's users with the
cohort's members (``joins``/``leaves`` = the last counts seen, ``checked_at`` when) and offers
the difference; ``in_step_since`` is when the cohort last came back in step with its rule.
``remove_others`` = 0 keeps members the filter does not match (the rule only adds).

There is deliberately no foreign key to ``cohorts``: a cohort deleted on the site leaves its
rule visible ("the cohort is gone") for the admin to delete, instead of vanishing with a sync.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, Table, Text, UniqueConstraint

from lms_console.services.cache.schema import metadata

cohort_rules = Table(
    "cohort_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cohortid", Integer, nullable=False),
    Column("spec", Text, nullable=False, server_default="{}"),
    Column("remove_others", Boolean, nullable=False, server_default="1"),
    Column("created_at", Integer, nullable=False, server_default="0"),
    Column("updated_at", Integer, nullable=False, server_default="0"),
    Column("checked_at", Integer, nullable=True),
    Column("joins", Integer, nullable=True),
    Column("leaves", Integer, nullable=True),
    Column("in_step_since", Integer, nullable=True),
    UniqueConstraint("cohortid", name="uq_cohort_rules_cohortid"),
)
