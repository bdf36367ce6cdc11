"""The WSGI app the browser tests serve: the real application plus Django's own static-files handler.

Production serves /static/ elsewhere (see README); a browser test still needs the admin's CSS and
JS. `StaticFilesHandler` is what Django's `StaticLiveServerTestCase` uses: it serves from the
staticfiles finders whatever DEBUG is, so no `collectstatic` step, no new dependency and no change
to the production middleware. Every other path goes to `nuvlyx.wsgi.application` unchanged.
"""

from django.contrib.staticfiles.handlers import StaticFilesHandler

from nuvlyx.wsgi import application as _application

application = StaticFilesHandler(_application)
