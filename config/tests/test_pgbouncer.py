"""The suite through PgBouncer (`pytest --pgbouncer`): the connections really go through
it, in transaction pooling mode, and what breaks there is switched off."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]


def test_with_the_option_the_session_talks_to_pgbouncer(request):
    if not request.config.getoption("--pgbouncer"):
        pytest.skip("run with --pgbouncer (or FOODIES_PGBOUNCER=1)")
    assert connection.settings_dict["PORT"] == str(request.config._pgbouncer_port)
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port()")
        # The server PostgreSQL listens on, not the port this connection was opened to.
        assert cursor.fetchone()[0] != request.config._pgbouncer_port
