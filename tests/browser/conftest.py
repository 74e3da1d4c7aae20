"""Browser tests: the running bot against the fake Bot API (for /console links and the
rounds a console sends) and a real headless Chromium."""

from tests.e2e.conftest import harness, user_factory  # noqa: F401  (the e2e fixtures)
from tests.support.browser import browser  # noqa: F401
from tests.support.console import console  # noqa: F401  (the console on loopback)
from tests.support.smtp import smtp_server  # noqa: F401  (a real SMTP server on loopback)
