"""Existing phone numbers in E.164, where they parse as a valid number (read as Indonesian
without a country code, as accounts.phones does). A value that does not parse is left as
it was: it is shown to staff as typed, and the owner's next profile change must fix it."""

import phonenumbers
from django.db import migrations

# Frozen here: a migration must not follow later changes of accounts.phones.
REGION = "ID"


def _e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phones_to_e164(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    changed = []
    for user in User.objects.exclude(phone="").only("pk", "phone").iterator(chunk_size=2000):
        normal = _e164(user.phone)
        if normal is not None and normal != user.phone:
            user.phone = normal
            changed.append(user)
    User.objects.bulk_update(changed, ["phone"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_email_verified_at"),
    ]

    # Backwards: E.164 is a valid phone as the earlier code saw it; nothing to undo.
    operations = [migrations.RunPython(phones_to_e164, migrations.RunPython.noop)]
