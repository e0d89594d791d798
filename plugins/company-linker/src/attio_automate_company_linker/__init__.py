"""attio-automate plugin: link a person to the company of their email domain.

Registers the action ``company_linker.link_company``: it takes the person's
first work email (personal mail domains are skipped), asserts a company with
that domain (creating it, named after the domain, if there is none) and sets
the person's ``company`` reference to it.  Use it from YAML::

    - id: link-new-people
      on: record.created
      object: people
      do:
        - action: company_linker.link_company
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attio_automate import ActionContext, ActionError, RegisterAction, hookimpl

PLUGIN_NAME = "company_linker"

#: Mail providers whose domain says nothing about where someone works.
PERSONAL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
    }
)

SCHEMA = {
    "type": "object",
    "properties": {
        "personal_domains": {"type": "array", "items": {"type": "string"}},
        "company_attribute": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}


def work_domain(emails: Any, personal: frozenset[str]) -> str | None:
    """The domain of the first email not at a personal mail provider."""
    for email in emails if isinstance(emails, list) else [emails]:
        if isinstance(email, str) and "@" in email:
            domain = email.rsplit("@", 1)[1].strip().lower()
            if domain and domain not in personal:
                return domain
    return None


def company_name(domain: str) -> str:
    """A readable default name: ``analytical-engines.example`` -> ``Analytical Engines``."""
    return domain.split(".")[0].replace("-", " ").title()


async def link_company(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    record = ctx.event.record
    if record is None or ctx.event.object != "people":
        raise ActionError("company_linker.link_company acts on people records")
    personal = PERSONAL_DOMAINS | frozenset(params.get("personal_domains", []))
    domain = work_domain(record.get("email_addresses"), personal)
    if domain is None:
        return {"linked": False, "reason": "no work email"}
    company = await _find(ctx, domain)
    if company is None:
        # Assert rather than create: another event may have added it meanwhile.
        company = await ctx.attio.assert_record(
            "companies",
            matching_attribute="domains",
            values={"domains": [{"domain": domain}], "name": [{"value": company_name(domain)}]},
        )
    company_id = company["id"]["record_id"]
    attribute = params.get("company_attribute", "company")
    await ctx.attio.update_record(
        "people",
        record["record_id"],
        {attribute: [{"target_object": "companies", "target_record_id": company_id}]},
    )
    return {"linked": True, "domain": domain, "company_id": company_id}


async def _find(ctx: ActionContext, domain: str) -> dict[str, Any] | None:
    """The company with ``domain``, left as it is (its name is not ours to change)."""
    async for company in ctx.attio.query_records("companies", filter={"domains": domain}, limit=1):
        return company
    return None


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register(
        "company_linker.link_company",
        link_company,
        schema=SCHEMA,
        description="Link the person to the company of their work email domain "
        "(asserting the company).",
        # An assert and a reference write: running it twice links once, so an
        # interrupted run is simply run again.
        idempotent=True,
    )
