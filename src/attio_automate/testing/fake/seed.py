"""The standard workspace the fake starts with.

Objects ``people``, ``companies`` and ``deals`` with Attio's usual attributes
(personal name, email addresses, domains, record references, a deal stage
status, a currency value, a select), a ``sales`` list of people with a
``stage`` status, and two workspace members.
"""

from __future__ import annotations

from attio_automate.testing.fake.model import Attribute, Choice, List, Member, Object, new_id
from attio_automate.testing.fake.workspace import Workspace

DEAL_STAGES = ("Lead", "In Progress", "Won 🎉", "Lost")
SALES_STAGES = ("Lead", "Qualified", "Customer", "Churned")
CATEGORIES = ("B2B", "B2C", "SaaS", "Hardware", "Services")


def _attribute(slug: str, title: str, kind: str, **options: object) -> Attribute:
    return Attribute(id=new_id(), slug=slug, title=title, type=kind, **options)  # type: ignore[arg-type]


def _choices(titles: tuple[str, ...]) -> list[Choice]:
    return [Choice(id=new_id(), title=title) for title in titles]


def seed_standard(workspace: Workspace) -> Workspace:
    """Add the standard objects, list and members to ``workspace``; return it."""
    created = workspace.now()
    people = Object(
        id=new_id(), slug="people", singular_noun="Person", plural_noun="People", created_at=created
    )
    people.add(_attribute("name", "Name", "personal-name"))
    people.add(
        _attribute(
            "email_addresses",
            "Email addresses",
            "email-address",
            is_multiselect=True,
            is_unique=True,
        )
    )
    people.add(_attribute("job_title", "Job title", "text"))
    people.add(_attribute("description", "Description", "text"))
    people.add(_attribute("phone_numbers", "Phone numbers", "phone-number", is_multiselect=True))
    people.add(_attribute("company", "Company", "record-reference", target_object="companies"))

    companies = Object(
        id=new_id(),
        slug="companies",
        singular_noun="Company",
        plural_noun="Companies",
        created_at=created,
    )
    companies.add(_attribute("name", "Name", "text"))
    companies.add(_attribute("domains", "Domains", "domain", is_multiselect=True, is_unique=True))
    companies.add(_attribute("description", "Description", "text"))
    companies.add(
        _attribute(
            "categories", "Categories", "select", is_multiselect=True, choices=_choices(CATEGORIES)
        )
    )
    companies.add(
        _attribute("team", "Team", "record-reference", is_multiselect=True, target_object="people")
    )

    deals = Object(
        id=new_id(), slug="deals", singular_noun="Deal", plural_noun="Deals", created_at=created
    )
    deals.add(_attribute("name", "Deal name", "text", is_required=True))
    deals.add(_attribute("stage", "Deal stage", "status", choices=_choices(DEAL_STAGES)))
    deals.add(_attribute("value", "Deal value", "currency", currency_code="USD"))
    deals.add(_attribute("owner", "Deal owner", "actor-reference"))
    deals.add(
        _attribute(
            "associated_people",
            "Associated people",
            "record-reference",
            is_multiselect=True,
            target_object="people",
        )
    )
    deals.add(
        _attribute(
            "associated_company",
            "Associated company",
            "record-reference",
            target_object="companies",
        )
    )

    for obj in (people, companies, deals):
        workspace.objects[obj.slug] = obj
        workspace.records[obj.slug] = {}

    sales = List(
        id=new_id(), slug="sales", name="Sales", parent_object="people", created_at=created
    )
    sales.add(_attribute("stage", "Stage", "status", choices=_choices(SALES_STAGES)))
    sales.add(_attribute("priority", "Priority", "select", choices=_choices(("Low", "High"))))
    workspace.lists[sales.slug] = sales
    workspace.entries[sales.slug] = {}

    for first, last, email in (
        ("Ada", "Lovelace", "ada@fake-attio.test"),
        ("Grace", "Hopper", "grace@fake-attio.test"),
    ):
        member = Member(
            id=new_id(),
            first_name=first,
            last_name=last,
            email_address=email,
            created_at=workspace.now(),
        )
        workspace.members[member.id] = member
    return workspace
