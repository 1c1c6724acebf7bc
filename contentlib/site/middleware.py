"""Requests refused before any view reads them."""
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class NulInAddressMiddleware:
    """Refuses 400 a URL whose path or query string holds a NUL character (%00).

    No page uses one, and PostgreSQL cannot store or compare one in a text value, so every view that
    looked a slug, a reference or a filter up raised a 500. The API answers JSON as its description says.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or any(
                "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            message = _("The address contains a NUL character (%00), which no page of this site uses. Check the "
                        "link, or remove the %00 from it and try again.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"error": message}, status=400)
            return render(request, "site/notice.html", {"heading": _("Bad request"), "message": message}, status=400)
        return self.get_response(request)
