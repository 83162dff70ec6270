"""Every admin action declares the permission it needs (`@admin.action(permissions=...)`).

Django offers an action that declares none to whoever may see the list, so a user who may
only view the journal could re-process it. The check below refuses such an action in any
registered admin, ours or a library's; a library's is re-declared here.
"""
from django.contrib import admin
from django.core.checks import CheckMessage, Error, Tags, register
from django.http import HttpRequest


def undeclared_actions(site: admin.AdminSite) -> list[str]:
    """`app.Model.action` for every action of `site` that declares no permission."""
    return [
        f"{model._meta.label}.{name}"
        for model, model_admin in site._registry.items()
        for func, name, _description in model_admin._get_base_actions()
        if not getattr(func, "allowed_permissions", None)
    ]


@register(Tags.admin)
def admin_actions_check(**kwargs: object) -> list[CheckMessage]:
    """An admin action without `permissions` is open to every user who may view the list."""
    return [
        Error(
            f"The admin action {action} declares no permission: anyone who may view the "
            "list could run it.",
            hint="Use @admin.action(permissions=[...]) (\"view\" for one that writes nothing).",
            id="xvbcrm.E003",
        )
        for action in undeclared_actions(admin.site)
    ]


def declare_library_actions(site: admin.AdminSite) -> None:
    """django-axes's "Clean up expired attempts" deletes rows: it needs the delete right (and
    works outside a login request)."""
    from axes.admin import AccessAttemptAdmin
    from axes.models import AccessAttempt

    if not site.is_registered(AccessAttempt):
        return

    class DeclaredAccessAttemptAdmin(AccessAttemptAdmin):
        @admin.action(description=AccessAttemptAdmin.cleanup_expired_attempts.short_description,
                      permissions=["delete"])
        def cleanup_expired_attempts(self, request: HttpRequest, queryset: object) -> None:
            # django-axes 8.3 reads this, set only on login requests (None: "now"); without it
            # its own action fails with an AttributeError.
            if not hasattr(request, "axes_attempt_time"):
                request.axes_attempt_time = None
            super().cleanup_expired_attempts(request, queryset)

    site.unregister(AccessAttempt)
    site.register(AccessAttempt, DeclaredAccessAttemptAdmin)
