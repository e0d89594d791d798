"""Read forms of the fake workspace's schema: objects, lists, attributes, members."""

from __future__ import annotations

from attio_automate.testing.fake.model import JSON, Attribute, Choice, Container, List, Object
from attio_automate.testing.fake.workspace import Workspace


def object_view(workspace: Workspace, obj: Object) -> JSON:
    return {
        "id": {"workspace_id": workspace.id, "object_id": obj.id},
        "api_slug": obj.slug,
        "singular_noun": obj.singular_noun,
        "plural_noun": obj.plural_noun,
        "created_at": obj.created_at,
    }


def list_view(workspace: Workspace, lst: List) -> JSON:
    return {
        "id": {"workspace_id": workspace.id, "list_id": lst.id},
        "api_slug": lst.slug,
        "name": lst.name,
        "parent_object": [lst.parent_object],
        "workspace_access": "full-access",
        "workspace_member_access": [],
        # Lists are made by someone: the workspace's first member, here.
        "created_by_actor": {
            "type": "workspace-member",
            "id": next(iter(workspace.members), None),
        },
        "created_at": lst.created_at,
    }


def attribute_view(workspace: Workspace, container: Container, attribute: Attribute) -> JSON:
    target = workspace.objects.get(attribute.target_object or "")
    return {
        # Attio names the parent "object_id" for list attributes too.
        "id": {
            "workspace_id": workspace.id,
            "object_id": container.id,
            "attribute_id": attribute.id,
        },
        "title": attribute.title,
        "description": attribute.description,
        "api_slug": attribute.slug,
        "type": attribute.type,
        "is_system_attribute": attribute.is_system,
        "is_writable": attribute.is_writable,
        "is_required": attribute.is_required,
        "is_unique": attribute.is_unique,
        "is_multiselect": attribute.is_multiselect,
        "is_default_value_enabled": False,
        "is_archived": attribute.is_archived,
        "default_value": None,
        "relationship": None,
        "created_at": attribute.created_at or container.created_at,
        "config": {
            "currency": {
                "default_currency_code": attribute.currency_code,
                "display_type": "symbol" if attribute.currency_code else None,
            },
            "record_reference": {"allowed_object_ids": [target.id] if target else None},
        },
    }


def choice_view(
    workspace: Workspace, container: Container, attribute: Attribute, choice: Choice
) -> JSON:
    ids = {"workspace_id": workspace.id, "object_id": container.id, "attribute_id": attribute.id}
    if attribute.type == "status":
        return {
            "id": {**ids, "status_id": choice.id},
            "title": choice.title,
            "is_archived": choice.is_archived,
            "celebration_enabled": False,
            "target_time_in_status": None,
        }
    return {
        "id": {**ids, "option_id": choice.id},
        "title": choice.title,
        "is_archived": choice.is_archived,
    }


def members_view(workspace: Workspace) -> list[JSON]:
    return [
        {
            "id": {"workspace_id": workspace.id, "workspace_member_id": member.id},
            "first_name": member.first_name,
            "last_name": member.last_name,
            "avatar_url": None,
            "email_address": member.email_address,
            "created_at": member.created_at or workspace.now(),
            "access_level": member.access_level,
        }
        for member in workspace.members.values()
    ]


def self_view(workspace: Workspace, issued_at: float) -> JSON:
    return {
        "active": True,
        "scope": "record_permission:read-write object_configuration:read "
        "list_entry:read-write list_configuration:read note:read-write "
        "task:read-write user_management:read webhook:read-write",
        "client_id": workspace.client_id,
        "token_type": "Bearer",
        "exp": None,
        "iat": int(issued_at),
        "sub": workspace.id,
        "aud": workspace.client_id,
        "iss": "attio.com",
        "authorized_by_workspace_member_id": next(iter(workspace.members)),
        "workspace_id": workspace.id,
        "workspace_name": workspace.name,
        "workspace_slug": workspace.slug,
        "workspace_logo_url": None,
        # Newer than the vendored description: what kind of token this is.
        "token_level": "workspace",
    }
