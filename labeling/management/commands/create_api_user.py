from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create (or reuse) a user and print its API token alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--superuser", action="store_true", help="Make the user a superuser.")
        parser.add_argument(
            "--can-create-projects", action="store_true",
            help="Grant labeling.add_project (needed with the default PROJECT_CREATORS=staff_and_granted).",
        )

    def handle(self, *args, name, superuser, can_create_projects, **options):
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
        if superuser:
            user.is_staff = user.is_superuser = True
        user.save()
        if can_create_projects:
            user.user_permissions.add(Permission.objects.get(content_type__app_label="labeling", codename="add_project"))
        token, _ = Token.objects.get_or_create(user=user)
        self.stderr.write(f"{'Created' if created else 'Reusing'} user {name!r}; its token:")
        self.stdout.write(token.key)
