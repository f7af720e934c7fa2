"""Helpers of the regulator-console tests."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def otp_login(client, user) -> TOTPDevice:
    """Sign `user` in with a confirmed TOTP device verified in the session, as the OTP admin site requires."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
