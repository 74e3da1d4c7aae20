"""The staff console: a server-rendered web application behind the project's keys, roles
and audit log (:mod:`bot.web.app`)."""
